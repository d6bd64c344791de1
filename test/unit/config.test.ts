import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMPLETION_MODES, DEFAULT_SETTINGS, SETTING_KEYS, isLanguageEnabled, readSettings, readSettingsDetailed } from '../../src/config';
import { EXECUTION_PROVIDERS, POLICY_NAMES } from '../../src/engine/protocol';
import { readManifest } from '../support/repoRoot';

const properties: Record<string, any> = readManifest().contributes.configuration.properties;

test('package.json declares exactly the settings of DEFAULT_SETTINGS', () => {
  assert.deepEqual(Object.keys(properties).sort(), SETTING_KEYS.map((k) => `dllm.${k}`).sort());
});

test('package.json defaults equal DEFAULT_SETTINGS', () => {
  for (const key of SETTING_KEYS) {
    assert.deepEqual(properties[`dllm.${key}`].default, DEFAULT_SETTINGS[key], `default of dllm.${key}`);
  }
});

test('every setting has a markdownDescription and a type matching its default', () => {
  for (const key of SETTING_KEYS) {
    const p = properties[`dllm.${key}`];
    assert.ok(typeof p.markdownDescription === 'string' && p.markdownDescription.length > 20, `dllm.${key} description`);
    const value = DEFAULT_SETTINGS[key];
    const expected = Array.isArray(value) ? 'array' : typeof value === 'number' ? ['number', 'integer'] : typeof value;
    assert.ok([expected].flat().includes(p.type), `dllm.${key} has type ${p.type}, default is ${expected}`);
  }
});

test('enum settings list exactly the values the code accepts', () => {
  assert.deepEqual(properties['dllm.policy'].enum, [...POLICY_NAMES]);
  assert.deepEqual(properties['dllm.executionProvider'].enum, [...EXECUTION_PROVIDERS]);
  assert.deepEqual(properties['dllm.completionMode'].enum, [...COMPLETION_MODES]);
  for (const key of ['dllm.policy', 'dllm.executionProvider', 'dllm.completionMode']) {
    assert.equal(properties[key].enumDescriptions?.length, properties[key].enum.length, `${key} enumDescriptions`);
  }
});

test('dllm.modelPath is machine-scoped so a workspace cannot point it at another model', () => {
  assert.equal(properties['dllm.modelPath'].scope, 'machine');
});

test('readSettings returns the defaults when nothing is configured', () => {
  assert.deepEqual(readSettings(() => undefined), DEFAULT_SETTINGS);
});

test('readSettings keeps valid values and replaces invalid ones by defaults', () => {
  const configured: Record<string, unknown> = {
    policy: 'fast-dllm', threshold: 0.75, maxNewTokens: 64, languages: ['python'],
    executionProvider: 'quantum', temporalSteps: 2.5, debounceMs: -1, enable: 'yes',
  };
  const { settings, invalid } = readSettingsDetailed((key) => configured[key]);
  assert.equal(settings.policy, 'fast-dllm');
  assert.equal(settings.threshold, 0.75);
  assert.equal(settings.maxNewTokens, 64);
  assert.deepEqual(settings.languages, ['python']);
  assert.equal(settings.executionProvider, DEFAULT_SETTINGS.executionProvider);
  assert.equal(settings.temporalSteps, DEFAULT_SETTINGS.temporalSteps);
  assert.equal(settings.debounceMs, DEFAULT_SETTINGS.debounceMs);
  assert.equal(settings.enable, DEFAULT_SETTINGS.enable);
  assert.deepEqual(invalid.sort(), ['debounceMs', 'enable', 'executionProvider', 'temporalSteps']);
});

test('readSettings never shares arrays with DEFAULT_SETTINGS', () => {
  const s = readSettings(() => undefined);
  s.languages.push('rust');
  assert.deepEqual(DEFAULT_SETTINGS.languages, ['*']);
});

test('isLanguageEnabled honours enable, "*" and explicit language lists', () => {
  assert.equal(isLanguageEnabled({ enable: true, languages: ['*'] }, 'go'), true);
  assert.equal(isLanguageEnabled({ enable: true, languages: ['python'] }, 'go'), false);
  assert.equal(isLanguageEnabled({ enable: true, languages: ['python'] }, 'python'), true);
  assert.equal(isLanguageEnabled({ enable: false, languages: ['*'] }, 'python'), false);
});
