"""The one entry point of the model recipe. Runs the stages in order; each stage's output lands in work/.

  /usr/bin/python3 models/train/pipeline.py                 # full recipe (about 2 h of CPU training)
  /usr/bin/python3 models/train/pipeline.py --tiny          # end-to-end smoke run in about a minute (CI)
  /usr/bin/python3 models/train/pipeline.py --stages train,export    # resume training, then export

Stages: npm, corpus, tokenizer, prepare, train, export, parity, eval.
Setup (Debian): apt-get install python3-torch python3-numpy python3-onnx python3-regex libopenblas0-openmp
libtcmalloc-minimal4; training re-executes itself with tcmalloc preloaded, OPENBLAS_CORETYPE unset and passive OpenMP waits.
"""
import argparse, os, shutil, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
PY = '/usr/bin/python3'
TCMALLOC = '/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4'
STAGES = ['npm', 'corpus', 'tokenizer', 'prepare', 'train', 'export', 'parity', 'eval']


def run(cmd, env=None, cwd=HERE):
    print('+', ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=cwd, env={**os.environ, **(env or {})})


def training_env(extra):
    env = {'OMP_WAIT_POLICY': 'PASSIVE', **extra}
    if os.path.exists(TCMALLOC):
        env['LD_PRELOAD'] = TCMALLOC
    os.environ.pop('OPENBLAS_CORETYPE', None)  # the CPU has AVX-512; the pinned Haswell kernels are slower
    return env


def npm_install(dest, packages):
    os.makedirs(dest, exist_ok=True)
    if os.path.isdir(os.path.join(dest, 'node_modules')):  # an existing tree: add only what it lacks
        packages = [p for p in packages if not os.path.exists(os.path.join(dest, 'node_modules', p, 'package.json'))]
        if not packages:
            return
    if not os.path.exists(os.path.join(dest, 'package.json')):
        with open(os.path.join(dest, 'package.json'), 'w') as f:
            f.write('{"name":"corpus-seed","version":"0.0.0","private":true}')
    run(['npm', 'install', '--ignore-scripts', '--no-audit', '--no-fund', '--legacy-peer-deps', *packages],
        env={'ONNXRUNTIME_NODE_INSTALL': 'skip'}, cwd=dest)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tiny', action='store_true', help='small corpus and model: an end-to-end check, not a model')
    ap.add_argument('--stages', default=','.join(STAGES))
    ap.add_argument('--minutes', type=float, default=105, help='training budget (ignored with --tiny)')
    ap.add_argument('--out', default=os.path.join(ROOT, 'models', 'dllm-code-small'), help='shipped model dir')
    args = ap.parse_args()
    stages = args.stages.split(',')
    work = os.path.join(HERE, 'work', 'tiny') if args.tiny else os.path.join(HERE, 'work')
    out = os.path.join(work, 'model') if args.tiny else args.out
    if args.tiny and 'corpus' in stages:
        shutil.rmtree(work, ignore_errors=True)  # a smoke run always starts from scratch
    os.makedirs(work, exist_ok=True)
    ckpt_dir = os.path.join(work, 'checkpoints')
    common = {'WORK_DIR': work}
    if args.tiny:
        common.update(TINY='1', DIM='64', LAYERS='2', HEADS='2', MINUTES='0.25', BATCH_TOKENS='2048',
                      EVAL_EVERY='1000000', SAVE_EVERY_S='1e9')
    else:
        common.update(MINUTES=str(args.minutes))
    vocab = '512' if args.tiny else '8192'

    if 'npm' in stages and not args.tiny:
        packages = [l.strip() for l in open(os.path.join(HERE, 'npm_packages.txt')) if l.strip() and not l.startswith('#')]
        npm_install(os.path.join(HERE, 'work', 'npm'), packages)
        reserved = [l.strip() for l in open(os.path.join(ROOT, '..', 'shared', 'eval', 'reserved.txt'))
                    if l.strip() and not l.startswith('#') and ' ' not in l.strip() and not l.startswith('python3-')]
        npm_install(os.path.join(HERE, 'work', 'reserved-npm'), reserved)
    if 'corpus' in stages:
        run([PY, 'corpus.py'], common)
    if 'tokenizer' in stages:
        run([PY, 'tokenizer.py', os.path.join(work, 'corpus', 'train.jsonl'), os.path.join(work, 'tokenizer.json'), vocab], common)
    if 'prepare' in stages:
        run([PY, 'prepare.py', os.path.join(work, 'tokenizer.json'), os.path.join(work, 'corpus'), work], common)
    if 'train' in stages:
        run(['nice', '-n', '5', PY, 'train.py'], training_env({**common, 'DATA': work, 'OUT': ckpt_dir}))
    if 'export' in stages:
        run([PY, 'export.py', os.path.join(ckpt_dir, 'latest.pt'), os.path.join(work, 'tokenizer.json'), out], common)
    if 'parity' in stages:
        run(['node', 'parity.mjs', os.path.join(ckpt_dir, 'parity.json'), os.path.join(ckpt_dir, 'model.fp32.onnx'),
             os.path.join(out, 'model.onnx')])
    if 'eval' in stages:
        run([PY, 'evaluate.py', os.path.join(ckpt_dir, 'latest.pt'), os.path.join(work, 'val.bin'),
             os.path.join(work, 'eval.json')], common)
        if not args.tiny and os.path.exists(os.path.join(ROOT, 'dist', 'cli.js')):
            run(['node', 'dist/cli.js', 'bench', '--model', out], cwd=ROOT)


if __name__ == '__main__':
    main()
