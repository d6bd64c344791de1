"""from_hf.py on tiny random checkpoints of every family (fixtures.py): the PyTorch reference forward is
self-consistent, every family converts at every precision, and the ONNX graph replayed in onnxruntime-node
(run_onnx.mjs) matches the reference: fp32 top-1 100% and max |Δp1| < 1e-3; quantised graphs match the reference
run with the same quantised weights. Run from models/convert: python3 -m unittest discover -s tests -v
"""
import json, os, shutil, subprocess, sys, tempfile, unittest
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
CONVERT = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(CONVERT))
sys.path.insert(0, HERE)
sys.path.insert(0, CONVERT)
import fixtures  # noqa: E402
import from_hf  # noqa: E402

PRECISIONS = ['fp32', 'fp16', 'int8', 'int4']


def node_with_ort():
    node = shutil.which('node')
    if not node:
        return None, 'node is not on PATH'
    probe = subprocess.run([node, '-e', "require('onnxruntime-node')"], cwd=ROOT, capture_output=True, text=True)
    return (node, None) if probe.returncode == 0 else (None, 'onnxruntime-node is not installed (npm ci)')


def convert(ckpt, out, *flags):
    run = subprocess.run([sys.executable, os.path.join(CONVERT, 'from_hf.py'), '--checkpoint', ckpt, '--out', out, *flags],
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise AssertionError(f'from_hf.py failed:\n{run.stdout}\n{run.stderr}')
    return run.stdout


def load_reference(ckpt):
    cfg = from_hf.read_json(ckpt, 'config.json')
    weights, _ = from_hf.read_checkpoint(ckpt)
    arch, top, layers = from_hf.describe(cfg, weights)
    n_valid = from_hf.n_valid_tokens(from_hf.read_json(ckpt, 'tokenizer.json'), top['head'].shape[0])
    return arch, top, layers, n_valid


class Fixtures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='dllm-convert-')
        cls.ckpts = {name: fixtures.write_fixture(cls.tmp, name) for name in fixtures.FIXTURES}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)


class TestReading(Fixtures):
    def test_sharded_bf16_reads_back_the_rounded_weights(self):
        ckpt, _ = self.ckpts['fast-dllm-v2-tiny']
        self.assertTrue(os.path.exists(os.path.join(ckpt, 'model.safetensors.index.json')))
        weights, files = from_hf.read_checkpoint(ckpt)
        self.assertEqual(len(files), 3)
        want = fixtures.qwen_like(np.random.default_rng(0), 2, 64, 4, 2, 16, 96, 303, True, True, False)
        self.assertEqual(set(weights), set(want))
        for name, a in want.items():
            widened = (fixtures.to_bf16(a).astype(np.uint32) << 16).view(np.float32)
            np.testing.assert_array_equal(weights[name], widened, err_msg=name)
            self.assertLess(np.abs(weights[name] - a).max(), np.abs(a).max() / 128 + 1e-12)

    def test_layouts_are_recognised_by_parameter_names(self):
        expect = {'open-dcoder-tiny': 'qwen2', 'dream-tiny': 'qwen2', 'sdar-tiny': 'qwen3', 'llada-tiny': 'llada',
                  'stable-diffcoder-tiny': 'llama', 'qwen3-0.6b-diffusion-mdlm-tiny': 'qwen3'}
        for name, layout in expect.items():
            weights, _ = from_hf.read_checkpoint(self.ckpts[name][0])
            self.assertEqual(from_hf.detect_layout(weights), layout, name)


