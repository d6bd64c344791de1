import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { describeModelFolder, formatCount, modelPickItems, whereItRuns } from '../../../src/completion/modelChoices';
import { statusView } from '../../../src/completion/statusView';
import { DEFAULT_SETTINGS } from '../../../src/config';
import { REPO_ROOT } from '../../support/repoRoot';
import { writeTinyModelDir } from '../../support/tinyDllm';

const BUNDLED = path.join(REPO_ROOT, 'models', 'dllm-code-small');

test('Select Model rows: name, family, size, precision, attention, where it runs and the folder', () => {
  const { dir } = writeTinyModelDir(path.join(BUNDLED, 'tokenizer.json'), { attention: 'block-causal', kvDtype: 'float16' });
  const missing = path.join(os.tmpdir(), 'no-such-model-folder');
  const choices = [describeModelFolder(BUNDLED, true), describeModelFolder(dir), describeModelFolder(missing)];
  const items = modelPickItems(choices, dir, 'auto', { dir, executionProvider: 'cpu' });
  assert.match(items[0].label, /dllm-code-small/);
  assert.equal(items[0].description, 'bundled');
  assert.match(items[0].detail, /int8/);
  assert.match(items[0].detail, /runs on CUDA or DirectML when available, else the CPU/);
  assert.equal(items[1].current, true);
  assert.match(items[1].description, /current/);
  assert.match(items[1].detail, /^tiny-test · 200K parameters · fp16 · block-causal · \d+ MiB — runs on cpu — /);
  assert.ok(items[1].detail.endsWith(dir));
  assert.match(items[2].label, /warning/);
  assert.match(items[2].detail, /cannot be used: no model.onnx/);
  const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'dllm-broken-'));
  fs.writeFileSync(path.join(broken, 'model.onnx'), 'x');
  fs.writeFileSync(path.join(broken, 'config.json'), '{');
  assert.match(describeModelFolder(broken).problem ?? '', /not valid JSON/);
  fs.rmSync(broken, { recursive: true, force: true });
});

test('sizes and providers read naturally', () => {
  assert.equal(formatCount(6_800_000), '6.8M');
  assert.equal(formatCount(494_000_000), '494M');
  assert.equal(formatCount(1_700_000_000), '1.7B');
  assert.equal(whereItRuns('cuda'), 'runs on cuda');
  assert.equal(whereItRuns('auto', 'cuda'), 'runs on cuda');
});

test('the status bar tooltip names the model in use with its family, size and precision', () => {
  const base = {
    settings: { ...DEFAULT_SETTINGS, languages: ['*'], models: [] }, languageId: 'python', engineStarted: true,
    activity: { running: 0 }, last: undefined, inlineSuggestEnabled: true,
  };
  const loaded = statusView({ ...base, status: { state: 'ready', modelName: 'sdar-1.7b-int4', modelFamily: 'sdar', modelParams: 1.7e9, modelPrecision: 'int4', executionProvider: 'cuda' } });
  assert.match(loaded.tooltip, /Model: \*\*sdar-1\.7b-int4\*\* \(sdar, 1\.7B, int4\) \(ready\)/);
  const before = statusView({ ...base, engineStarted: false, status: { state: 'idle' }, configuredModel: 'open-dcoder-0.5b-int8' });
  assert.match(before.tooltip, /Model: open-dcoder-0\.5b-int8, loads on first use/);
});
