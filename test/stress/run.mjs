// Stress layer (`npm run test:stress`; also part of `npm test`): reliability and security under load, faults and bad
// input, with figures. Three parts, each a set of test files (add tests by adding files):
//   engine     node:test on the real worker and model, under a network guard (--require noNetwork) and --expose-gc:
//              out/test/stress/engine/*.test.js (soak, faults, bad model files and text, no network)
//   editor     mocha in code-server's extension host, Chromium on the page for real keystrokes:
//              out/test/stress/extension/*.test.js except untrusted.test.js
//   untrusted  the same with workspace trust on and the folder not trusted: untrusted.test.js
// DLLM_STRESS_PARTS=engine,editor picks parts. Every test records figures (test/stress/support/figures.ts); this runner
// writes test-results/stress-figures.json and .md and prints the table (the README's "## Reliability" section;
// DLLM_STRESS_README=1 writes it there).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RESULTS_DIR, ROOT, elapsed, findFiles, runStreaming, writeSummary } from '../support/layers.mjs';
import { countTap, tapReporterArgs } from '../support/nodeTestCounts.mjs';
import { runExtensionHostSuite } from './extensionHost.mjs';

const ALL_PARTS = ['engine', 'editor', 'untrusted'];
const parts = (process.env.DLLM_STRESS_PARTS || ALL_PARTS.join(',')).split(',').filter((p) => ALL_PARTS.includes(p));
// Per run, so that two runs in one working tree do not mix their rows.
const FIGURES = path.join(RESULTS_DIR, `stress-figures-${process.pid}.jsonl`);
const NETWORK_LOG = path.join(RESULTS_DIR, `stress-network-${process.pid}.jsonl`);
const OUT = path.join(ROOT, 'out', 'test', 'stress');
/** support/noNetwork.ts's self-test targets (network.test.ts). */
const SELF_TEST_TARGETS = ['192.0.2.1:9', 'example.com', 'https://example.com/'];
const t0 = Date.now();
const load = os.loadavg();
fs.mkdirSync(RESULTS_DIR, { recursive: true });
for (const f of [FIGURES, NETWORK_LOG]) fs.rmSync(f, { force: true });
const env = { ...process.env, DLLM_STRESS_FIGURES: FIGURES, DLLM_NETWORK_LOG: NETWORK_LOG };
// One test file at a time (the soak's figures would suffer otherwise); the flag exists from Node 20.10.
const [major, minor] = process.versions.node.split('.').map(Number);
const testConcurrencyFlag = major > 20 || (major === 20 && minor >= 10);

