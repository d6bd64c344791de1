"""Threshold sweep: quality against NFE for two models (base and SFT) under the same policy, one run each, same tasks.

Runs `node dist/cli.js bench --json` for every model with variants POLICY~τ, then writes a markdown table and a
PNG plot (edit similarity and pass@1 against mean NFE).

Usage: sweep.py OUT_PREFIX LABEL=MODEL_DIR [LABEL=MODEL_DIR ...]   (env POLICY=r2, LIMIT=60, SETS=tsjs,humaneval-single,humaneval-multi;
       REUSE=1 re-plots OUT_PREFIX-LABEL.json files from an earlier run)
"""
import json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
TAUS = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
POLICY = os.environ.get('POLICY', 'r2')
LIMIT = os.environ.get('LIMIT', '60')
SETS = os.environ.get('SETS', 'tsjs,humaneval-single,humaneval-multi')


def bench(model_dir, json_path):
    if os.environ.get('REUSE') == '1' and os.path.exists(json_path):  # re-plot an earlier run
        return json.load(open(json_path))
    variants = ','.join(f'{POLICY}~{t}' for t in TAUS)
    subprocess.run(['node', 'dist/cli.js', 'bench', '--model', model_dir, '--sets', SETS, '--limit', LIMIT,
                    '--policies', variants, '--out', json_path.replace('.json', '.md'), '--json', json_path],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return json.load(open(json_path))


HUMAN_EVAL_FILES = {'humaneval-single': 'HumanEval-SingleLineInfilling.jsonl.gz',
                    'humaneval-multi': 'HumanEval-MultiLineInfilling.jsonl.gz'}


def empty_answer_pass_rate(set_name, limit):
    """pass@1 of answering nothing, on the bench's task selection: the part of pass@1 a model gets for free."""
    import gzip, tempfile
    path = os.path.join(ROOT, '..', 'shared', 'eval', 'human-eval-infilling', HUMAN_EVAL_FILES[set_name])
    tasks = [json.loads(l) for l in gzip.open(path)]
    step = len(tasks) / limit if limit < len(tasks) else 1
    chosen = [tasks[int(i * step)] for i in range(min(limit, len(tasks)))]
    passed = 0
    with tempfile.TemporaryDirectory() as cwd:
        for t in chosen:
            program = f"{t['prompt']}{t['suffix']}\n\n{t['test']}\n\ncheck({t['entry_point']})\n"
            try:
                r = subprocess.run(['python3', '-I', '-'], input=program.encode(), cwd=cwd, timeout=10,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={'PATH': '/usr/bin:/bin'})
                passed += r.returncode == 0
            except subprocess.TimeoutExpired:
                pass
    return passed / len(chosen)


def curve(rows, s, metric):
    """(NFE, quality) points of one model on one set, by increasing NFE."""
    return sorted((r['nfeMean'], r[metric]) for r in rows if r['set'] == s and r[metric] is not None)


def best_within(points, budget):
    """Best quality a curve reaches with at most `budget` NFE (None when none of its points is that fast)."""
    qualities = [q for nfe, q in points if nfe <= budget + 1e-9]
    return max(qualities) if qualities else None


def comparison_lines(results, s):
    """The last model against the first at each of the first model's points: its best edit similarity within the
    same NFE budget. Its curve lies above where that is higher at every point."""
    (base_label, base_rows), (new_label, new_rows) = list(results.items())[0], list(results.items())[-1]
    lines = [f'Curve check: at each {base_label} point, the best edit similarity {new_label} reaches with at most '
             f'as many NFE ("—": no {new_label} point is that fast).', '',
             f'| {base_label} τ | {base_label} NFE | {base_label} edit sim. | {new_label} best edit sim. within that NFE | above? |',
             '|---:|---:|---:|---:|---|']
    new_curve = curve(new_rows, s, 'editSimilarity')
    for r in sorted((r for r in base_rows if r['set'] == s), key=lambda r: r['nfeMean']):
        q = best_within(new_curve, r['nfeMean'])
        shown = '—' if q is None else f'{q:.3f}'
        above = 'no' if q is None or q <= r['editSimilarity'] else 'yes'
        lines.append(f"| {r['variant'].split('~')[1]} | {r['nfeMean']:.2f} | {r['editSimilarity']:.3f} | {shown} | {above} |")
    return lines + ['']


def main(out_prefix, specs):
    out_prefix = os.path.abspath(out_prefix)
    results = {}
    for spec in specs:
        label, model_dir = spec.split('=', 1)
        results[label] = bench(os.path.abspath(model_dir), f'{out_prefix}-{label}.json')['rows']
    sets = sorted({r['set'] for rows in results.values() for r in rows})
    empty_rates = {}
    lines = [f'# Threshold sweep: {POLICY}, τ in {TAUS}', '',
             f'Same tasks for every model ({LIMIT} per set), one bench run per model, greedy decoding.', '']
    for s in sets:
        lines += [f'## {s}', '', '| model | τ | NFE | tokens/step | exact match | edit sim. | pass@1 |', '|---|---:|---:|---:|---:|---:|---:|']
        for label, rows in results.items():
            for r in rows:
                if r['set'] != s:
                    continue
                tau = r['variant'].split('~')[1]
                p = '—' if r['passAt1'] is None else f"{100 * r['passAt1']:.1f}%"
                lines.append(f"| {label} | {tau} | {r['nfeMean']:.2f} | {r['tokensPerStep']:.2f} | "
                             f"{100 * r['exactMatch']:.1f}% | {r['editSimilarity']:.3f} | {p} |")
        lines.append('')
        if s in HUMAN_EVAL_FILES:
            empty_rates[s] = empty_answer_pass_rate(s, int(LIMIT))
            lines += [f'An empty answer passes {100 * empty_rates[s]:.1f}% of these tasks.', '']
        if len(results) > 1:
            lines += comparison_lines(results, s)
    open(out_prefix + '.md', 'w').write('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        print('matplotlib missing (apt-get install python3-matplotlib): no plot written')
        return
    fig, axes = plt.subplots(2, len(sets), figsize=(5.5 * len(sets), 8), squeeze=False)
    for col, s in enumerate(sets):
        executable = s in HUMAN_EVAL_FILES
        panels = [('editSimilarity', 'edit similarity'), ('passAt1' if executable else 'exactMatch', 'pass@1' if executable else 'exact match')]
        for row, (metric, name) in enumerate(panels):
            ax = axes[row][col]
            for label, rows in results.items():
                pts = sorted((r['nfeMean'], r[metric], r['variant'].split('~')[1]) for r in rows if r['set'] == s)
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker='o', label=label)
                for x, y, tau in pts:
                    ax.annotate(tau, (x, y), fontsize=7, xytext=(3, 3), textcoords='offset points')
            if metric == 'passAt1':
                ax.axhline(empty_rates[s], color='grey', linestyle='--', linewidth=1, label='empty answer')
            ax.set_title(f'{s}: {POLICY}, {name} (labels: τ)')
            ax.set_xlabel('mean NFE per task (lower is faster)')
            ax.set_ylabel(name)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_prefix + '.png', dpi=110)
    print('wrote', out_prefix + '.png')


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2:])
