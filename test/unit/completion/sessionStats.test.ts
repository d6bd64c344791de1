import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SessionStats, summarize } from '../../../src/completion/sessionStats';
import { result } from './traces';

test('summarize keeps metrics, the commit chart and a token map with rule and step', () => {
  const s = summarize(result('r1', 'abc', { fastDllmNfe: 8, stepsSavedVsFastDllmPct: 37.5 }), 'inline', 'python', 'a.py', 1000);
  assert.equal(s.steps, 5);
  assert.equal(s.lladaSteps, 20);
  assert.equal(s.fastDllmSteps, 8);
  assert.equal(s.savedVsLladaPct, 75);
  assert.deepEqual(s.commitsPerStep, [2, 2, 1]);
  assert.deepEqual(s.tokenMap.map((c) => [c.text, c.step, c.rule]), [['a', 1, 'temporal'], ['b', 1, 'threshold'], ['c', 2, 'temporal']]);
});

test('session totals: steps saved are aggregated over steps, not averaged over requests', () => {
  const stats = new SessionStats();
  stats.add(summarize(result('a', 'xx', { nfe: 10, lladaNfe: 20 }), 'inline', 'ts', 'a.ts'));
  stats.add(summarize(result('b', 'yy', { nfe: 10, lladaNfe: 80, fastDllmNfe: 20 }), 'fill', 'ts', 'a.ts'));
  const t = stats.session;
  assert.equal(t.requests, 2);
  assert.equal(t.inline, 1);
  assert.equal(t.fill, 1);
  assert.equal(t.savedVsLladaPct, 80); // 1 − 20/100
  assert.equal(t.savedVsFastDllmPct, 50); // only b measured: 1 − 10/20
  assert.equal(t.fastDllmMeasured, 1);
  assert.equal(t.tokensPerStep, 0.2);
  assert.equal(t.ruleCounts.temporal, 2);
  assert.equal(stats.last?.id, 'b');
});

test('cancelled requests are counted but left out of the averages and of "last"', () => {
  const stats = new SessionStats();
  stats.add(summarize(result('a', 'xx'), 'inline', 'ts', 'a.ts'));
  stats.add(summarize(result('b', 'y', { nfe: 99 }, true), 'inline', 'ts', 'a.ts'));
  assert.equal(stats.session.cancelled, 1);
  assert.equal(stats.session.steps, 5);
  assert.equal(stats.last?.id, 'a');
  assert.equal(stats.history.length, 2);
});

test('history is bounded, newest first; clear() resets and notifies', () => {
  const stats = new SessionStats(3);
  let changes = 0;
  stats.onDidChange(() => changes++);
  for (const id of ['1', '2', '3', '4']) stats.add(summarize(result(id, 'x'), 'inline', 'ts', 'a.ts'));
  assert.deepEqual(stats.history.map((h) => h.id), ['4', '3', '2']);
  stats.clear();
  assert.equal(stats.session.requests, 0);
  assert.equal(stats.last, undefined);
  assert.equal(changes, 5);
});

test('baselines measured afterwards update the request and the session totals', () => {
  const stats = new SessionStats();
  stats.add(summarize(result('a', 'xx', { nfe: 10, lladaNfe: 48 }), 'inline', 'ts', 'a.ts'));
  stats.add(summarize(result('b', 'yy', { nfe: 10, lladaNfe: 48 }), 'inline', 'ts', 'a.ts'));
  stats.updateBaselines('a', 40, 20);
  const a = stats.history.find((h) => h.id === 'a')!;
  assert.deepEqual([a.lladaSteps, a.fastDllmSteps, a.savedVsLladaPct, a.savedVsFastDllmPct], [40, 20, 75, 50]);
  assert.equal(stats.session.lladaSteps, 88);
  assert.equal(stats.session.savedVsFastDllmPct, 50);
  stats.updateBaselines('a', 40, 40); // measured again: replaces, does not double count
  assert.equal(stats.session.savedVsFastDllmPct, 75);
  assert.equal(stats.session.fastDllmMeasured, 1);
  stats.updateBaselines('unknown', 1, 1);
  assert.equal(stats.session.lladaSteps, 88);
});

test('the token map is in canvas order, whatever order the tokens were committed in', () => {
  const r = result('r', 'abc');
  r.trace = [{ index: 2, text: 'c', step: 1, rule: 'threshold', confidence: 1 }, { index: 0, text: 'a', step: 2, rule: 'temporal', confidence: 1 },
    { index: 1, text: 'b', step: 3, rule: 'threshold', confidence: 1 }];
  assert.deepEqual(summarize(r, 'fill', 'py', 'a.py').tokenMap.map((c) => c.text).join(''), 'abc');
});

test('Fill All: the summary keeps each region\'s token map and steps; the sequential cost arrives later', () => {
  const base = result('f', '', { nfe: 6 });
  const hole = (text: string, steps: number) => ({
    text, tokenIds: [], canvasLength: 8, steps, doneAtStep: steps, group: 0, stopReason: 'complete' as const,
    trace: [...text].map((ch, index) => ({ index, text: ch, step: index + 1, rule: 'threshold' as const, confidence: 0.9 })),
  });
  const fill = { mode: 'joint' as const, holes: [hole('ab', 2), hole('xyz', 6)], groups: 1, nfe: 6, ms: 50, fullPasses: 1,
    queryTokens: 100, commitsPerStep: [2, 2, 1, 1, 1, 1] };
  const s = summarize({ ...base, fill }, 'fill', 'python', 'a.py');
  assert.deepEqual(s.fillAll?.regions.map((r) => [r.text, r.steps, r.tokenMap.map((c) => c.text).join('')]), [['ab', 2, 'ab'], ['xyz', 6, 'xyz']]);
  assert.equal(s.tokenMap.length, 5, 'the overall map holds every region\'s tokens');
  const stats = new SessionStats();
  stats.add(s);
  let changes = 0;
  stats.onDidChange(() => changes++);
  stats.updateSequential('f', 11, 80);
  assert.equal(stats.last?.fillAll?.sequentialSteps, 11);
  assert.equal(stats.last?.fillAll?.sequentialMs, 80);
  assert.equal(changes, 1);
  stats.updateSequential('not-there', 3, 3);
  assert.equal(changes, 1);
});

test('noteGate records the confidence and why an inline answer was held back, and tells the panel', () => {
  const stats = new SessionStats();
  stats.add(summarize(result('g', 'x = 1'), 'inline', 'python', 'a.py'));
  let changes = 0;
  stats.onDidChange(() => changes++);
  stats.noteGate('g', 0.31, 'confidence 0.31 is below dllm.minConfidence 0.5');
  assert.equal(stats.last?.confidence, 0.31);
  assert.match(stats.last?.heldBackReason ?? '', /below dllm\.minConfidence/);
  stats.noteGate('g', 0.31, undefined); // shown after all (explicit trigger)
  assert.equal(stats.last?.heldBackReason, undefined);
  assert.equal(changes, 2);
});