class TestReference(Fixtures):
    def test_cached_passes_equal_the_full_pass(self):
        """Post-RoPE K/V: a block fed with the rest of the sequence as `past` (in any order, with gaps in the
        positions) gives the full pass's predictions for the block. Holds for every family's forward."""
        for name in fixtures.FIXTURES:
            with self.subTest(name):
                arch, top, layers, n_valid = load_reference(self.ckpts[name][0])
                ref = from_hf.Reference(arch, top, layers, n_valid)
                (_, full_in), (_, block_in), _ = from_hf.self_check_cases(ref, arch, n_valid, mask=1)
                full, block = ref.forward(*full_in), ref.forward(*block_in)
                torch.testing.assert_close(block[1], full[1][:, 8:16], atol=1e-5, rtol=1e-4)
                torch.testing.assert_close(block[3], full[3][:, :, :, 8:16], atol=1e-5, rtol=1e-4)
                # the reversed past (cache order does not matter with post-RoPE keys)
                rev = (block_in[0], block_in[1], block_in[2].flip(3), block_in[3].flip(3), block_in[4])
                torch.testing.assert_close(ref.forward(*rev)[1], block[1], atol=1e-5, rtol=1e-4)

    def test_padding_rows_of_the_embedding_are_never_predicted(self):
        arch, top, layers, n_valid = load_reference(self.ckpts['open-dcoder-tiny'][0])
        self.assertLess(n_valid, top['head'].shape[0])
        # make a padding row the most likely token everywhere: it must still never come out
        top = dict(top, head=top['head'].copy())
        top['head'][n_valid + 3] = top['head'][:n_valid].mean(0) * 0 + 10.0
        ref = from_hf.Reference(arch, top, layers, n_valid)
        (_, full_in), _, _ = from_hf.self_check_cases(ref, arch, n_valid, mask=1)
        ids, probs, neg_entropy, _, _ = ref.forward(*full_in, top_k=4)
        self.assertLess(int(ids.max()), n_valid)
        self.assertTrue(torch.isfinite(neg_entropy).all())

    def test_transformers_classes_agree(self):
        try:
            import transformers  # noqa: F401
        except ImportError:
            self.skipTest('transformers is not installed here (the converter does not need it); '
                          'install it to compare the reference forward with its Qwen2/Qwen3/Llama classes')
        from transformers import AutoConfig, AutoModelForCausalLM
        for name in ('open-dcoder-tiny', 'sdar-tiny', 'stable-diffcoder-tiny'):
            with self.subTest(name):
                ckpt = self.ckpts[name][0]
                cfg = from_hf.read_json(ckpt, 'config.json')
                hf = AutoModelForCausalLM.from_config(AutoConfig.for_model(**cfg), attn_implementation='eager').eval()
                weights, _ = from_hf.read_checkpoint(ckpt)
                hf.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()}, strict=False)
                arch, top, layers, n_valid = load_reference(ckpt)
                ref = from_hf.Reference(arch, top, layers, n_valid)
                T = 12
                ids = torch.randint(0, n_valid, (1, T), generator=torch.Generator().manual_seed(1))
                bidirectional = torch.zeros(1, 1, T, T)  # additive 4D mask of zeros: no causal mask
                with torch.no_grad():
                    logits = hf(input_ids=ids, attention_mask=bidirectional).logits[..., :n_valid]
                want = torch.softmax(logits, -1).topk(4, -1)
                L, KV, hd = arch['n_layers'], arch['n_kv_heads'], arch['head_dim']
                empty = torch.zeros(L, 1, KV, 0, hd)
                got = ref.forward(ids, torch.arange(T)[None], empty, empty, torch.arange(T)[None])
                self.assertTrue(torch.equal(got[0], want.indices))
                torch.testing.assert_close(got[1], want.values, atol=1e-4, rtol=1e-3)


