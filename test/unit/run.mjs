// Unit layer: every out/test/unit/**/*.test.js (compiled from test/unit/**/*.test.ts) under node's test runner.
// No VS Code involved. Run `node esbuild.mjs --tests` first (test/run-all.mjs does).
import path from 'node:path';
import { ROOT, findFiles, runStreaming, writeSummary } from '../support/layers.mjs';

const files = findFiles(path.join(ROOT, 'out', 'test', 'unit'), '.test.js');
if (files.length === 0) {
  console.error('unit: no compiled tests in out/test/unit (run `node esbuild.mjs --tests`)');
  writeSummary('unit', 0, 1, { error: 'no tests found' });
  process.exit(1);
}
const { code, output } = await runStreaming(process.execPath,
  ['--enable-source-maps', '--test', '--test-reporter=spec', ...files.map((f) => path.relative(ROOT, f))]);
// The spec reporter ends with "ℹ pass N" / "ℹ fail N" (plus cancelled, which count as failures here).
const count = (label) => Number(output.match(new RegExp(`^\\S+ ${label} (\\d+)$`, 'm'))?.[1] ?? 0);
const passed = count('pass');
let failed = count('fail') + count('cancelled');
if (code !== 0 && failed === 0) failed = 1; // the runner itself failed
writeSummary('unit', passed, failed);
process.exit(failed ? 1 : 0);
