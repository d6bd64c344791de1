import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SETTINGS } from '../../../src/config';
import { type StatusInputs, statusView } from '../../../src/completion/statusView';
import { summarize } from '../../../src/completion/sessionStats';
import { result } from './traces';

const base = (over: Partial<StatusInputs> = {}): StatusInputs => ({
  settings: { ...DEFAULT_SETTINGS, languages: ['*'] }, languageId: 'python', engineStarted: false, status: { state: 'idle' },
  activity: { running: 0 }, last: undefined, inlineSuggestEnabled: true, ...over,
});

test('idle and enabled: sparkle and "dLLM"; the tooltip says the model loads on first use', () => {
  const v = statusView(base());
  assert.equal(v.text, '$(sparkle) dLLM');
  assert.match(v.tooltip, /loads on first use/);
  assert.equal(v.error, false);
});

test('off globally or for the active language: circle-slash, and the tooltip says which', () => {
  assert.equal(statusView(base({ settings: { ...DEFAULT_SETTINGS, enable: false } })).text, '$(circle-slash) dLLM');
  const v = statusView(base({ settings: { ...DEFAULT_SETTINGS, languages: ['*', '!python'] } }));
  assert.equal(v.text, '$(circle-slash) dLLM');
  assert.match(v.tooltip, /off for python/);
});

test('decoding shows a spinner and the step; loading shows a spinner', () => {
  assert.equal(statusView(base({ activity: { running: 1, step: 7 } })).text, '$(loading~spin) dLLM step 7');
  assert.equal(statusView(base({ engineStarted: true, status: { state: 'loading' } })).text, '$(loading~spin) dLLM loading');
});

test('after a request: last latency and steps saved in the text and tooltip', () => {
  const last = summarize(result('r', 'abc', { ms: 320.7686, stepsSavedVsLladaPct: 62.4 }), 'inline', 'python', 'a.py');
  const v = statusView(base({ last, engineStarted: true, status: { state: 'ready', modelName: 'dllm-code-small', executionProvider: 'cpu' } }));
  assert.equal(v.text, '$(sparkle) dLLM 321 ms · −62%');
  assert.match(v.tooltip, /dllm-code-small/);
  assert.match(v.tooltip, /Execution provider: cpu/);
  assert.match(v.tooltip, /62.4% fewer steps than llada/);
});

test('errors are visible: error icon, error flag, message in the tooltip', () => {
  const v = statusView(base({ engineStarted: true, status: { state: 'error', error: 'Model folder not found: /x', errorCode: 'MODEL_MISSING' } }));
  assert.equal(v.text, '$(error) dLLM');
  assert.equal(v.error, true);
  assert.match(v.tooltip, /Model folder not found/);
});

test('warnings: provider fallback and VS Code ghost text switched off', () => {
  const v = statusView(base({ engineStarted: true, status: { state: 'ready', executionProvider: 'cpu', requestedExecutionProvider: 'cuda', fallbackReason: 'CUDA not available' } }));
  assert.equal(v.warning, true);
  assert.match(v.tooltip, /asked for cuda/);
  assert.match(statusView(base({ inlineSuggestEnabled: false })).tooltip, /inlineSuggest.enabled/);
});
