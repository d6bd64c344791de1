import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readManifest } from '../../support/repoRoot';

const bindings: Array<{ command: string; key: string; mac?: string; when?: string }> = readManifest().contributes.keybindings;
const find = (command: string) => bindings.find((b) => b.command === command);

test('Ctrl+Right (Cmd+Right) accepts the next word of a visible suggestion, only with the cursor before the ghost text', () => {
  const b = find('editor.action.inlineSuggest.acceptNextWord');
  assert.ok(b);
  assert.equal(b.key, 'ctrl+right');
  assert.equal(b.mac, 'cmd+right');
  assert.match(b.when ?? '', /inlineSuggestionVisible/);
  assert.match(b.when ?? '', /cursorBeforeGhostText/);
});

test('Shift+Tab accepts the next line of a visible suggestion (not while the suggest widget is open)', () => {
  const b = find('editor.action.inlineSuggest.acceptNextLine');
  assert.ok(b);
  assert.equal(b.key, 'shift+tab');
  assert.match(b.when ?? '', /inlineSuggestionVisible/);
  assert.match(b.when ?? '', /!suggestWidgetVisible/);
});

test('Escape stops a running inline decode only while its ghost text shows, and never during a fill', () => {
  const b = find('dllm.dismissInline');
  assert.ok(b);
  assert.equal(b.key, 'escape');
  assert.match(b.when ?? '', /inlineSuggestionVisible && dllm\.inlineDecoding/);
  assert.match(b.when ?? '', /!dllm\.fillActive/);
});
