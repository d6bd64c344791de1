"""Stage 4: masked-diffusion pretraining with an infill-aware objective. Resumable; checkpoints to work/checkpoints.

Each row of a batch is one of
  * plain MDLM: every token masked with probability t ~ U(eps, 1); cross-entropy on masked tokens, weighted 1/t;
  * infill: prefix ++ middle ++ PAD*extra ++ suffix, where only the canvas (middle + padding) can be masked.
    The padding teaches the model where a span ends, so the engine may give it a canvas longer than the answer.
    Some rows have no suffix (completion at the end of a file).
Sequence lengths are mixed per batch; tokens per batch stay about constant.

Environment: MINUTES (training budget), DIM/LAYERS/HEADS, LR, BATCH_TOKENS, OUT (checkpoint dir), SEED.
Continue a finished run (e.g. from an `export.py --resumable` copy placed at OUT/latest.pt) with NEW_SCHEDULE=1.
"""
import json, math, os, sys, time
import numpy as np
import torch
import torch.nn.functional as F
from model import DiffusionLM, count_params
from tokenizer import MASK_ID, PAD_ID

HERE = os.path.dirname(os.path.abspath(__file__))
env = os.environ.get
DIM, LAYERS, HEADS = int(env('DIM', 256)), int(env('LAYERS', 6)), int(env('HEADS', 4))
MINUTES = float(env('MINUTES', 120))
LR = float(env('LR', 2e-3))
BATCH_TOKENS = int(env('BATCH_TOKENS', 8192))
OUT = env('OUT', os.path.join(HERE, 'work', 'checkpoints'))
DATA = env('DATA', os.path.join(HERE, 'work'))
EVAL_EVERY, SAVE_EVERY_S, WARMUP = int(env('EVAL_EVERY', 250)), float(env('SAVE_EVERY_S', 600)), 150
INFILL_SHARE, NO_SUFFIX_SHARE, MAX_EXTRA_PAD, EPS = 0.5, 0.15, 48, 1e-3
# (share of the budget, {seq_len: probability}); short sequences early, long ones late.
LENGTH_PHASES = [(0.65, {128: 0.15, 256: 0.85}), (1.0, {256: 0.3, 512: 0.7})]
MAX_LEN = 1024

torch.set_num_threads(int(env('THREADS', 2)))


def newline_token_flags(tokenizer_json):
    vocab = json.load(open(tokenizer_json, encoding='utf-8'))['model']['vocab']
    flags = np.zeros(max(vocab.values()) + 1, dtype=bool)
    for tok, i in vocab.items():
        flags[i] = 'Ċ' in tok  # ByteLevel's character for '\n'
    return flags


def middle_span(window, has_newline, rng):
    """Pick [a, a+m) inside the window: rest of a line, whole lines, or a random run of tokens."""
    T = len(window)
    a = int(rng.integers(1, T - 2))
    kind = rng.random()
    if kind < 0.7:
        # snap to line boundaries: from a to the end of its line (kind < 0.4) or through 1-6 lines
        lines = 1 if kind < 0.4 else int(rng.integers(1, 7))
        if kind >= 0.4:  # start the span at the beginning of a line
            back = np.nonzero(has_newline[window[:a]])[0]
            a = int(back[-1]) + 1 if len(back) else a
            a = min(a, T - 2)
        nl = np.nonzero(has_newline[window[a:]])[0]
        end = a + (int(nl[min(lines, len(nl)) - 1]) if len(nl) else T - a)  # stop before the newline token
        m = max(1, end - a)
    else:
        m = int(rng.integers(1, 65))
    return a, max(1, min(m, 96, T - a - 1))


def make_row(window, has_newline, t, rng):
    """Returns (tokens, maskable) for one row of length len(window)."""
    T = len(window)
    if rng.random() >= INFILL_SHARE:
        return window.copy(), np.ones(T, dtype=bool)
    a, m = middle_span(window, has_newline, rng)
    extra = int(rng.integers(0, MAX_EXTRA_PAD + 1))
    n = min(m + extra, T - 1)
    if rng.random() < NO_SUFFIX_SHARE:
        a = max(1, min(a, T - n))
        m = min(m, T - a)
        tokens = np.concatenate([window[:a], window[a:a + m], np.full(T - a - m, PAD_ID, dtype=window.dtype)])
        maskable = np.zeros(T, dtype=bool)
        maskable[a:] = True
        return tokens[:T], maskable
    canvas = np.concatenate([window[a:a + m], np.full(n - m, PAD_ID, dtype=window.dtype)])
    tokens = np.concatenate([window[:a], canvas, window[a + m:]])[:T]
    maskable = np.zeros(T, dtype=bool)
    maskable[a:a + len(canvas)] = True
    return tokens, maskable


def make_batch(stream, has_newline, seq_len, rows, rng):
    starts = rng.integers(0, len(stream) - seq_len, rows)
    u = rng.random()
    ts = EPS + (1 - EPS) * ((u + np.arange(rows) / rows) % 1.0)  # low-discrepancy t
    tokens, maskable = zip(*(make_row(stream[s:s + seq_len].astype(np.int64), has_newline, t, rng)
                             for s, t in zip(starts, ts)))
    tokens, maskable = np.stack(tokens), np.stack(maskable)
    masked = maskable & (rng.random(tokens.shape) < ts[:, None])
    return torch.from_numpy(tokens), torch.from_numpy(masked), torch.from_numpy(maskable), torch.from_numpy(ts).float()