async function engineTests() {
  const files = findFiles(path.join(OUT, 'engine'), '.test.js');
  if (files.length === 0) return { passed: 0, failed: 1, note: 'no compiled tests in out/test/stress/engine (run `node esbuild.mjs --tests`)' };
  const guard = path.join(OUT, 'support', 'noNetwork.js');
  // --min-semi-space-size: V8's young generation at full size from the start, as in a busy extension host, so that
  // the soak's memory figures show our growth rather than V8 sizing itself.
  const tapFile = path.join(RESULTS_DIR, `stress-engine-${process.pid}.tap`);
  const { code } = await runStreaming(process.execPath, ['--expose-gc', '--min-semi-space-size=16', '--require', guard, '--enable-source-maps',
    '--test', ...(testConcurrencyFlag ? ['--test-concurrency=1'] : []), '--test-timeout=900000', ...tapReporterArgs(tapFile), ...files.map((f) => path.relative(ROOT, f))], { env });
  const counts = countTap(tapFile);
  fs.rmSync(tapFile, { force: true });
  const { passed } = counts;
  let { failed } = counts;
  if (code !== 0 && failed === 0) failed = 1;
  if (!counts.found) failed = Math.max(failed, 1);
  // Every engine process ran under the guard; only network.test.js's self-test may appear in its log.
  const attempts = fs.existsSync(NETWORK_LOG)
    ? fs.readFileSync(NETWORK_LOG, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  const violations = attempts.filter((a) => !SELF_TEST_TARGETS.includes(a.target));
  for (const v of violations) console.log(`network attempt: pid ${v.pid} ${v.kind} ${v.target}\n${v.stack}`);
  const holds = violations.length === 0 && attempts.length > 0;
  fs.appendFileSync(FIGURES, JSON.stringify({
    area: 'Security', check: 'network attempts (TCP/UDP/DNS/fetch) by the engine tests\' processes and their worker processes (JS guard)',
    figure: `${violations.length} in ${new Set(attempts.map((a) => a.pid)).size} guarded process(es) (the guard's self-test was blocked: ${attempts.length - violations.length})`,
    bound: '0', holds,
  }) + '\n');
  // The run-wide network check is no test of its own: a violation fails the part, a clean run adds no pass.
  if (!holds) console.error(`stress engine: the network guard ${attempts.length === 0 ? 'recorded nothing (was it loaded?)' : `saw ${violations.length} attempt(s)`}`);
  return { passed, failed: failed + (holds ? 0 : 1), skipped: counts.skipped, knownFailures: counts.knownFailures };
}

const results = [];
for (const part of parts) {
  const started = Date.now();
  console.log(`\n--- stress: ${part} ---`);
  let r;
  try {
    r = part === 'engine' ? await engineTests() : await runExtensionHostSuite({ suite: part, env: { DLLM_STRESS_FIGURES: FIGURES } });
  } catch (e) {
    console.error(`stress ${part}: ${e.stack ?? e}`);
    r = { passed: 0, failed: 1 };
  }
  results.push({ skipped: [], knownFailures: [], ...r, part, time: elapsed(started) });
}

// Figures: JSON for tools, markdown for the README.
const rows = fs.existsSync(FIGURES)
  ? fs.readFileSync(FIGURES, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
const cpus = os.cpus();
const machine = `${cpus.length} × ${cpus[0]?.model ?? 'CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ` +
  `${os.type()} ${os.release()}, Node ${process.versions.node}; load average ${load.map((l) => l.toFixed(1)).join(' / ')} at the start`;
const ORDER = ['Typing load', 'Soak', 'Faults', 'Bad input', 'Data safety', 'Security'];
rows.sort((a, b) => (ORDER.indexOf(a.area) + 1 || 99) - (ORDER.indexOf(b.area) + 1 || 99));
const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const table = [
  '| Area | Check | Figure | Bound | Holds |',
  '| --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${cell(r.area)} | ${cell(r.check)} | ${cell(r.figure)} | ${cell(r.bound)} | ${r.holds ? 'yes' : '**no**'} |`),
].join('\n');
const measured = `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine}.`;
fs.writeFileSync(path.join(RESULTS_DIR, 'stress-figures.json'), JSON.stringify({ measured: new Date().toISOString(), machine, parts: results, rows }, null, 2));
fs.writeFileSync(path.join(RESULTS_DIR, 'stress-figures.md'), `${measured}\n\n${table}\n`);
for (const f of [FIGURES, NETWORK_LOG]) fs.rmSync(f, { force: true });
// DLLM_STRESS_README=1: put this run's table into README.md, between the stress-figures markers.
if (process.env.DLLM_STRESS_README) {
  const readme = path.join(ROOT, 'README.md');
  const text = fs.readFileSync(readme, 'utf8');
  const re = /(<!-- stress-figures:start -->\n)[\s\S]*?(\n<!-- stress-figures:end -->)/;
  if (re.test(text)) fs.writeFileSync(readme, text.replace(re, `$1${measured}\n\n${table}$2`));
  else console.log('README.md has no stress-figures markers; not updated');
}
console.log(`\n=== stress figures (test-results/stress-figures.md) ===\n${measured}\n\n${table}\n`);
for (const r of results) console.log(`stress ${r.part.padEnd(10)} ${r.passed} passed, ${r.failed} failed, ${r.skipped.length} skipped  (${r.time})${r.note ? `  ${r.note}` : ''}`);
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log(`stress total time: ${elapsed(t0)}`);
writeSummary('stress', passed, failed, {
  skipped: results.flatMap((r) => r.skipped.map((s) => ({ ...s, test: `${r.part}: ${s.test}` }))),
  knownFailures: results.flatMap((r) => r.knownFailures.map((k) => ({ ...k, test: `${r.part}: ${k.test}` }))),
  problems: results.flatMap((r) => (r.problems ?? []).map((p) => `${r.part}: ${p}`)),
});
process.exit(failed ? 1 : 0);
