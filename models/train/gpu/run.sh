#!/usr/bin/env bash
# GPU side, one device-tool command of at most 10 minutes (see README.md):
#   unpack the carried corpus -> train the head-to-head winner (MDLM; OBJECTIVE=bd for block diffusion) on CUDA for TRAIN_MINUTES -> export int8 ONNX on the CPU ->
#   check it (<= 40 MB, runs in onnxruntime) -> parts of 15 MiB, config.json, SHA256SUMS and run.log into $OUT.
# Config by env (defaults: a 30.2M-parameter model whose int8 ONNX is about 38 MB):
#   OBJECTIVE (mdlm | bd) DIM LAYERS HEADS BLOCK LR BATCH_TOKENS TRAIN_MINUTES DEADLINE_S (seconds after start when training must stop)
# DEVICE=cpu is a dry run of the whole script at a tiny size (the CPU test does this); CARRY, GPU_WORK, PY move things.
set -uo pipefail
cd "$(dirname "$0")/../../.."  # repository root
OUT=${OUT:-/tmp/gpu-out}
WORK=${GPU_WORK:-/tmp/gpu-work}  # big files (checkpoint, fp32 ONNX) stay off $OUT
CARRY=${CARRY:-models/train/gpu/carry}
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
MAX_ONNX_BYTES=40000000
OUT_LIMIT_BYTES=$((64 * 1024 * 1024)) OUT_LIMIT_FILES=8 PART_BYTES=${PART_BYTES:-$((15 * 1024 * 1024))}
mkdir -p "$OUT" "$WORK"
say() { echo "[run.sh +${SECONDS}s] $*"; }
fail() { say "FAILED: $*"; exit 1; }
# ship_if_fits FILE: FILE in parts (plus SHA256SUMS.<name>) into $OUT if they fit in what may come back
ship_if_fits() {
  local file=$1 name size used files
  name=$(basename "$file") size=$(stat -c %s "$file")
  used=$(du -sb "$OUT" | cut -f1) files=$(ls "$OUT" | wc -l)
  if [ $((used + size + 1048576)) -gt $OUT_LIMIT_BYTES ] || [ $((files + size / PART_BYTES + 2)) -gt $OUT_LIMIT_FILES ]; then
    say "$name ($size bytes) does not fit in what comes back"
    return 1
  fi
  split -b "$PART_BYTES" -d -a 2 "$file" "$OUT/$name.part-"
  (cd "$(dirname "$file")" && sha256sum "$name") > "$OUT/SHA256SUMS.$name"
  say "$name ($size bytes) is in $name.part-*"
}

main() {
# 1. The machine: torch with CUDA, and what export needs. No internet there: never pip install.
if ! $PY -c 'import torch' 2>/dev/null; then
  fail "torch is not importable with $PY on this machine image; this recipe cannot run here (carry wheels as /work/.library/device/README.md says, or wait for an image with torch)"
fi
DEVICE=$DEVICE $PY - <<'PY' || fail "the machine lacks CUDA or a package that export needs (see above)"
import os, torch, numpy, onnx, regex
print('torch', torch.__version__, 'numpy', numpy.__version__, 'onnx', onnx.__version__)
if os.environ['DEVICE'] != 'cpu':
    assert torch.cuda.is_available(), 'torch sees no CUDA device'
    print('device', torch.cuda.get_device_name(0), 'bf16', torch.cuda.is_bf16_supported())
PY
[ "$DEVICE" = cpu ] || nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

# 2. The corpus, packed here by pack_corpus.sh.
[ -f "$CARRY/corpus.tar.xz" ] || fail "$CARRY/corpus.tar.xz is missing: run pack_corpus.sh here and carry $CARRY"
$PY -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$CARRY/corpus.tar.xz" "$WORK/data" \
  || fail "could not unpack the corpus"
(cd "$WORK/data" && sha256sum -c --quiet "$(cd "$OLDPWD" && cd "$CARRY" && pwd)/corpus.sha256") || fail "corpus checksum mismatch"
say "corpus: $(ls -l "$WORK/data" | tail -n +2 | awk '{printf "%s %s  ", $9, $5}')"

# 3. Train (train.py, OBJECTIVE: MDLM by default, the objective that won the head-to-head) until TRAIN_MINUTES of steps are done or DEADLINE_S is reached.
DEADLINE_S=${DEADLINE_S:-480}
train() {
  (cd models/train && DEVICE=$DEVICE OBJECTIVE=${OBJECTIVE:-mdlm} BLOCK=${BLOCK:-4} DIM=${DIM:-448} LAYERS=${LAYERS:-11} HEADS=${HEADS:-7} \
    LR=${LR:-1e-3} BATCH_TOKENS=${BATCH_TOKENS:-65536} MINUTES=${TRAIN_MINUTES:-7} EVAL_EVERY=${EVAL_EVERY:-500} \
    SAVE_EVERY_S=${SAVE_EVERY_S:-60} DATA="$WORK/data" OUT="$WORK/ckpt" PYTHONUNBUFFERED=1 \
    timeout $((DEADLINE_S - SECONDS)) $PY train.py)
}
train
rc=$?
say "train.py exited with $rc (124: stopped at the deadline; the last save is used)"
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ ! -f "$WORK/ckpt/latest.pt" ] && [ $SECONDS -lt 150 ]; then
  say "an early failure: once more without SDPA (model.py's plain attention, as on the CPU)"
  SDPA=0 train
  say "train.py (SDPA=0) exited with $?"