def diffusion_loss(model, x0, masked, maskable, t):
    """MDLM loss: CE on masked positions weighted 1/t, normalised by the number of maskable positions."""
    xt = torch.where(masked, torch.full_like(x0, MASK_ID), x0)
    h, _, _ = model.hidden(xt)
    logits = model.logits(h[masked]).float()
    ce = F.cross_entropy(logits, x0[masked], reduction='none')
    weights = (1.0 / t)[:, None].expand_as(masked)[masked]
    return (ce * weights).sum() / maskable.sum().clamp(min=1), ce.mean()


@torch.no_grad()
def evaluate(model, val, seq_len=256, rows=64, ratios=(0.15, 0.5, 0.9)):
    """Masked-token cross-entropy (nats) and top-1 accuracy at fixed mask ratios on fixed validation windows."""
    model.eval()
    g = np.random.default_rng(1234)
    starts = g.integers(0, len(val) - seq_len, rows)
    x0 = torch.from_numpy(np.stack([val[s:s + seq_len].astype(np.int64) for s in starts]))
    out = {}
    for r in ratios:
        masked = torch.from_numpy(g.random(x0.shape) < r)
        xt = torch.where(masked, torch.full_like(x0, MASK_ID), x0)
        ce_sum, hits, n = 0.0, 0, 0
        for i in range(0, rows, 16):
            with torch.autocast('cpu', dtype=torch.bfloat16):
                h, _, _ = model.hidden(xt[i:i + 16])
                logits = model.logits(h[masked[i:i + 16]]).float()
            tgt = x0[i:i + 16][masked[i:i + 16]]
            ce_sum += F.cross_entropy(logits, tgt, reduction='sum').item()
            hits += (logits.argmax(-1) == tgt).sum().item()
            n += tgt.numel()
        out[f'ce@{r}'] = round(ce_sum / n, 4)
        out[f'acc@{r}'] = round(hits / n, 4)
    model.train()
    return out


def lr_at(progress):
    return LR * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def main():
    os.makedirs(OUT, exist_ok=True)
    train = np.memmap(os.path.join(DATA, 'train.bin'), dtype=np.uint16, mode='r')
    val = np.memmap(os.path.join(DATA, 'val.bin'), dtype=np.uint16, mode='r')
    has_newline = newline_token_flags(os.path.join(DATA, 'tokenizer.json'))
    vocab = len(has_newline)
    model = DiffusionLM(vocab, DIM, LAYERS, HEADS, MAX_LEN)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=LR, betas=(0.9, 0.98))
    state = {'step': 0, 'tokens': 0, 'train_seconds': 0.0, 'seed': int(env('SEED', 0))}
    ckpt_path = os.path.join(OUT, 'latest.pt')
    if os.path.exists(ckpt_path):
        ckpt = torch.load(ckpt_path)
        model.load_state_dict(ckpt['model'])
        opt.load_state_dict(ckpt['opt'])
        state = ckpt['state']
        if env('NEW_SCHEDULE') == '1':  # continue training with a fresh warm-up + cosine over MINUTES
            state = {**state, 'train_seconds': 0.0, 'step_offset': state['step']}
        print(json.dumps({'resumed': state}), flush=True)
    rng = np.random.default_rng(state['seed'] + state['step'])
    print(json.dumps({'params_M': round(count_params(model) / 1e6, 2), 'dim': DIM, 'layers': LAYERS, 'heads': HEADS,
                      'vocab': vocab, 'train_tokens_M': round(len(train) / 1e6, 1), 'minutes': MINUTES}), flush=True)

    def save():
        tmp = ckpt_path + '.tmp'
        torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'state': state, 'config': model.config}, tmp)
        os.replace(tmp, ckpt_path)

    budget = MINUTES * 60
    last_save, ema = time.time(), None
    while state['train_seconds'] < budget:
        t0 = time.time()
        progress = state['train_seconds'] / budget
        phase = next(p for end, p in LENGTH_PHASES if progress <= end)
        seq_len = int(rng.choice(list(phase), p=list(phase.values())))
        x0, masked, maskable, t = make_batch(train, has_newline, seq_len, max(1, BATCH_TOKENS // seq_len), rng)
        lr = lr_at(progress) * min(1.0, (state['step'] - state.get('step_offset', 0) + 1) / WARMUP)
        for group in opt.param_groups:
            group['lr'] = lr
        with torch.autocast('cpu', dtype=torch.bfloat16):
            loss, ce = diffusion_loss(model, x0, masked, maskable, t)
        opt.zero_grad(set_to_none=True)
        loss.float().backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state['step'] += 1
        state['tokens'] += x0.numel()
        state['train_seconds'] += time.time() - t0
        ema = ce.item() if ema is None else 0.98 * ema + 0.02 * ce.item()
        if state['step'] % 50 == 0:
            row = {'step': state['step'], 'min': round(state['train_seconds'] / 60, 1),
                   'Mtok': round(state['tokens'] / 1e6, 2), 'ce_ema': round(ema, 3), 'lr': round(lr, 5),
                   'tok_s': round(x0.numel() / (time.time() - t0)), 'load': round(os.getloadavg()[0], 2)}
            if state['step'] % EVAL_EVERY == 0:
                row.update(evaluate(model, val))
            print(json.dumps(row), flush=True)
        if time.time() - last_save > SAVE_EVERY_S:
            save()
            last_save = time.time()
    save()
    print(json.dumps({'final': True, **state, **evaluate(model, val)}), flush=True)


if __name__ == '__main__':
    main()