class TestConvert(Fixtures):
    def test_decisions_come_from_config_tokenizer_and_family_table(self):
        for name, (ckpt, spec) in self.ckpts.items():
            with self.subTest(name):
                out = os.path.join(self.tmp, 'out-decide-' + name)
                printed = convert(ckpt, out, '--precision', 'fp32')
                config = from_hf.read_json(out, 'config.json')
                for key, value in spec['expect'].items():
                    self.assertEqual(config[key], value, key)
                self.assertIn('attention = ', printed)
                ids = spec['ids']
                mask = ids.get('<|mask|>', ids.get('<|mdm_mask|>'))
                self.assertEqual(config['mask_token_id'], mask)
                self.assertIn(config['pad_token_id'], config['end_token_ids'])
                self.assertIn(ids['<|endoftext|>'], config['end_token_ids'])
                self.assertNotIn(mask, config['end_token_ids'])
                if name == 'llada-tiny':
                    self.assertEqual(config['bos_token_id'], ids['<|startoftext|>'])
                    self.assertIn(ids['<|eot_id|>'], config['end_token_ids'])
                else:
                    self.assertIsNone(config['bos_token_id'])
                    self.assertIn(ids['<|im_end|>'], config['end_token_ids'])
                self.assertIn('<|endoftext|>', config['special_tokens'])
                self.assertEqual(config['format_version'], 2)
                self.assertEqual(config['vocab_size'], spec['vocab'])
                for f in ('model.onnx', 'tokenizer.json', 'config.json', 'MODEL_CARD.md', 'self_check.json'):
                    self.assertTrue(os.path.exists(os.path.join(out, f)), f)

    def test_flags_override_everything(self):
        ckpt, spec = self.ckpts['open-dcoder-tiny']
        out = os.path.join(self.tmp, 'out-flags')
        convert(ckpt, out, '--attention', 'block-causal', '--block-size', '8', '--logit-shift', '0',
                '--mask-token-id', str(spec['ids']['<|fim_middle|>']))
        config = from_hf.read_json(out, 'config.json')
        self.assertEqual((config['attention'], config['block_size'], config['logit_shift'], config['mask_token_id']),
                         ('block-causal', 8, 0, spec['ids']['<|fim_middle|>']))

    def test_external_data_when_the_weights_are_large(self):
        node, why = node_with_ort()
        if not node:
            self.skipTest(why)
        ckpt, _ = self.ckpts['sdar-tiny']
        out = os.path.join(self.tmp, 'out-external')
        argv, limit = sys.argv, from_hf.EXTERNAL_DATA_ABOVE
        try:
            from_hf.EXTERNAL_DATA_ABOVE = 0  # as if the weights were over 1.9 GB
            sys.argv = ['from_hf.py', '--checkpoint', ckpt, '--out', out, '--precision', 'int4']
            from_hf.main()
        finally:
            sys.argv, from_hf.EXTERNAL_DATA_ABOVE = argv, limit
        self.assertTrue(os.path.getsize(os.path.join(out, 'model.onnx.data')) > os.path.getsize(os.path.join(out, 'model.onnx')))
        run = subprocess.run([node, os.path.join(CONVERT, 'run_onnx.mjs'), out], capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)

    def test_every_family_at_every_precision_matches_in_onnxruntime(self):
        node, why = node_with_ort()
        if not node:
            self.skipTest(why)
        for name, (ckpt, spec) in self.ckpts.items():
            for precision in PRECISIONS:
                with self.subTest(f'{name} {precision}'):
                    out = os.path.join(self.tmp, f'out-{name}-{precision}')
                    convert(ckpt, out, '--precision', precision)
                    config = from_hf.read_json(out, 'config.json')
                    self.assertEqual(config['precision'], precision)
                    self.assertEqual(config['kv_dtype'], 'float16' if precision == 'fp16' else 'float32')
                    run = subprocess.run([node, os.path.join(CONVERT, 'run_onnx.mjs'), out], capture_output=True, text=True)
                    rows = [json.loads(line) for line in run.stdout.splitlines() if line.startswith('{')]
                    self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
                    self.assertEqual(len(rows), 3)
                    for row in rows:
                        self.assertEqual(row['presentKeys'][2], config['n_kv_heads'])
                        self.assertEqual(row['presentType'], 'float16' if precision == 'fp16' else 'float32')
                        self.assertLess(row['maxTopId'], spec['n_tokenizer_ids'])
                        if precision == 'fp32':
                            self.assertEqual(row['top1Agreement'], 1.0)
                            self.assertLess(row['maxAbsDeltaP'], 1e-3)
                    self.engine_accepts(node, out, decode=precision == 'fp32')

    def test_gpu_precisions_on_webgpu_decode_as_on_the_cpu(self):
        """fp16 and int4, the precisions meant for a GPU, on the WebGPU provider (a GPU, or lavapipe in `npm test`) with
        the K/V kept on the device. The agreement asked of them is the converter's own: check-model replays the
        self-check cases (full pass, dual-cache block, pruned suffix) against the PyTorch forward at that precision
        and must pass there as on the CPU. A whole decode is not compared token for token: random tiny weights give
        near-tied top-1s, and WebGPU's fp16 kernels round differently from the CPU's (measured: 15 of 16 decodes
        identical over 8 families, dream-tiny fp16 differs from its third token). It must run on WebGPU and fill the canvas."""
        node, why = node_with_ort()
        if not node:
            self.skipTest(why)
        cli = os.path.join(ROOT, 'dist', 'cli.js')
        if not os.path.exists(cli):
            self.skipTest('dist/cli.js is not built (node esbuild.mjs)')
        tasks = os.path.join(self.tmp, 'webgpu-tasks.jsonl')
        with open(tasks, 'w') as f:
            f.write(json.dumps({'task_id': 't', 'prefix': 'def area(w, h):\n    return ', 'suffix': '\n'}) + '\n')
        for name, (ckpt, spec) in self.ckpts.items():
            for precision in ('fp16', 'int4'):
                with self.subTest(f'{name} {precision}'):
                    out = os.path.join(self.tmp, f'webgpu-{name}-{precision}')
                    convert(ckpt, out, '--precision', precision)
                    check = subprocess.run([node, cli, 'check-model', '--model', out, '--ep', 'webgpu'],
                                           capture_output=True, text=True, cwd=ROOT)
                    if 'no WebGPU adapter' in check.stdout + check.stderr:
                        self.skipTest('no WebGPU adapter (no GPU, and lavapipe is not installed: node .ci/lavapipe.mjs)')
                    self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
                    self.assertIn('execution provider: webgpu\n', check.stdout)
                    self.assertIn('PASS', check.stdout)
                    answers = {}
                    for ep in ('cpu', 'webgpu'):
                        run = subprocess.run([node, cli, 'infill', '--tasks', tasks, '--policy', 'r2', '--model', out, '--ep', ep,
                                              '--max-new-tokens', '16', '--out', '-'], capture_output=True, text=True, cwd=ROOT)
                        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
                        self.assertIn(f'execution provider: {ep}', run.stderr + run.stdout)
                        answers[ep] = [json.loads(line) for line in run.stdout.splitlines() if line.startswith('{')]
                    gpu, cpu = answers['webgpu'][0], answers['cpu'][0]
                    self.assertNotIn('error', gpu, gpu)
                    self.assertEqual(gpu['tokens'], cpu['tokens'], answers)
                    same = 'identical' if gpu['completion'] == cpu['completion'] else 'different'
                    print(f'  webgpu {name} {precision}: {gpu["nfe"]} passes, {same} tokens to the CPU decode', flush=True)

    def engine_accepts(self, node, out, decode):
        """The engine's side of the contract: `check-model` passes, and (fp32) a Fill decodes with every policy."""
        cli = os.path.join(ROOT, 'dist', 'cli.js')
        if not os.path.exists(cli):
            print(f'engine check skipped for {out}: dist/cli.js is not built (node esbuild.mjs)')
            return
        check = subprocess.run([node, cli, 'check-model', '--model', out], capture_output=True, text=True, cwd=ROOT)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertIn('PASS', check.stdout)
        if not decode:
            return
        tasks = os.path.join(out, 'tasks.jsonl')
        with open(tasks, 'w') as f:
            f.write(json.dumps({'task_id': 't', 'prefix': 'function add(a, b) {\n  return ', 'suffix': ';\n}\n'}) + '\n')
        for policy in ('llada', 'fast-dllm', 'r2'):
            run = subprocess.run([node, cli, 'infill', '--tasks', tasks, '--policy', policy, '--model', out,
                                  '--max-new-tokens', '16', '--out', '-'], capture_output=True, text=True, cwd=ROOT)
            self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
            answers = [json.loads(line) for line in run.stdout.splitlines() if line.startswith('{')]
            self.assertEqual(len(answers), 1, run.stdout)
            self.assertNotIn('error', answers[0], f'{policy}: {answers[0]}')
            self.assertGreater(answers[0]['nfe'], 0)


if __name__ == '__main__':
    unittest.main()