fi
[ -f "$WORK/ckpt/latest.pt" ] || fail "no checkpoint was saved"

# 4. Export as for the CPU model (export.py loads the checkpoint onto the CPU), then check size and onnxruntime.
(cd models/train && $PY export.py "$WORK/ckpt/latest.pt" "$WORK/data/tokenizer.json" "$WORK/model" \
  --name dllm-code-gpu --resumable "$WORK/resume.pt") || {
  # keep the run: fp16 weights (about 60 MB at 30M parameters) come back, and export.py runs on them here
  $PY -c "import sys, torch; c = torch.load(sys.argv[1], map_location='cpu')
c['model'] = {k: v.half() for k, v in c['model'].items()}; del c['opt']; torch.save(c, sys.argv[2])" \
    "$WORK/ckpt/latest.pt" "$WORK/weights.pt" && ship_if_fits "$WORK/weights.pt"
  fail "export.py failed on this machine; if weights.pt came back, join it here (README) and run export.py on it"
}
bytes=$(stat -c %s "$WORK/model/model.onnx")
say "model.onnx: $bytes bytes (limit $MAX_ONNX_BYTES)"
[ "$bytes" -le "$MAX_ONNX_BYTES" ] || fail "model.onnx is over 40 MB: use a smaller DIM or LAYERS"
$PY - "$WORK/model/model.onnx" "$WORK/ckpt/parity.json" <<'PY' || say "WARNING: the onnxruntime check failed (see above)"
import json, sys
import numpy as np, onnxruntime as ort
case = json.load(open(sys.argv[2]))['cases'][0]  # PyTorch (fp32) on the parity text
sess = ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])
dtypes = {i.name: (np.int64 if 'int64' in i.type else np.float32) for i in sess.get_inputs()}
feed = {k: np.array(v['data'], dtype=dtypes[k]).reshape(v['shape']) for k, v in case['inputs'].items()}
top_ids = sess.run(['top_ids'], feed)[0]
want = np.array(case['outputs']['top_ids']['data']).reshape(case['outputs']['top_ids']['shape'])
print(json.dumps({'int8_top1_agreement_with_torch': round(float((top_ids[..., 0] == want[..., 0]).mean()), 3)}))
PY

# 5. Into $OUT: the model in parts, and the resumable checkpoint only if it fits in what may come back.
bash models/train/gpu/split.sh "$WORK/model" "$OUT" "$PART_BYTES" || fail "split failed"
ship_if_fits "$WORK/resume.pt" || say "to continue this run, rebuild a checkpoint from the ONNX (import_onnx.py, then INIT=)"
say "done: $(ls "$OUT" | tr '\n' ' ')"
}

main 2>&1 | tee "$OUT/run.log"  # run.log counts as one of the files that come back
exit "${PIPESTATUS[0]}"
