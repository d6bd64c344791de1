"""Builds the held-out TypeScript/JavaScript infill set (models/eval/tsjs-infill.jsonl) from the validation split.

Each task cuts a middle out of a validation file: the rest of a line (cursor inside a line), one whole line, or a
block of 2-4 lines. `make_task` also knows `lines` (used by the SFT, not by this set): 1-4 whole lines with their
indentation and line breaks, as HumanEval-infilling cuts them (the prefix ends at a line start: the cursor in
column 0). Fields: task_id, language, kind, prefix, suffix, middle. No task comes from a training file.
"""
import json, os, random, sys

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX_CHARS, SUFFIX_CHARS = 2000, 800


def good_line(line):
    s = line.strip()
    return 3 <= len(s) <= 100 and sum(c.isalnum() for c in s) >= 3 and not s.startswith(('//', '*', '/*', 'import '))


def make_task(text, rng, kind):
    lines = text.split('\n')
    candidates = [i for i in range(3, len(lines) - 2) if good_line(lines[i])]
    if not candidates:
        return None
    i = rng.choice(candidates)
    start = sum(len(l) + 1 for l in lines[:i])
    if kind == 'rest-of-line':
        line = lines[i]
        indent = len(line) - len(line.lstrip())
        cut = rng.randint(indent + 1, max(indent + 1, len(line) - 3))
        a, b = start + cut, start + len(line)
    elif kind == 'line':
        indent = len(lines[i]) - len(lines[i].lstrip())
        a, b = start + indent, start + len(lines[i])
    elif kind == 'lines':
        n = rng.randint(1, 4)
        if not all(good_line(l) or not l.strip() for l in lines[i:i + n]):
            return None
        a, b = start, start + sum(len(l) + 1 for l in lines[i:i + n])
    else:
        n = rng.randint(2, 4)
        if not all(good_line(l) or not l.strip() for l in lines[i:i + n]):
            return None
        indent = len(lines[i]) - len(lines[i].lstrip())
        a, b = start + indent, start + len('\n'.join(lines[i:i + n]))
    middle = text[a:b]
    if len(middle.strip()) < 3:
        return None
    return {'prefix': text[max(0, a - PREFIX_CHARS):a], 'suffix': text[b:b + SUFFIX_CHARS], 'middle': middle}


def main(val_jsonl, out_path, n_tasks=150):
    rng = random.Random(7)
    files = [json.loads(l) for l in open(val_jsonl)]
    files = [f for f in files if f['lang'] in ('javascript', 'typescript') and not f['path'].endswith('.d.ts')]
    rng.shuffle(files)
    kinds = ['rest-of-line', 'line', 'block']
    tasks = []
    for f in files * 3:
        if len(tasks) >= n_tasks:
            break
        kind = kinds[len(tasks) % 3]
        t = make_task(f['text'], rng, kind)
        if t:
            tasks.append({'task_id': f'tsjs/{len(tasks)}', 'language': f['lang'], 'kind': kind, 'source': f['path'], **t})
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, 'w') as out:
        for t in tasks:
            out.write(json.dumps(t) + '\n')
    print(json.dumps({'tasks': len(tasks), 'files_available': len(files)}))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
