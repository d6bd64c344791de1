// bench-model on the bundled model with a few passes: the table's shape, and positive figures.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { BENCH_CACHE_MODES, BENCH_CANVASES, modelBenchMarkdown, passBytes, runModelBench } from '../../../src/bench/modelBench';
import { REPO_ROOT } from '../../support/repoRoot';
import { HAVE_MODEL, MODEL_DIR, NO_MODEL_REASON } from '../engine/modelFixture';

test('passBytes: ids and positions in, statistics out, K and V of the past in and of the query out', () => {
  const shape = { nLayers: 2, nKvHeads: 3, headDim: 4, topK: 4, blockSize: 32 };
  const { bytesIn, bytesOut } = passBytes(shape, 4, 10, 100, 5);
  assert.equal(bytesIn, 8 * (10 + 10 + 5) + 2 * 2 * 3 * 100 * 4 * 4);
  assert.equal(bytesOut, 5 * 4 * (8 + 4) + 5 * 4 + 2 * 2 * 3 * 10 * 4 * 4);
});

test('bench-model on the bundled model: every canvas and cache mode, positive figures', { skip: HAVE_MODEL ? false : NO_MODEL_REASON, timeout: 300_000 }, async () => {
  const contextFile = path.join(REPO_ROOT, 'src', 'engine', 'decoder.ts');
  const report = await runModelBench({
    modelDir: MODEL_DIR, executionProvider: 'cpu', contextText: fs.readFileSync(contextFile, 'utf8'),
    passes: 2, warmUp: 1, stepRequests: 1,
  });
  assert.equal(report.executionProvider, 'cpu');
  assert.deepEqual(report.rows.map((r) => `${r.canvas}/${r.cache}`),
    BENCH_CANVASES.flatMap((c) => BENCH_CACHE_MODES.map((m) => `${c}/${m}`)));
  const contextTokens = report.context.prefixTokens + report.context.suffixTokens;
  assert.ok(contextTokens >= 300 && contextTokens <= 400, `context ${contextTokens} tokens`);
  for (const r of report.rows) {
    for (const key of ['medianMs', 'p95Ms', 'runMedianMs', 'bytesIn', 'bytesOut', 'fedTokens'] as const) {
      assert.ok(r[key] > 0, `${r.canvas}/${r.cache} ${key} = ${r[key]}`);
    }
    assert.ok(r.p95Ms >= r.medianMs && r.medianMs >= r.runMedianMs, `${r.canvas}/${r.cache}`);
    assert.equal(r.fedTokens + r.pastTokens, contextTokens + r.canvas, 'every token is fed or cached');
    // On the CPU every K/V row is copied: the measured host bytes are the graph contract's.
    const contract = passBytes(report.shape, 4, r.fedTokens, r.pastTokens, Math.min(report.shape.blockSize, r.canvas));
    assert.deepEqual({ bytesIn: r.bytesIn, bytesOut: r.bytesOut }, contract, `${r.canvas}/${r.cache}`);
  }
  assert.equal(report.kvPlacement, 'host');
  const byMode = (canvas: number, cache: string) => report.rows.find((r) => r.canvas === canvas && r.cache === cache)!;
  assert.equal(byMode(128, 'none').pastTokens, 0);
  assert.equal(byMode(128, 'dual').fedTokens, report.shape.blockSize);
  assert.equal(byMode(128, 'prefix').pastTokens, report.context.prefixTokens);
  assert.ok(report.loadMs > 0 && report.peakRssMb > 0);
  const step = report.step!;
  assert.ok(report.step, 'a decode step is timed by default');
  assert.ok(step.nfe > 0 && step.decodeMs > 0 && step.runMs > 0 && step.runMs <= step.forwardMs && step.forwardMs <= step.decodeMs);
  assert.ok(step.outsideRunShare > 0 && step.outsideRunShare < 1);

  const table = modelBenchMarkdown(report).split('\n').filter((l) => l.startsWith('|'));
  assert.equal(table.length, 2 + report.rows.length, 'header, rule and one line per pass shape');
  for (const line of table) assert.equal(line.split('|').length - 2, 9, line);
});
