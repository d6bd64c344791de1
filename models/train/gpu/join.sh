#!/usr/bin/env bash
# Here, after a GPU run: reassemble the parts into a model folder (model.onnx, config.json, tokenizer.json) and check
# the sha256 written on the GPU side.
# Usage: models/train/gpu/join.sh PARTS_DIR MODEL_DIR [TOKENIZER_JSON]   (default: models/train/work/tokenizer.json,
#        the one pack_corpus.sh packed)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
PARTS=$1 MODEL=$2 TOKENIZER=${3:-$ROOT/models/train/work/tokenizer.json}
ls "$PARTS"/model.onnx.part-* > /dev/null  # fails loudly when there are none
mkdir -p "$MODEL"
cat "$PARTS"/model.onnx.part-* > "$MODEL/model.onnx"  # part-00, part-01, ... sort in order
cp "$PARTS/config.json" "$MODEL/config.json"
cp "$TOKENIZER" "$MODEL/tokenizer.json"
(cd "$MODEL" && sha256sum -c "$(cd "$PARTS" && pwd)/SHA256SUMS")
echo "join: $MODEL/model.onnx is $(stat -c %s "$MODEL/model.onnx") bytes"
