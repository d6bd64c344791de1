#!/usr/bin/env bash
# Here, before a GPU run: compress train.bin, val.bin and tokenizer.json into the folder that the run carries.
# Usage: models/train/gpu/pack_corpus.sh [WORK_DIR] [CARRY_DIR]   (defaults: models/train/work, models/train/gpu/carry)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
WORK=${1:-$ROOT/models/train/work}
CARRY=${2:-$ROOT/models/train/gpu/carry}
LIMIT=$((40 * 1024 * 1024))
for f in train.bin val.bin tokenizer.json; do
  [ -f "$WORK/$f" ] || { echo "pack_corpus: $WORK/$f is missing" >&2; exit 1; }
done
mkdir -p "$CARRY"
# xz -9 through Python's tarfile: the GPU side unpacks it with the same standard library, no binary needed
nice -n 19 python3 - "$WORK" "$CARRY/corpus.tar.xz.tmp" <<'PY'
import sys, tarfile
work, dst = sys.argv[1], sys.argv[2]
with tarfile.open(dst, 'w:xz', preset=9) as tar:
    for name in ('train.bin', 'val.bin', 'tokenizer.json'):
        tar.add(f'{work}/{name}', arcname=name)
PY
mv "$CARRY/corpus.tar.xz.tmp" "$CARRY/corpus.tar.xz"
(cd "$WORK" && sha256sum train.bin val.bin tokenizer.json) > "$CARRY/corpus.sha256"
size=$(stat -c %s "$CARRY/corpus.tar.xz")
raw=$(cat "$WORK/train.bin" "$WORK/val.bin" "$WORK/tokenizer.json" | wc -c)
echo "pack_corpus: $CARRY/corpus.tar.xz is $size bytes ($((size / 1048576)) MiB) from $raw bytes; limit $LIMIT"
if [ "$size" -gt "$LIMIT" ]; then
  echo "pack_corpus: over 40 MiB; shorten train.bin (it is a flat uint16 token stream: head -c) and pack again" >&2
  exit 1
fi
