// `npm test`: builds, then runs the layers in order (a failed layer does not stop the next one):
//   unit         node:test, no VS Code                        test/unit/**/*.test.ts
//   integration  mocha inside a real VS Code extension host   test/integration/**/*.test.ts
//   e2e          Playwright + Chromium against code-server    test/e2e/**/*.test.ts
//   model        the training recipe: Python tests + a tiny corpus→train→export→parity run   models/train/tests
//   stress       load, faults, bad input, data safety, security, with figures   test/stress (README "Reliability")
// First installs what the chosen layers need (.ci/setup.mjs). `node test/run-all.mjs unit e2e` runs only the named layers. Prints "N passed, N failed" per layer and overall.
import fs from 'node:fs';
import path from 'node:path';
import { SetupError, needsOfLayers, setup } from '../.ci/setup.mjs';
import { ROOT, SCREENSHOTS_DIR, elapsed, runStreaming } from './support/layers.mjs';

const LAYERS = ['unit', 'integration', 'e2e', 'model', 'stress'];
const wanted = process.argv.slice(2);
const unknown = wanted.filter((l) => !LAYERS.includes(l));
if (unknown.length) {
  console.error(`unknown layer(s) ${unknown.join(', ')}; known: ${LAYERS.join(', ')}`);
  process.exit(2);
}
const layers = wanted.length ? LAYERS.filter((l) => wanted.includes(l)) : LAYERS;
const t0 = Date.now();

// What the layers need outside node_modules (code-server, Chromium, torch), installed once (.ci/setup.mjs).
try {
  await setup(needsOfLayers(layers));
} catch (e) {
  if (!(e instanceof SetupError)) throw e;
  console.error(`\nset-up failed, no tests ran:\n${e.message}`);
  process.exit(1);
}

async function build() {
  for (const args of [['esbuild.mjs'], ['esbuild.mjs', '--tests']]) {
    const { code } = await runStreaming(process.execPath, args);
    if (code !== 0) return false;
  }
  return true;
}

async function runLayer(layer) {
  const summary = path.join(ROOT, 'test-results', `${layer}-summary.json`);
  fs.rmSync(summary, { force: true });
  const started = Date.now();
  console.log(`\n=== ${layer} ===`);
  const { code } = await runStreaming(process.execPath, [path.join('test', layer, 'run.mjs')],
    { env: { ...process.env, DLLM_LAYER_SUMMARY: summary } });
  const result = fs.existsSync(summary) ? JSON.parse(fs.readFileSync(summary, 'utf8'))
    : { passed: 0, failed: 1, problems: [`${layer} wrote no summary (it crashed or was killed)`] };
  if (code !== 0 && result.failed === 0) result.failed = 1; // crashed after reporting
  return {
    layer, passed: result.passed, failed: result.failed, skipped: result.skipped ?? [], knownFailures: result.knownFailures ?? [],
    problems: result.problems ?? [], time: elapsed(started),
  };
}

// Screenshots of an earlier run would be mistaken for this run's.
if (fs.existsSync(SCREENSHOTS_DIR) && (layers.includes('e2e') || layers.includes('integration'))) {
  for (const f of fs.readdirSync(SCREENSHOTS_DIR)) if (f.endsWith('.png')) fs.rmSync(path.join(SCREENSHOTS_DIR, f));
}

const results = [];
if (!(await build())) {
  results.push({ layer: 'build', passed: 0, failed: 1, skipped: [], knownFailures: [], problems: ['the build failed'], time: elapsed(t0) });
} else {
  for (const layer of layers) results.push(await runLayer(layer));
}

// The last line is the plain `N passed, N failed, N skipped`; skips and known failures are listed above it.
const stillFailing = (r) => r.knownFailures.filter((k) => k.outcome === 'fails');
console.log('\n=== summary ===');
for (const r of results) {
  const known = stillFailing(r).length;
  console.log(`${(r.layer + ':').padEnd(13)} ${r.passed} passed, ${r.failed} failed, ${r.skipped.length} skipped` +
    `${known ? `, ${known} known failures` : ''}  (${r.time})`);
  for (const p of r.problems) console.log(`${''.padEnd(13)} ${p}`);
}
if (layers.includes('e2e') || layers.includes('integration')) console.log(`screenshots:  ${SCREENSHOTS_DIR}`);
console.log(`total time:   ${elapsed(t0)}`);
const skips = results.flatMap((r) => r.skipped.map((s) => `${r.layer}: ${s.test} (${s.reason})`));
const known = results.flatMap((r) => stillFailing(r).map((k) => `${r.layer}: ${k.test} (${k.reason})`));
const nowPassing = results.flatMap((r) => r.knownFailures.filter((k) => k.outcome === 'now passes').map((k) => `${r.layer}: ${k.test}`));
console.log(`skipped (${skips.length}):${skips.length ? '\n  ' + skips.join('\n  ') : ' none'}`);
console.log(`known failures, not counted as passed or failed (${known.length}):${known.length ? '\n  ' + known.join('\n  ') : ' none'}`);
if (nowPassing.length) console.log(`known failures that now pass (make them plain tests):\n  ${nowPassing.join('\n  ')}`);
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log(`${passed} passed, ${failed} failed, ${skips.length} skipped`);
process.exit(failed ? 1 : 0);
