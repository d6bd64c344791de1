"""The GPU recipe (models/train/gpu), checked on the CPU at a tiny size: train.py's device handling (DEVICE=cpu), a
tiny run that resumes, gpu/run.sh as a CPU dry run (pack -> train -> export -> parts -> join, sha256), pack_corpus.sh."""
import hashlib, json, os, subprocess, sys, tarfile, tempfile, unittest
import numpy as np
import torch
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GPU = os.path.join(HERE, 'gpu')
sys.path.insert(0, HERE)
import train
from model import DiffusionLM
from tokenizer import BYTE_CHAR, SPECIALS


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def fake_work_dir(path, train_tokens=20000, val_tokens=4000):
    """tokenizer.json with specials + the 256 byte characters (no merges), and random uint16 token streams."""
    vocab = {tok: i for i, tok in enumerate(SPECIALS)}
    for ch in BYTE_CHAR.values():
        vocab[ch] = len(vocab)
    with open(os.path.join(path, 'tokenizer.json'), 'w') as f:
        json.dump({'model': {'vocab': vocab, 'merges': []}}, f)
    rng = np.random.default_rng(0)
    for name, n in (('train.bin', train_tokens), ('val.bin', val_tokens)):
        rng.integers(len(SPECIALS), len(vocab), n).astype(np.uint16).tofile(os.path.join(path, name))
    return len(vocab)


def run(cmd, env=None, cwd=HERE):
    r = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=120)
    if r.returncode:
        raise AssertionError(f'{cmd} exited {r.returncode}:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}')
    return r.stdout


class DeviceHandlingTest(unittest.TestCase):
    def test_block_diffusion_step_and_bound_on_the_chosen_device(self):
        self.assertEqual(train.DEVICE, os.environ.get('DEVICE', 'cuda' if torch.cuda.is_available() else 'cpu'))
        torch.manual_seed(0)
        model = DiffusionLM(64, 32, 1, 2, 1024).to(train.DEVICE)
        stream = np.random.default_rng(0).integers(3, 64, 5000).astype(np.uint16)
        flags = np.zeros(64, dtype=bool)
        flags[7] = True
        x0, positions, masked, maskable, t = train.to_device(*train.bd_batch(stream, flags, 32, 4, 4, np.random.default_rng(1)))
        self.assertEqual(x0.device.type, train.DEVICE_TYPE)
        with torch.autocast(train.DEVICE_TYPE, dtype=torch.bfloat16):
            loss, ce = train.bd_loss(model, x0, positions, masked, maskable, t, 4)
        loss.float().backward()
        self.assertTrue(torch.isfinite(loss) and model.emb.weight.grad is not None)
        self.assertEqual(train.bd_attention_bias(32, 4).device.type, train.DEVICE_TYPE)
        bound = train.nll_bound(model, stream, 'bd', block=4, seq_len=32, rows=16, passes=1)
        self.assertTrue(0 < bound < 50, bound)


class TinyRunTest(unittest.TestCase):
    def test_main_runs_on_cpu_and_resumes(self):
        """train.py's main() with DEVICE=cpu at a tiny size, then once more from its checkpoint."""
        with tempfile.TemporaryDirectory() as tmp:
            data, ckpt = os.path.join(tmp, 'data'), os.path.join(tmp, 'ckpt')
            os.makedirs(data)
            fake_work_dir(data)
            env = {'DEVICE': 'cpu', 'THREADS': '1', 'OBJECTIVE': 'bd', 'BLOCK': '4', 'DIM': '32', 'LAYERS': '1',
                   'HEADS': '2', 'BATCH_TOKENS': '512', 'MINUTES': '0.01', 'EVAL_EVERY': '1000000',
                   'SAVE_EVERY_S': '1e9', 'DATA': data, 'OUT': ckpt}
            log = run([sys.executable, 'train.py'], env)
            self.assertEqual(json.loads(log.splitlines()[0])['device'], 'cpu')
            steps = torch.load(os.path.join(ckpt, 'latest.pt'))['state']['step']
            log = run([sys.executable, 'train.py'], {**env, 'MINUTES': '0.02'})
            self.assertIn('resumed', log.splitlines()[0])
            self.assertGreater(torch.load(os.path.join(ckpt, 'latest.pt'))['state']['step'], steps)


