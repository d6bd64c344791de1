// Shared by the per-layer test runners (test/*/run.mjs) and test/run-all.mjs.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
export const RESULTS_DIR = path.join(ROOT, 'test-results');
export const SCREENSHOTS_DIR = process.env.DLLM_SCREENSHOTS ? path.resolve(process.env.DLLM_SCREENSHOTS)
  : path.join(RESULTS_DIR, 'screenshots');

/** All files under dir (recursively) whose name ends with suffix, sorted. */
export function findFiles(dir, suffix) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(suffix))
    .map((e) => path.join(e.parentPath ?? e.path, e.name))
    .sort();
}

/** Where a layer runner reports {passed, failed} for run-all (a file, so the runner's stdout stays free). */
export function summaryFile(layer) {
  return process.env.DLLM_LAYER_SUMMARY || path.join(RESULTS_DIR, `${layer}-summary.json`);
}

/**
 * extra.skipped: [{test, reason}]; extra.knownFailures: [{test, reason, outcome: 'fails' | 'now passes'}].
 * A skip is never a pass, and a known failure that still fails is neither a pass nor a failure of the run.
 */
export function writeSummary(layer, passed, failed, extra = {}) {
  const file = summaryFile(layer);
  const skipped = extra.skipped ?? [];
  const knownFailures = extra.knownFailures ?? [];
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ layer, passed, failed, ...extra, skipped, knownFailures }, null, 2));
  for (const s of skipped) console.log(`${layer}: skipped ${s.test}: ${s.reason}`);
  for (const k of knownFailures) console.log(`${layer}: known failure ${k.outcome === 'fails' ? 'still fails' : 'NOW PASSES (make it a plain test)'}: ${k.test} (${k.reason})`);
  const known = knownFailures.filter((k) => k.outcome === 'fails').length;
  console.log(`${layer}: ${passed} passed, ${failed} failed, ${skipped.length} skipped${known ? `, ${known} known failures` : ''}`);
}

/** Runs a command, streaming its output, and resolves with {code, output}. */
export function runStreaming(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let output = '';
    const onData = (stream) => (d) => { output += d; stream.write(d); };
    child.stdout.on('data', onData(process.stdout));
    child.stderr.on('data', onData(process.stderr));
    child.on('close', (code, signal) => resolve({ code: code ?? 1, signal, output }));
  });
}

export const elapsed = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
