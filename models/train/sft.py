"""Redundancy-aware SFT: teach the pretrained model to decode in fewer steps.

1. tasks:        infill tasks cut from TRAINING files (never validation, never reserved sources), each with the
                 canvas length the engine will decode it at (32, 48 or 64).
2. trajectories: the real engine decodes them with `r2` and `fast-dllm` and records, per step, which canvas
                 positions were committed, with what token and confidence, and the prediction at every block
                 position (`node dist/cli.js infill --trace`).
3. fine-tune:    every recorded intermediate state (prefix ++ partially decoded canvas ++ suffix) becomes a
                 training row. Loss = CE on its still-masked positions, weighted up where the step was
                 *redundant*: the model already predicted the reference token but below the commit threshold,
                 so the rules waited a step for nothing (see trajectory_rows). Pushing those confidences over τ
                 lets the same fixed thresholds commit more per step. Every batch also replays pretraining rows.

The shipped model: two rounds (model card).
  round 1, from the pretrained checkpoint:
    cursor-style cuts   REFERENCE=self: decodes of an earlier SFT model; its own stable predictions become targets
                        where it waited (lossless for its answers), the truth elsewhere.
    `lines` cuts        TRUTH_TRAJECTORIES: whole lines as HumanEval cuts them, decoded by a model that is bad at
                        them, so the truth is the only reference.
  round 2, from the round-1 model (import_onnx.py rebuilds its checkpoint from model.onnx): both kinds of cuts,
                        decoded by the round-1 model itself, REFERENCE=self, early ends distilled too (EARLY_ENDS=self).

Usage:
  sft.py tasks OUT_TASKS_JSONL [N] [SEED]                        (env LANGUAGES=python,... to pick files, KINDS)
  sft.py trajectories MODEL_DIR TASKS_JSONL OUT_DIR              (needs `npm run build`; env END_RULE)
  sft.py train CHECKPOINT TRAJECTORIES_JSONL[,MORE] OUT_DIR      (env TASKS, REFERENCE, TRUTH_TRAJECTORIES, MINUTES, LR, PAD_WEIGHT,
                                                                 REDUNDANT_WEIGHT)
"""
import json, math, os, random, subprocess, sys, time
import numpy as np
import torch
import torch.nn.functional as F
import train as pre
from export import load_model
from make_infill_set import make_task
from tokenizer import Encoder, MASK_ID, PAD_ID

HERE = os.path.dirname(os.path.abspath(__file__))
env = os.environ.get
MINUTES = float(env('MINUTES', 20))
LR = float(env('LR', 3e-4))
REDUNDANT_WEIGHT = float(env('REDUNDANT_WEIGHT', 2.0))
PAD_WEIGHT = float(env('PAD_WEIGHT', pre.PAD_WEIGHT))  # the padding behind an answer's end (see trajectory_rows)
REFERENCE = env('REFERENCE', 'truth')  # truth | self (see trajectory_rows)
EARLY_ENDS = env('EARLY_ENDS', 'self')  # with REFERENCE=self: self (distil early ends) | truth (never) | empty (only
# where the answer is not empty: an answer that is nothing at all keeps the truth)
# Trajectory files that always use the truth as reference: decodes of a model that is not yet good at those tasks.
TRUTH_TRAJECTORIES = {os.path.abspath(p) for p in env('TRUTH_TRAJECTORIES', '').split(',') if p}
LANGUAGES = [l for l in env('LANGUAGES', '').split(',') if l]  # `tasks`: only files in these languages
TASKS = env('TASKS', os.path.join(HERE, 'work', 'sft', 'tasks.jsonl'))
END_RULE = env('END_RULE', 'reference')  # `trajectories`: reference (published samplers) | behind-answer (the editor's)
TAU = 0.9
ROWS_PER_BATCH = 16
MAX_LEN = 512

torch.set_num_threads(int(env('THREADS', 2)))


CANVAS_BY_KIND = {'rest-of-line': (32, 48), 'line': (32, 48), 'block': (48, 64), 'lines': (32, 64)}
KINDS = env('KINDS', 'rest-of-line,line,block').split(',')  # `tasks`: which cuts, in rotation


def canvas_for(kind, middle, turn):
    """Canvas length of a task: the kind's two lengths in alternation; `lines` as the benchmarks give it (one line
    32, several 64)."""
    small, large = CANVAS_BY_KIND[kind]
    if kind == 'lines':
        return large if middle.count('\n') > 1 else small
    return large if turn % 2 else small


