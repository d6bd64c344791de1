import assert from 'node:assert/strict';
import { test } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { COMMANDS, FILL_ACTIVE_CONTEXT } from '../../src/commandIds';
import { REPO_ROOT, readManifest } from '../support/repoRoot';

const manifest = readManifest();

test('manifest is a VS Code extension bundled into dist/', () => {
  assert.equal(manifest.main, './dist/extension.js');
  assert.match(manifest.engines.vscode, /^\^1\.\d+\.\d+$/);
  assert.ok(manifest.activationEvents.includes('onStartupFinished'));
  assert.ok(!manifest.activationEvents.includes('*'), 'no eager "*" activation');
});

test('contributes the four dLLM commands with their exact titles', () => {
  const titles = Object.fromEntries(manifest.contributes.commands.map((c: any) => [c.command, c.title]));
  assert.equal(titles['dllm.fillBlock'], 'dLLM: Fill Block');
  assert.equal(titles['dllm.showStats'], 'dLLM: Show Decoding Stats');
  assert.equal(titles['dllm.toggle'], 'dLLM: Toggle Inline Completions');
  assert.equal(titles['dllm.triggerCompletion'], 'dLLM: Trigger Completion');
});

test('contributed commands and COMMANDS ids are the same set', () => {
  const contributed = manifest.contributes.commands.map((c: any) => c.command).sort();
  assert.deepEqual(contributed, Object.values(COMMANDS).sort());
});

test('keybindings: trigger, fill block, and Escape cancels a running fill', () => {
  const kb = (command: string) => manifest.contributes.keybindings.find((k: any) => k.command === command);
  assert.equal(kb(COMMANDS.triggerCompletion).key, 'alt+\\');
  assert.equal(kb(COMMANDS.fillBlock).key, 'ctrl+alt+f');
  assert.equal(kb(COMMANDS.fillBlock).mac, 'cmd+alt+f');
  assert.match(kb(COMMANDS.fillBlock).when, /editorTextFocus/);
  assert.equal(kb(COMMANDS.cancelFill).key, 'escape');
  assert.equal(kb(COMMANDS.cancelFill).when, FILL_ACTIVE_CONTEXT);
});

test('Fill Block is in the editor context menu only when text is selected', () => {
  const entries = manifest.contributes.menus['editor/context'].filter((m: any) => m.command === COMMANDS.fillBlock);
  assert.equal(entries.length, 1);
  assert.equal(entries[0].when, 'editorHasSelection');
});

test('dependencies: onnxruntime-node ships unbundled, its CUDA download is skipped by .npmrc', () => {
  assert.ok(manifest.dependencies['onnxruntime-node']);
  const npmrc = fs.readFileSync(path.join(REPO_ROOT, '.npmrc'), 'utf8');
  assert.match(npmrc, /^onnxruntime-node-install=skip$/m);
});

test('.vscodeignore keeps sources, tests and training code out of the VSIX', () => {
  const lines = fs.readFileSync(path.join(REPO_ROOT, '.vscodeignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const pattern of ['src/**', 'test/**', 'out/**', 'models/train/**', '**/*.map']) {
    assert.ok(lines.includes(pattern), `.vscodeignore lacks ${pattern}`);
  }
  assert.ok(!lines.some((l) => l.startsWith('!')), 'no negated patterns: vsce lets them win over every exclusion');
});
