"""Objective head-to-head (issue 21): for each trained variant, the bound on held-out NLL per token that its own
objective gives (MDLM and block diffusion both bound the same quantity), then through the real engine the replay
benchmark (r2, the editor's pipeline, every held-out position) and HumanEval single-line pass@1 (r2, whole set).

  headtohead.py OUT.json NAME=CHECKPOINT_OR_MODEL_DIR ...      (LIMIT=N: a smoke run on N tasks per set)

A NAME=dir/latest.pt is exported next to it (dir/model); a NAME=model_dir (a shipped model folder) is evaluated as
is, with its NLL bound from a checkpoint rebuilt by import_onnx. Prints a markdown table; OUT.json keeps it all.
"""
import json, os, subprocess, sys
import numpy as np
import torch
from export import load_model
from import_onnx import import_model
import train

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
WORK = os.path.join(HERE, 'work')
torch.set_num_threads(int(os.environ.get('THREADS', 2)))


LIMIT = os.environ.get('LIMIT')  # a smoke run: this many tasks per set / language


def node(*args):
    limit = ['--limit', LIMIT] if LIMIT else []
    subprocess.run(['node', os.path.join(ROOT, 'dist', 'cli.js'), *args, *limit], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)


def evaluate_variant(name, path, val):
    path = os.path.abspath(path)
    if path.endswith('.pt'):
        ckpt, model_dir = path, os.path.join(os.path.dirname(path), 'model')
        subprocess.run([sys.executable, 'export.py', ckpt, os.path.join(WORK, 'tokenizer.json'), model_dir], check=True,
                       cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        model_dir, ckpt = path, os.path.join(WORK, f'{name}-imported.pt')
        import_model(model_dir, ckpt)
    model, state = load_model(ckpt)
    objective, block = state.get('objective', 'mdlm'), state.get('block', 0)
    row = {'name': name, 'objective': objective if objective == 'mdlm' else f'block diffusion, B={block}',
           'steps': state.get('step'), 'train_tokens_M': round((state.get('tokens') or 0) / 1e6, 2),
           'cpu_minutes': round(state.get('cpu_seconds', 0) / 60, 1),
           'nll_bound': train.nll_bound(model, val, objective, block or 4, rows=384, passes=2)}
    out = os.path.join(WORK, 'headtohead', name)
    os.makedirs(out, exist_ok=True)
    node('bench', '--replay', '--policies', 'r2', '--model', model_dir, '--json', f'{out}/replay.json', '--out', f'{out}/replay.md')
    replay = json.load(open(f'{out}/replay.json'))
    overall = next(r for r in replay['table'] if r['language'] == 'all')
    row.update({'replay_useful_pct': overall['ungated']['usefulPct'], 'replay_empty_pct': overall['ungated']['emptyPct'],
                'replay_useful_among_shown_gated_pct': overall['gated'].get('usefulAmongShownPct'),
                'replay_nfe': overall['ungated']['meanNfe']})
    # The model's own end-of-answer behaviour (no end guard): how often it answers nothing at all.
    node('bench', '--replay', '--policies', 'r2', '--end-rule', 'reference', '--model', model_dir,
         '--json', f'{out}/replay-reference-ends.json', '--out', f'{out}/replay-reference-ends.md')
    raw = next(r for r in json.load(open(f'{out}/replay-reference-ends.json'))['table'] if r['language'] == 'all')
    row.update({'replay_engine_empty_without_guard_pct': raw['ungated']['engineEmptyPct'],
                'replay_useful_without_guard_pct': raw['ungated']['usefulPct']})
    node('bench', '--sets', 'humaneval-single', '--policies', 'r2', '--model', model_dir, '--json', f'{out}/humaneval.json',
         '--out', f'{out}/humaneval.md')
    he = json.load(open(f'{out}/humaneval.json'))['rows'][0]
    row.update({'humaneval_single_pass1_pct': round(100 * he['passAt1'], 1), 'humaneval_tasks': he.get('tasks'),
                'humaneval_nfe': round(he['nfeMean'], 1), 'tokens_per_step': round(he['tokensPerStep'], 2)})
    print(json.dumps(row), flush=True)
    return row


def markdown(rows):
    lines = ['| variant | objective | extra CPU min | extra tokens (M) | NLL bound (nats/token) | replay useful | replay empty | '
             'replay NFE | engine answers nothing without the end guard | HumanEval single-line pass@1 (r2) | tokens/step |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['name']} | {r['objective']} | {r['cpu_minutes']} | {r['train_tokens_M']} | {r['nll_bound']:.3f} | "
                     f"{r['replay_useful_pct']}% | {r['replay_empty_pct']}% | {r['replay_nfe']} | "
                     f"{r['replay_engine_empty_without_guard_pct']}% | "
                     f"{r['humaneval_single_pass1_pct']}% | {r['tokens_per_step']} |")
    return '\n'.join(lines)


def main(out_json, *variants):
    val = np.memmap(os.path.join(WORK, 'val.bin'), dtype=np.uint16, mode='r')
    rows = [evaluate_variant(*v.split('=', 1), val) for v in variants]
    json.dump(rows, open(out_json, 'w'), indent=1)
    print(markdown(rows))


if __name__ == '__main__':
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