class RunScriptTest(unittest.TestCase):
    def dry_run(self, tmp, env=None):
        """gpu/run.sh with DEVICE=cpu at a tiny size; returns (log, work, out)."""
        work, carry, out = (os.path.join(tmp, d) for d in ('work', 'carry', 'out'))
        os.makedirs(work)
        fake_work_dir(work)
        run(['bash', os.path.join(GPU, 'pack_corpus.sh'), work, carry])
        log = run(['bash', os.path.join(GPU, 'run.sh')],
                  {'DEVICE': 'cpu', 'THREADS': '1', 'PY': sys.executable, 'CARRY': carry, 'OUT': out,
                   'GPU_WORK': os.path.join(tmp, 'gpu-work'), 'DIM': '32', 'LAYERS': '1', 'HEADS': '2',
                   'BATCH_TOKENS': '512', 'TRAIN_MINUTES': '0.01', 'PART_BYTES': '60000', **(env or {})})
        return log, work, out

    def test_block_diffusion_dry_run_exports_a_block_causal_model(self):
        with tempfile.TemporaryDirectory() as tmp:
            log, work, out = self.dry_run(tmp, {'OBJECTIVE': 'bd'})
            self.assertIn('"objective": "bd"', log)
            joined = os.path.join(tmp, 'joined')
            run(['bash', os.path.join(GPU, 'join.sh'), out, joined, os.path.join(work, 'tokenizer.json')])
            with open(os.path.join(joined, 'config.json')) as f:
                config = json.load(f)
            self.assertEqual((config['format_version'], config['attention'], config['block_size']),
                             (2, 'block-causal', 4))

    def test_run_sh_dry_run_on_cpu_comes_back_within_the_limits(self):
        """gpu/run.sh end to end with DEVICE=cpu at a tiny size, default objective (MDLM): what lands in $OUT joins
        back into a model."""
        with tempfile.TemporaryDirectory() as tmp:
            log, work, out = self.dry_run(tmp)
            joined = os.path.join(tmp, 'joined')
            self.assertIn('done:', log)
            self.assertIn('"objective": "mdlm"', log)
            names = os.listdir(out)
            self.assertLessEqual(len(names), 8)
            self.assertTrue(all(os.path.getsize(os.path.join(out, n)) <= 16 * 2 ** 20 for n in names))
            self.assertIn('run.log', names)
            # with 60 kB parts the checkpoint would need three more parts: over the 8 files that may come back
            self.assertIn('resume.pt (', log)
            self.assertIn('does not fit in what comes back', log)
            self.assertFalse([n for n in names if n.startswith('resume.pt')])
            parts = sorted(n for n in names if n.startswith('model.onnx.part-'))
            self.assertEqual(parts, ['model.onnx.part-00', 'model.onnx.part-01', 'model.onnx.part-02'])
            run(['bash', os.path.join(GPU, 'join.sh'), out, joined, os.path.join(work, 'tokenizer.json')])
            self.assertEqual(sorted(os.listdir(joined)), ['config.json', 'model.onnx', 'tokenizer.json'])
            self.assertLessEqual(os.path.getsize(os.path.join(joined, 'model.onnx')), 3 * 60000)
            with open(os.path.join(joined, 'config.json')) as f:
                config = json.load(f)
            self.assertEqual((config['name'], config['format_version'], config.get('attention')),
                             ('dllm-code-gpu', 1, None))  # masked diffusion: format 1, bidirectional
            with open(os.path.join(out, parts[1]), 'r+b') as f:  # a damaged part must not pass
                head = f.read(8)
                f.seek(0)
                f.write(bytes(b ^ 0xFF for b in head))
            with self.assertRaises(AssertionError):
                run(['bash', os.path.join(GPU, 'join.sh'), out, os.path.join(tmp, 'bad'), os.path.join(work, 'tokenizer.json')])


class PackCorpusTest(unittest.TestCase):
    def test_pack_round_trips_and_reports_the_size(self):
        with tempfile.TemporaryDirectory() as tmp:
            work, carry, unpacked = (os.path.join(tmp, d) for d in ('work', 'carry', 'unpacked'))
            os.makedirs(work)
            fake_work_dir(work)
            out = run(['bash', os.path.join(GPU, 'pack_corpus.sh'), work, carry])
            self.assertIn('corpus.tar.xz is', out)
            tarfile.open(os.path.join(carry, 'corpus.tar.xz')).extractall(unpacked)  # as run.sh unpacks it
            for name in ('train.bin', 'val.bin', 'tokenizer.json'):
                self.assertEqual(sha256(os.path.join(unpacked, name)), sha256(os.path.join(work, name)))
            run(['sha256sum', '-c', os.path.join(carry, 'corpus.sha256')], cwd=unpacked)

    def test_missing_input_fails(self):
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaises(AssertionError):
                run(['bash', os.path.join(GPU, 'pack_corpus.sh'), tmp, os.path.join(tmp, 'carry')])


if __name__ == '__main__':
    unittest.main()