def build_tasks(out_path, n_tasks=1500, seed=11):
    rng = random.Random(seed)
    files = [json.loads(l) for l in open(os.path.join(HERE, 'work', 'corpus', 'train.jsonl'))]
    rng.shuffle(files)
    tasks = []
    for f in files:
        if len(tasks) >= n_tasks:
            break
        if f['path'].endswith('.d.ts') or (LANGUAGES and f['lang'] not in LANGUAGES):
            continue
        kind = KINDS[len(tasks) % len(KINDS)]
        t = make_task(f['text'], rng, kind)
        if t:
            canvas = canvas_for(kind, t['middle'], len(tasks) // len(KINDS))
            tasks.append({'task_id': f'sft{seed}/{len(tasks)}', 'language': f['lang'], 'kind': kind, 'canvas': canvas, **t})
    with open(out_path, 'w') as out:
        for t in tasks:
            out.write(json.dumps(t) + '\n')
    print(json.dumps({'tasks': len(tasks)}))


def run_trajectories(model_dir, tasks_path, out_dir):
    """Decodes every task with the real engine under r2 and fast-dllm at the task's canvas length, with --trace."""
    root = os.path.abspath(os.path.join(HERE, '..', '..'))
    tasks = [json.loads(l) for l in open(tasks_path)]
    out_dir = os.path.abspath(out_dir)  # the CLI runs from the repository root
    os.makedirs(out_dir, exist_ok=True)
    for canvas in sorted({t['canvas'] for t in tasks}):
        part = os.path.join(out_dir, f'tasks-{canvas}.jsonl')
        with open(part, 'w') as f:
            f.writelines(json.dumps(t) + '\n' for t in tasks if t['canvas'] == canvas)
        for policy in ('r2', 'fast-dllm'):
            subprocess.run(['node', 'dist/cli.js', 'infill', '--tasks', part, '--policy', policy, '--model', os.path.abspath(model_dir),
                            '--max-new-tokens', str(canvas), '--end-rule', END_RULE, '--trace', os.path.join(out_dir, f'traj-{policy}-{canvas}.jsonl'),
                            '--out', os.path.join(out_dir, f'out-{policy}-{canvas}.jsonl')], check=True, cwd=root)


def trajectory_rows(traj, middle_ids, reference_kind):
    """All intermediate states of one recorded decode, as (tokens, targets, masked, redundant, tail) arrays.

    A masked position is redundant at a step when the model already predicted its reference token there, below τ,
    and no rule committed it: the decode waited a step for nothing. The reference is the true token (REFERENCE=truth)
    or the token this decode finally committed there (REFERENCE=self: the model's own stable prediction, so
    sharpening it cannot change the answer). With EARLY_ENDS=truth, a PAD where the truth still has code (the decode
    ended the answer early, the model's commonest mistake) is not distilled: it keeps the truth as reference; with
    EARLY_ENDS=self it is; with EARLY_ENDS=empty only the decodes that answered nothing at all keep the truth. Redundant positions are trained towards the reference, the others towards the truth.
    `tail` marks the padding behind the answer's end token (a PAD target after the first one of the truth): the loss
    weighs it PAD_WEIGHT, as pretraining does, so that the round does not teach "the answer is empty" again.
    """
    prefix, suffix, n = traj['prefix_ids'], traj['suffix_ids'], traj['canvas_len']
    truth = (middle_ids + [PAD_ID] * n)[:n]
    final = [MASK_ID] * n
    for step in traj['steps']:
        for i, tok, *_ in step['commits']:
            final[i] = tok
    reference = truth
    if reference_kind == 'self':  # the decode's own tokens, but for the early ends EARLY_ENDS keeps the truth for
        keep_truth = EARLY_ENDS == 'truth' or (EARLY_ENDS == 'empty' and final[0] == PAD_ID)
        reference = [t if keep_truth and f == PAD_ID and t != PAD_ID else f for f, t in zip(final, truth)]
    canvas = [MASK_ID] * n
    rows = []
    for step in traj['steps']:
        masked = [i for i in range(n) if canvas[i] == MASK_ID]
        if not masked:
            break
        committed_now = {c[0] for c in step['commits']}
        waiting = {i for i, tok, p1 in step.get('predictions', [])
                   if i not in committed_now and canvas[i] == MASK_ID and tok == reference[i] and p1 < TAU}
        tokens = np.array(prefix + canvas + suffix, dtype=np.int64)
        targets = np.array(prefix + [reference[i] if i in waiting else truth[i] for i in range(n)] + suffix, dtype=np.int64)
        m = np.zeros(len(tokens), dtype=bool)
        r = np.zeros(len(tokens), dtype=bool)
        tail = np.zeros(len(tokens), dtype=bool)
        for i in masked:
            m[len(prefix) + i] = True
            r[len(prefix) + i] = i in waiting
            tail[len(prefix) + i] = i > len(middle_ids) and targets[len(prefix) + i] == PAD_ID
        rows.append((tokens[:MAX_LEN], targets[:MAX_LEN], m[:MAX_LEN], r[:MAX_LEN], tail[:MAX_LEN]))
        for i, tok, *_ in step['commits']:
            canvas[i] = tok
    return rows


def reference_for(traj_path):
    """'truth' for the files in TRUTH_TRAJECTORIES, REFERENCE for the others."""
    return 'truth' if os.path.abspath(traj_path) in TRUTH_TRAJECTORIES else REFERENCE


def load_rows(traj_paths, tasks_path, tokenizer_json):
    enc = Encoder(tokenizer_json)
    middles = {}
    for line in open(tasks_path):
        t = json.loads(line)
        middles[t['task_id']] = enc.encode(t['middle'])
    rows = []
    for path in traj_paths:
        reference_kind = reference_for(path)
        for line in open(path):
            traj = json.loads(line)
            if traj['task_id'] in middles:
                rows.extend(trajectory_rows(traj, middles[traj['task_id']], reference_kind))
    return rows


def pad_batch(rows):
    T = max(len(r[0]) for r in rows)
    out = [np.full((len(rows), T), PAD_ID, dtype=np.int64) for _ in range(2)] + [np.zeros((len(rows), T), dtype=bool) for _ in range(3)]
    for b, row in enumerate(rows):
        for k in range(5):
            out[k][b, :len(row[k])] = row[k]
    return [torch.from_numpy(a) for a in out]


def sft_loss(model, tokens, targets, masked, redundant, tail):
    h, _, _ = model.hidden(tokens)
    logits = model.logits(h[masked]).float()
    ce = F.cross_entropy(logits, targets[masked], reduction='none')
    w = 1.0 + (REDUNDANT_WEIGHT - 1.0) * redundant[masked].float()
    w = w * torch.where(tail[masked], torch.tensor(PAD_WEIGHT), torch.tensor(1.0))
    return (ce * w).sum() / w.sum()


def finetune(ckpt_path, traj_paths, out_dir):
    model, state = load_model(ckpt_path)
    model.train()
    work = os.path.join(HERE, 'work')
    rows = load_rows(traj_paths, TASKS, os.path.join(work, 'tokenizer.json'))
    train_stream = np.memmap(os.path.join(work, 'train.bin'), dtype=np.uint16, mode='r')
    has_newline = pre.newline_token_flags(os.path.join(work, 'tokenizer.json'))
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.98), weight_decay=0.0)
    rng, np_rng = random.Random(0), np.random.default_rng(0)
    redundant_share = float(np.mean([r[3][r[2]].mean() for r in rows if r[2].any()]))
    print(json.dumps({'sft_rows': len(rows), 'redundant_share_of_masked': round(redundant_share, 3), 'minutes': MINUTES,
                      'reference': REFERENCE, 'early_ends': EARLY_ENDS, 'lr': LR}), flush=True)
    budget, spent, step = MINUTES * 60, 0.0, 0
    while spent < budget:
        t0 = time.time()
        lr = LR * 0.5 * (1 + math.cos(math.pi * spent / budget))
        for g in opt.param_groups:
            g['lr'] = lr
        batch = pad_batch(rng.sample(rows, ROWS_PER_BATCH))
        replay = pre.make_batch(train_stream, has_newline, 256, ROWS_PER_BATCH, np_rng)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            loss_sft = sft_loss(model, *batch)
            loss_replay, _ = pre.diffusion_loss(model, *replay)
            loss = loss_sft + 0.5 * loss_replay
        opt.zero_grad(set_to_none=True)
        loss.float().backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        spent += time.time() - t0
        if step % 25 == 0:
            print(json.dumps({'step': step, 'min': round(spent / 60, 1), 'sft_loss': round(loss_sft.item(), 3),
                              'replay_loss': round(loss_replay.item(), 3), 'lr': round(lr, 6)}), flush=True)
    os.makedirs(out_dir, exist_ok=True)
    torch.save({'model': model.state_dict(), 'state': {**state, 'sft_steps': step}, 'config': model.config},
               os.path.join(out_dir, 'latest.pt'))
    print(json.dumps({'final': True, 'sft_steps': step}), flush=True)


if __name__ == '__main__':
    if sys.argv[1] == 'tasks':
        build_tasks(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1500, int(sys.argv[4]) if len(sys.argv) > 4 else 11)
    elif sys.argv[1] == 'trajectories':
        run_trajectories(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == 'train':
        finetune(sys.argv[2], sys.argv[3].split(','), sys.argv[4])
