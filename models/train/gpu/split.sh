#!/usr/bin/env bash
# GPU side: cut MODEL_DIR/model.onnx into parts of at most PART_BYTES (15 MiB) in DEST, with config.json and the
# sha256 of model.onnx and tokenizer.json that join.sh checks here.
# Usage: split.sh MODEL_DIR DEST [PART_BYTES]
set -euo pipefail
MODEL=$1 DEST=$2 PART_BYTES=${3:-$((15 * 1024 * 1024))}
mkdir -p "$DEST"
split -b "$PART_BYTES" -d -a 2 "$MODEL/model.onnx" "$DEST/model.onnx.part-"
cp "$MODEL/config.json" "$DEST/config.json"
(cd "$MODEL" && sha256sum model.onnx tokenizer.json) > "$DEST/SHA256SUMS"
ls -l "$DEST"/model.onnx.part-*
