// Every CLI command that loads a model says, once, on stderr, which execution provider ran it and why it fell back.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { executionProviderLine } from '../../../src/engine/session';
import { REPO_ROOT } from '../../support/repoRoot';
import { HAVE_MODEL, MODEL_DIR, NO_MODEL_REASON, SAMPLE } from './modelFixture';

// The CLI transpiled with the tests (dist/cli.js may be an older build).
const CLI = path.join(REPO_ROOT, 'out', 'src', 'cli.js');

test('executionProviderLine: the provider, and the reason when it is not the one asked for', () => {
  assert.equal(executionProviderLine('cpu', { executionProvider: 'cpu' }), 'execution provider: cpu');
  assert.equal(executionProviderLine('auto', { executionProvider: 'cpu' }), 'execution provider: cpu (asked for auto)');
  assert.equal(executionProviderLine('webgpu', { executionProvider: 'cpu', fallbackReason: 'no WebGPU adapter on this machine; using the CPU' }),
    'execution provider: cpu (asked for webgpu: no WebGPU adapter on this machine)');
});

function infill(ep: string, env: NodeJS.ProcessEnv = process.env): { status: number | null; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dllm-ep-'));
  try {
    const tasks = path.join(dir, 'tasks.jsonl');
    fs.writeFileSync(tasks, `${JSON.stringify({ task_id: 't1', ...SAMPLE })}\n`);
    const r = spawnSync(process.execPath, [CLI, 'infill', '--tasks', tasks, '--out', path.join(dir, 'out.jsonl'),
      '--model', MODEL_DIR, '--ep', ep, '--max-new-tokens', '8'], { encoding: 'utf8', timeout: 120_000, env });
    return { status: r.status, stderr: r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const providerLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('execution provider:'));

// No Vulkan driver at all (an ICD list naming no file) is a machine without a WebGPU adapter, GPU or not.
const NO_VULKAN = { ...process.env, VK_ICD_FILENAMES: path.join(os.tmpdir(), 'dllm-no-vulkan-driver.json') };

test('cli infill --ep webgpu without a WebGPU adapter says it ran on the CPU and why', { skip: HAVE_MODEL ? false : NO_MODEL_REASON }, () => {
  const { status, stderr } = infill('webgpu', NO_VULKAN);
  assert.equal(status, 0, stderr);
  const lines = providerLines(stderr);
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0], /^execution provider: cpu \(asked for webgpu: .+\)$/);
  assert.match(lines[0], /WebGPU adapter|not part of this onnxruntime-node build/);
});

test('cli infill --ep webgpu with a WebGPU adapter (a GPU, or lavapipe from npm test) runs there and says so', async (t) => {
  if (!HAVE_MODEL) return t.skip(NO_MODEL_REASON);
  const { status, stderr } = infill('webgpu');
  assert.equal(status, 0, stderr);
  const lines = providerLines(stderr);
  assert.equal(lines.length, 1, stderr);
  if (/asked for webgpu: .*WebGPU adapter/.test(lines[0])) return t.skip(`no WebGPU adapter here (${lines[0]})`);
  assert.equal(lines[0], 'execution provider: webgpu');
});

test('cli infill --ep cpu prints the provider once, with no reason', { skip: HAVE_MODEL ? false : NO_MODEL_REASON }, () => {
  const { status, stderr } = infill('cpu');
  assert.equal(status, 0, stderr);
  assert.deepEqual(providerLines(stderr), ['execution provider: cpu']);
});
