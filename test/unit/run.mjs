// Unit layer: every out/test/unit/**/*.test.js (compiled from test/unit/**/*.test.ts) under node's test runner.
// No VS Code involved. Run `node esbuild.mjs --tests` first (test/run-all.mjs does).
import fs from 'node:fs';
import path from 'node:path';
import { gpuPresent, lavapipeEnv } from '../../.ci/lavapipe.mjs';
import { RESULTS_DIR, ROOT, findFiles, runStreaming, writeSummary } from '../support/layers.mjs';
import { countTap, tapReporterArgs } from '../support/nodeTestCounts.mjs';

const files = findFiles(path.join(ROOT, 'out', 'test', 'unit'), '.test.js');
if (files.length === 0) {
  console.error('unit: no compiled tests in out/test/unit (run `node esbuild.mjs --tests`)');
  writeSummary('unit', 0, 1, { error: 'no tests found' });
  process.exit(1);
}
const tapFile = path.join(RESULTS_DIR, `unit-${process.pid}.tap`);
fs.mkdirSync(RESULTS_DIR, { recursive: true });
// Without a GPU, the WebGPU tests run on lavapipe when set-up installed it (.ci/lavapipe.mjs).
const vulkan = gpuPresent() ? undefined : lavapipeEnv();
if (vulkan) console.log(`unit: WebGPU on lavapipe (VK_ICD_FILENAMES=${vulkan.VK_ICD_FILENAMES})`);
const { code } = await runStreaming(process.execPath,
  ['--enable-source-maps', '--test', ...tapReporterArgs(tapFile), ...files.map((f) => path.relative(ROOT, f))],
  { env: { ...process.env, ...vulkan } });
const counts = countTap(tapFile);
fs.rmSync(tapFile, { force: true });
let { passed, failed } = counts;
if (code !== 0 && failed === 0) failed = 1; // the runner itself failed
if (!counts.found || passed + failed + counts.skipped.length === 0) failed = Math.max(failed, 1); // nothing ran
writeSummary('unit', passed, failed, { skipped: counts.skipped, knownFailures: counts.knownFailures });
process.exit(failed ? 1 : 0);
