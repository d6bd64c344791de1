import assert from 'node:assert/strict';
import { test } from 'node:test';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../support/repoRoot';

const load = () => import(pathToFileURL(path.join(REPO_ROOT, '.ci', 'package.mjs')).href);
const ALL = ['darwin/arm64', 'linux/arm64', 'linux/x64', 'win32/arm64', 'win32/x64'];

test('each target ignores every other platform\'s onnxruntime binaries and nothing of its own', async () => {
  const { TARGETS, ignoreLinesFor } = await load();
  for (const [target, own] of Object.entries<string>(TARGETS)) {
    const lines: string[] = ignoreLinesFor(target, { platforms: ALL, installOnly: [], otherModelDirs: [] });
    for (const p of ALL) {
      const excluded = lines.includes(`node_modules/onnxruntime-node/bin/napi-v*/${p}/**`);
      assert.equal(excluded, p !== own, `${target}: ${p}`);
    }
  }
});

test('install-only packages and unshipped model folders are ignored', async () => {
  const { ignoreLinesFor } = await load();
  const lines: string[] = ignoreLinesFor('linux-x64', { platforms: ALL, installOnly: ['adm-zip'], otherModelDirs: ['models/train'] });
  assert.ok(lines.includes('node_modules/adm-zip/**'));
  assert.ok(lines.includes('models/train/**'));
});

test('unknown targets are rejected', async () => {
  const { ignoreLinesFor } = await load();
  assert.throws(() => ignoreLinesFor('solaris-sparc', { platforms: ALL, installOnly: [], otherModelDirs: [] }), /unknown target/);
});

test('onnxruntime-node\'s install-time helpers are found, its runtime dependency is kept', async () => {
  const { installOnlyPackages } = await load();
  const pkgs: string[] = installOnlyPackages();
  assert.ok(!pkgs.includes('onnxruntime-common'));
  assert.ok(!pkgs.includes('onnxruntime-node'));
});

test('checkVsixEntries accepts a right VSIX and names what is wrong with a bad one', async () => {
  const { checkVsixEntries } = await load();
  const good = ['extension/package.json', 'extension/dist/extension.js',
    'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
    'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
    'extension/models/dllm-code-small/model.onnx'];
  assert.deepEqual(checkVsixEntries('linux-x64', good, { expectModel: true }), []);
  const bad = [...good.filter((n) => !n.includes('model.onnx')),
    'extension/node_modules/onnxruntime-node/bin/napi-v6/win32/x64/onnxruntime.dll',
    'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so',
    'extension/models/train/corpus.py', 'extension/dist/extension.js.map'];
  const problems: string[] = checkVsixEntries('linux-x64', bad, { expectModel: true });
  for (const re of [/other platforms/, /CUDA/, /models\/train/, /sourcemaps/, /default model missing/]) {
    assert.ok(problems.some((p) => re.test(p)), `expected a problem matching ${re}: ${problems.join('; ')}`);
  }
});
