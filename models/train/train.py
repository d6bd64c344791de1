"""Stage 4: diffusion pretraining with an infill-aware objective. Resumable; checkpoints to work/checkpoints.

OBJECTIVE=mdlm (default): masked diffusion over the whole row. Each row of a batch is one of
  * plain MDLM: every token masked with probability t ~ U(eps, 1); cross-entropy on masked tokens, weighted 1/t;
  * infill: prefix ++ middle ++ PAD*extra ++ suffix, where only the canvas (middle + padding) can be masked.
    The padding teaches the model where a span ends, so the engine may give it a canvas longer than the answer.
    Some rows have no suffix (completion at the end of a file).
Sequence lengths are mixed per batch; tokens per batch stay about constant.

OBJECTIVE=bd (block diffusion, BD3-LM): the row, in feed order, is cut into blocks of BLOCK tokens; each block is
masked at its own rate t and predicted from its noisy self plus the clean blocks before it (the model sees the noisy
copy and the clean copy side by side, under a block-causal attention bias). Infill rows feed
suffix ++ prefix ++ middle ++ END, each token at its true position (the suffix after a canvas gap, as the engine lays
it out), so the canvas, last, sees both sides. Only one end token, plus the rest of its block, is a target: no rows
of padding, hence no prior for an empty answer.

Environment: MINUTES (training budget, wall clock) or CPU_MINUTES (process CPU time, for runs that share the
machine), OBJECTIVE, BLOCK, DIM/LAYERS/HEADS, LR, BATCH_TOKENS, THREADS, OUT (checkpoint dir), SEED, INIT (a
checkpoint to start from, e.g. one import_onnx.py rebuilt from the shipped model). Continue a finished run (e.g.
from an `export.py --resumable` copy placed at OUT/latest.pt) with NEW_SCHEDULE=1.
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
CPU_MINUTES = float(env('CPU_MINUTES', 0))  # when set, the budget is this process's CPU time instead
OBJECTIVE, BLOCK = env('OBJECTIVE', 'mdlm'), int(env('BLOCK', 4))
END_ID = PAD_ID  # block diffusion: the one token that ends an infill answer
LR = float(env('LR', 2e-3))
BATCH_TOKENS = int(env('BATCH_TOKENS', 8192))
OUT = env('OUT', os.path.join(HERE, 'work', 'checkpoints'))
DATA = env('DATA', os.path.join(HERE, 'work'))
EVAL_EVERY, SAVE_EVERY_S, WARMUP = int(env('EVAL_EVERY', 250)), float(env('SAVE_EVERY_S', 600)), 150
INFILL_SHARE, NO_SUFFIX_SHARE, MAX_EXTRA_PAD, EPS = 0.5, 0.15, 48, 1e-3
# MDLM infill rows: the first PAD after the middle (the end of the answer) is a full target; the padding after it
# counts PAD_WEIGHT each, so the canvas tail does not teach "the answer is empty" (issue 21, item 4).
PAD_WEIGHT = float(env('PAD_WEIGHT', 0.2))
assert OBJECTIVE in ('mdlm', 'bd'), f'OBJECTIVE must be mdlm or bd, not {OBJECTIVE}' 
# (share of the budget, {seq_len: probability}); short sequences early, long ones late.
LENGTH_PHASES = [(0.65, {128: 0.15, 256: 0.85}), (1.0, {256: 0.3, 512: 0.7})]
MAX_LEN = 1024

DEVICE = env('DEVICE', 'cuda' if torch.cuda.is_available() else 'cpu')  # batches are built on the CPU, then moved
DEVICE_TYPE = torch.device(DEVICE).type  # 'cpu' or 'cuda': what autocast needs
if DEVICE_TYPE == 'cpu':
    torch.set_num_threads(int(env('THREADS', 2)))


def to_device(*tensors):
    return [x.to(DEVICE, non_blocking=True) for x in tensors]


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
    """Returns (tokens, maskable, target_weight) for one row of length len(window)."""
    T = len(window)
    if rng.random() >= INFILL_SHARE:
        return window.copy(), np.ones(T, dtype=bool), np.ones(T, dtype=np.float32)
    a, m = middle_span(window, has_newline, rng)
    extra = int(rng.integers(0, MAX_EXTRA_PAD + 1))
    n = min(m + extra, T - 1)
    if rng.random() < NO_SUFFIX_SHARE:
        a = max(1, min(a, T - n))
        m = min(m, T - a)
        tokens = np.concatenate([window[:a], window[a:a + m], np.full(T - a - m, PAD_ID, dtype=window.dtype)])
        maskable = np.zeros(T, dtype=bool)
        maskable[a:] = True
        end = T
    else:
        canvas = np.concatenate([window[a:a + m], np.full(n - m, PAD_ID, dtype=window.dtype)])
        tokens = np.concatenate([window[:a], canvas, window[a + m:]])[:T]
        maskable = np.zeros(T, dtype=bool)
        maskable[a:a + len(canvas)] = True
        end = min(a + len(canvas), T)
    weight = np.ones(T, dtype=np.float32)
    weight[a + m + 1:end] = PAD_WEIGHT  # padding after the end token
    return tokens[:T], maskable, weight


def make_batch(stream, has_newline, seq_len, rows, rng):
    starts = rng.integers(0, len(stream) - seq_len, rows)
    u = rng.random()
    ts = EPS + (1 - EPS) * ((u + np.arange(rows) / rows) % 1.0)  # low-discrepancy t
    tokens, maskable, weight = zip(*(make_row(stream[s:s + seq_len].astype(np.int64), has_newline, t, rng)
                                     for s, t in zip(starts, ts)))
    tokens, maskable, weight = np.stack(tokens), np.stack(maskable), np.stack(weight)
    masked = maskable & (rng.random(tokens.shape) < ts[:, None])
    return (torch.from_numpy(tokens), torch.from_numpy(masked), torch.from_numpy(maskable),
            torch.from_numpy(ts).float(), torch.from_numpy(weight))


def diffusion_loss(model, x0, masked, maskable, t, target_weight=None):
    """MDLM loss: CE on masked positions weighted 1/t (and by target_weight), normalised by the number of maskable
    positions."""
    xt = torch.where(masked, torch.full_like(x0, MASK_ID), x0)
    h, _, _ = model.hidden(xt)
    logits = model.logits(h[masked]).float()
    ce = F.cross_entropy(logits, x0[masked], reduction='none')
    weights = (1.0 / t)[:, None].expand_as(masked)[masked]
    if target_weight is not None:
        weights = weights * target_weight[masked]
    return (ce * weights).sum() / maskable.sum().clamp(min=1), ce.mean()


# ---- block diffusion (OBJECTIVE=bd) ----

def bd_row(window, has_newline, block, rng):
    """Returns (tokens, positions, maskable) in feed order, all of length len(window)."""
    T = len(window)
    if rng.random() >= INFILL_SHARE:
        return window.copy(), np.arange(T), np.ones(T, dtype=bool)
    a, m = middle_span(window, has_newline, rng)
    pad = int(rng.integers(0, block))  # end tokens after END, to the end of its block
    a = max(1, min(a, T - m - 1 - pad))
    m = min(m, T - a - 1 - pad)
    s = T - a - m - 1 - pad  # suffix tokens that fit
    if s < 1:  # an answer cut off with nothing after it would teach ending for no reason
        return window.copy(), np.arange(T), np.ones(T, dtype=bool)
    gap = int(rng.integers(0, MAX_EXTRA_PAD + 1))  # canvas positions after the END block, never fed
    suffix_at = a + m + 1 + pad + gap
    tokens = np.concatenate([window[a + m:a + m + s], window[:a], window[a:a + m],
                             np.full(1 + pad, END_ID, dtype=window.dtype)])
    positions = np.concatenate([np.arange(suffix_at, suffix_at + s), np.arange(a + m + 1 + pad)])
    maskable = np.zeros(T, dtype=bool)
    maskable[s + a:] = True
    return tokens, positions, maskable


def bd_batch(stream, has_newline, seq_len, rows, block, rng):
    """Rows in feed order; each block gets its own mask rate t (stratified over the batch)."""
    starts = rng.integers(0, len(stream) - seq_len, rows)
    tokens, positions, maskable = zip(*(bd_row(stream[s:s + seq_len].astype(np.int64), has_newline, block, rng)
                                        for s in starts))
    tokens, positions, maskable = np.stack(tokens), np.stack(positions), np.stack(maskable)
    n_blocks = -(-seq_len // block)
    u = (rng.random() + np.arange(rows * n_blocks) / (rows * n_blocks)) % 1.0
    t_block = EPS + (1 - EPS) * rng.permutation(u).reshape(rows, n_blocks)
    t = np.repeat(t_block, block, axis=1)[:, :seq_len]
    masked = maskable & (rng.random(tokens.shape) < t)
    return (torch.from_numpy(tokens), torch.from_numpy(positions), torch.from_numpy(masked),
            torch.from_numpy(maskable), torch.from_numpy(t).float())


_bias_cache = {}


def bd_attention_bias(L, block):
    """[2L, 2L] additive bias over (noisy copy ++ clean copy): a noisy block sees itself and the clean blocks before
    it; a clean block sees the clean blocks up to itself. Blocks are counted in feed order."""
    key = (L, block)
    if key not in _bias_cache:
        blk = torch.arange(L) // block
        allow = torch.zeros(2 * L, 2 * L, dtype=torch.bool)
        allow[:L, :L] = blk[:, None] == blk[None, :]
        allow[:L, L:] = blk[None, :] < blk[:, None]
        allow[L:, L:] = blk[None, :] <= blk[:, None]
        _bias_cache[key] = torch.zeros(2 * L, 2 * L).masked_fill(~allow, float('-inf')).to(DEVICE)
    return _bias_cache[key]


def bd_loss(model, x0, positions, masked, maskable, t, block):
    """Block-diffusion loss: per block the MDLM bound given the clean blocks before it; per maskable token."""
    L = x0.shape[1]
    xt = torch.where(masked, torch.full_like(x0, MASK_ID), x0)
    h, _, _ = model.hidden(torch.cat([xt, x0], 1), torch.cat([positions, positions], 1),
                           attn_bias=bd_attention_bias(L, block))
    logits = model.logits(h[:, :L][masked]).float()
    ce = F.cross_entropy(logits, x0[masked], reduction='none')
    return (ce / t[masked]).sum() / maskable.sum().clamp(min=1), ce.mean()


@torch.no_grad()
def nll_bound(model, val, objective, block=BLOCK, seq_len=256, rows=192, passes=2, seed=99):
    """Upper bound on NLL (nats per token) of plain held-out windows, as the objective defines it: MDLM's
    E_t[(1/t) sum of masked CE] over the whole window, or block diffusion's sum of that over blocks, each given the
    clean blocks before it. Both bound the same quantity, so they compare directly. Stratified t, fixed windows."""
    was_training = model.training
    model.eval()
    g = np.random.default_rng(seed)
    starts = g.integers(0, len(val) - seq_len, rows)
    x0_all = torch.from_numpy(np.stack([val[s:s + seq_len].astype(np.int64) for s in starts]))
    pos_all = torch.arange(seq_len).unsqueeze(0).expand(rows, -1)
    x0_all, pos_all = to_device(x0_all, pos_all)
    total, tokens = 0.0, 0
    for p in range(passes):
        per_row = seq_len if objective == 'mdlm' else block  # one t per row, or one per block
        n = rows * (seq_len // per_row)
        t = EPS + (1 - EPS) * g.permutation((g.random() + np.arange(n) / n) % 1.0).reshape(rows, -1)
        t = torch.from_numpy(np.repeat(t, per_row, axis=1)).float()
        masked_all = torch.from_numpy(g.random((rows, seq_len))) < t
        t, masked_all = to_device(t, masked_all)
        for i in range(0, rows, 16):
            x0, pos, masked, tt = x0_all[i:i + 16], pos_all[i:i + 16], masked_all[i:i + 16], t[i:i + 16]
            xt = torch.where(masked, torch.full_like(x0, MASK_ID), x0)
            with torch.autocast(DEVICE_TYPE, dtype=torch.bfloat16):
                if objective == 'mdlm':
                    h, _, _ = model.hidden(xt, pos)
                else:
                    h, _, _ = model.hidden(torch.cat([xt, x0], 1), torch.cat([pos, pos], 1),
                                           attn_bias=bd_attention_bias(seq_len, block))
                    h = h[:, :seq_len]
                logits = model.logits(h[masked]).float()
            ce = F.cross_entropy(logits, x0[masked], reduction='none')
            total += (ce / tt[masked]).sum().item()
            tokens += x0.numel()
    if was_training:
        model.train()
    return round(total / tokens, 4)


@torch.no_grad()
def evaluate(model, val, seq_len=256, rows=64, ratios=(0.15, 0.5, 0.9)):
    """Masked-token cross-entropy (nats) and top-1 accuracy at fixed mask ratios on fixed validation windows."""
    model.eval()
    g = np.random.default_rng(1234)
    starts = g.integers(0, len(val) - seq_len, rows)
    x0 = torch.from_numpy(np.stack([val[s:s + seq_len].astype(np.int64) for s in starts]))
    out = {}
    for r in ratios:
        x0, masked = to_device(x0, torch.from_numpy(g.random(x0.shape) < r))
        xt = torch.where(masked, torch.full_like(x0, MASK_ID), x0)
        ce_sum, hits, n = 0.0, 0, 0
        for i in range(0, rows, 16):
            with torch.autocast(DEVICE_TYPE, dtype=torch.bfloat16):
                h, _, _ = model.hidden(xt[i:i + 16])
                logits = model.logits(h[masked[i:i + 16]]).float()
            tgt = x0[i:i + 16][masked[i:i + 16]]
            ce_sum += F.cross_entropy(logits, tgt, reduction='sum').item()
            hits += (logits.argmax(-1) == tgt).sum().item()
            n += tgt.numel()
        out[f'ce@{r}'] = round(ce_sum / n, 4)
        out[f'acc@{r}'] = round(hits / n, 4)
    out['nll_bound'] = nll_bound(model, val, OBJECTIVE)
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
    model = DiffusionLM(vocab, DIM, LAYERS, HEADS, MAX_LEN).to(DEVICE)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=LR, betas=(0.9, 0.98))
    state = {'step': 0, 'tokens': 0, 'train_seconds': 0.0, 'seed': int(env('SEED', 0))}
    ckpt_path = os.path.join(OUT, 'latest.pt')
    if not os.path.exists(ckpt_path) and env('INIT'):
        model.load_state_dict(torch.load(env('INIT'), map_location='cpu')['model'])
        state['init'] = env('INIT')
        print(json.dumps({'initialised_from': env('INIT')}), flush=True)
    if os.path.exists(ckpt_path):
        ckpt = torch.load(ckpt_path, map_location='cpu')
        model.load_state_dict(ckpt['model'])
        opt.load_state_dict(ckpt['opt'])
        state = ckpt['state']
        if env('NEW_SCHEDULE') == '1':  # continue training with a fresh warm-up + cosine over MINUTES
            state = {**state, 'train_seconds': 0.0, 'cpu_seconds': 0.0, 'step_offset': state['step']}
        print(json.dumps({'resumed': state}), flush=True)
    rng = np.random.default_rng(state['seed'] + state['step'])
    print(json.dumps({'params_M': round(count_params(model) / 1e6, 2), 'dim': DIM, 'layers': LAYERS, 'heads': HEADS,
                      'vocab': vocab, 'train_tokens_M': round(len(train) / 1e6, 1), 'minutes': MINUTES,
                      'cpu_minutes': CPU_MINUTES, 'objective': OBJECTIVE, 'block': BLOCK, 'device': DEVICE}), flush=True)
    state.setdefault('objective', OBJECTIVE)
    state.setdefault('block', BLOCK)
    if (state['objective'], state['block']) != (OBJECTIVE, BLOCK):
        raise SystemExit(f"{ckpt_path} was trained with OBJECTIVE={state['objective']} BLOCK={state['block']}")

    def save():
        tmp = ckpt_path + '.tmp'
        torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'state': state, 'config': model.config}, tmp)
        os.replace(tmp, ckpt_path)

    budget = (CPU_MINUTES or MINUTES) * 60
    spent = lambda: state.get('cpu_seconds', 0.0) if CPU_MINUTES else state['train_seconds']
    last_save, ema = time.time(), None
    stop_file = os.path.join(OUT, 'STOP')  # touch it to end the run early, saved
    while spent() < budget and not os.path.exists(stop_file):
        t0, c0 = time.time(), time.process_time()
        progress = spent() / budget
        phase = next(p for end, p in LENGTH_PHASES if progress <= end)
        seq_len = int(rng.choice(list(phase), p=list(phase.values())))
        rows = max(1, BATCH_TOKENS // seq_len)
        if OBJECTIVE == 'bd':
            x0, positions, masked, maskable, t = to_device(*bd_batch(train, has_newline, seq_len, rows, BLOCK, rng))
        else:
            x0, masked, maskable, t, target_weight = to_device(*make_batch(train, has_newline, seq_len, rows, rng))
        lr = lr_at(progress) * min(1.0, (state['step'] - state.get('step_offset', 0) + 1) / WARMUP)
        for group in opt.param_groups:
            group['lr'] = lr
        with torch.autocast(DEVICE_TYPE, dtype=torch.bfloat16):
            if OBJECTIVE == 'bd':
                loss, ce = bd_loss(model, x0, positions, masked, maskable, t, BLOCK)
            else:
                loss, ce = diffusion_loss(model, x0, masked, maskable, t, target_weight)
        opt.zero_grad(set_to_none=True)
        loss.float().backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ce_value = ce.item()  # waits for the device: on CUDA the step's time is only known after this
        state['step'] += 1
        state['tokens'] += x0.numel()
        state['train_seconds'] += time.time() - t0
        state['cpu_seconds'] = state.get('cpu_seconds', 0.0) + time.process_time() - c0
        ema = ce_value if ema is None else 0.98 * ema + 0.02 * ce_value
        if state['step'] % 50 == 0:
            row = {'step': state['step'], 'min': round(state['train_seconds'] / 60, 1),
                   'cpu_min': round(state['cpu_seconds'] / 60, 1), 'loss': round(loss.item(), 3),
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
