"""Stage 8: masked-token cross-entropy and accuracy at fixed mask ratios on the whole validation split.
(Completion quality — HumanEval-infilling pass@1, TS/JS exact match — is measured through the real engine by
`node dist/cli.js bench`, which pipeline.py runs after this.)

Usage: evaluate.py CHECKPOINT VAL_BIN [OUT_JSON]
"""
import json, sys
import numpy as np
import torch
import torch.nn.functional as F
from export import load_model
from tokenizer import MASK_ID

torch.set_num_threads(2)


@torch.no_grad()
def masked_ce(model, val, ratios=(0.15, 0.5, 0.9), seq_len=256, max_windows=400):
    n_windows = min(max_windows, len(val) // seq_len)
    x0 = torch.from_numpy(val[:n_windows * seq_len].astype(np.int64).reshape(n_windows, seq_len))
    g = np.random.default_rng(0)
    out = {'windows': n_windows, 'seq_len': seq_len}
    for r in ratios:
        ce, hits, n = 0.0, 0, 0
        for i in range(0, n_windows, 16):
            x = x0[i:i + 16]
            masked = torch.from_numpy(g.random(x.shape) < r)
            with torch.autocast('cpu', dtype=torch.bfloat16):
                h, _, _ = model.hidden(torch.where(masked, torch.full_like(x, MASK_ID), x))
                logits = model.logits(h[masked]).float()
            ce += F.cross_entropy(logits, x[masked], reduction='sum').item()
            hits += (logits.argmax(-1) == x[masked]).sum().item()
            n += int(masked.sum())
        out[f'ce@{r}'] = round(ce / n, 3)
        out[f'acc@{r}'] = round(hits / n, 3)
    return out


if __name__ == '__main__':
    model, state = load_model(sys.argv[1])
    val = np.fromfile(sys.argv[2], dtype=np.uint16)
    result = {'trained_tokens': state.get('tokens'), 'steps': state.get('step'), **masked_ce(model, val)}
    print(json.dumps(result))
    if len(sys.argv) > 3:
        json.dump(result, open(sys.argv[3], 'w'), indent=1)
