// Model layer: the training recipe's Python tests (tokenizer, objective) and a tiny end-to-end run of the recipe
// (corpus → tokenizer → training → ONNX export → parity against PyTorch in onnxruntime-node).
// Needs Debian's python3-torch, python3-numpy, python3-onnx and python3-regex (npm test installs them: .ci/setup.mjs).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { gpuPresent, lavapipeEnv } from '../../.ci/lavapipe.mjs';
import { ROOT, runStreaming, writeSummary } from '../support/layers.mjs';

const PY = '/usr/bin/python3';
const TRAIN_DIR = path.join(ROOT, 'models', 'train');

const probe = existsSync(PY) ? await runStreaming(PY, ['-c', 'import torch, numpy, onnx, regex']) : { code: 1 };
if (probe.code !== 0) {
  console.error('model: /usr/bin/python3 with torch, numpy, onnx and regex is required (apt-get install python3-torch python3-numpy python3-onnx python3-regex)');
  writeSummary('model', 0, 1, { error: 'python training stack missing' });
  process.exit(1);
}

let passed = 0;
let failed = 0;
/** unittest -v prints `name (module.Class...) ... skipped 'reason'` for each skip: a skip is not a pass. */
const skipsOf = (output) => [...output.matchAll(/^(\S+) \((.*)\)(?:\s*\n.*?)? \.\.\. skipped '(.*)'$/gm)]
  .map((m) => ({ test: `${m[2]}.${m[1]}`, reason: m[3] }));
const unit = await runStreaming(PY, ['-m', 'unittest', 'discover', '-s', 'tests', '-v'], { cwd: TRAIN_DIR });
const ran = Number(unit.output.match(/^Ran (\d+) tests?/m)?.[1] ?? 0);
const bad = unit.output.match(/^FAILED \((?:failures=(\d+))?(?:, )?(?:errors=(\d+))?/m);
const unitFailed = bad ? Number(bad[1] ?? 0) + Number(bad[2] ?? 0) : unit.code === 0 ? 0 : 1;
const trainSkipped = skipsOf(unit.output);
passed += ran - unitFailed - trainSkipped.length;
failed += unitFailed;

// The Hugging Face converter (models/convert): tiny random checkpoints of every family, every precision, replayed
// through onnxruntime-node.
// Without a GPU, the WebGPU test of the GPU precisions runs on lavapipe when set-up installed it (.ci/lavapipe.mjs).
const vulkan = gpuPresent() ? undefined : lavapipeEnv();
if (vulkan) console.log(`model: WebGPU on lavapipe (VK_ICD_FILENAMES=${vulkan.VK_ICD_FILENAMES})`);
const convert = await runStreaming(PY, ['-m', 'unittest', 'discover', '-s', 'tests', '-v'],
  { cwd: path.join(ROOT, 'models', 'convert'), env: { ...process.env, ...vulkan } });
const convertRan = Number(convert.output.match(/^Ran (\d+) tests?/m)?.[1] ?? 0);
const convertBad = convert.output.match(/^FAILED \((?:failures=(\d+))?(?:, )?(?:errors=(\d+))?/m);
const convertFailed = convertBad ? Number(convertBad[1] ?? 0) + Number(convertBad[2] ?? 0) : convert.code === 0 ? 0 : 1;
const convertSkipped = skipsOf(convert.output);
passed += convertRan - convertFailed - convertSkipped.length;
failed += convertFailed;

const tiny = await runStreaming(PY, ['pipeline.py', '--tiny', '--stages', 'corpus,tokenizer,prepare,train,export,parity,eval'],
  { cwd: TRAIN_DIR });
if (tiny.code === 0) passed++;
else { failed++; console.error('model: tiny end-to-end recipe run failed'); }

writeSummary('model', passed, failed, { skipped: [...trainSkipped, ...convertSkipped] });
process.exit(failed ? 1 : 0);
