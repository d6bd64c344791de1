// Shared by the engine-level stress tests: the real worker bundle, the shipped model, short prompts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { EngineClient, type EngineClientOptions } from '../../../src/engine/client';
import type { CompletionRequest } from '../../../src/engine/protocol';
import { REPO_ROOT } from '../../support/repoRoot';
import { HAVE_MODEL, MODEL_DIR, NO_MODEL_REASON } from '../../unit/engine/modelFixture';

export { HAVE_MODEL, MODEL_DIR, NO_MODEL_REASON };
export const skipWithoutModel = HAVE_MODEL ? false : NO_MODEL_REASON;

let workerPath: string | undefined;

/** dist/worker.js (test/run-all.mjs builds it), else a bundle made for this run. */
export async function workerBundle(): Promise<string> {
  if (workerPath) return workerPath;
  const dist = path.join(REPO_ROOT, 'dist', 'worker.js');
  if (fs.existsSync(dist)) return (workerPath = dist);
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dllm-worker-')), 'worker.js');
  await esbuild.build({
    entryPoints: [path.join(REPO_ROOT, 'src', 'engine', 'worker.ts')], outfile: out, bundle: true,
    platform: 'node', format: 'cjs', target: 'node20', external: ['onnxruntime-node'], logLevel: 'warning',
    nodePaths: [path.join(REPO_ROOT, 'node_modules')],
  });
  return (workerPath = out);
}

const clients: EngineClient[] = [];

export async function makeClient(over: Partial<EngineClientOptions> = {}): Promise<EngineClient> {
  const c = new EngineClient({ workerPath: await workerBundle(), modelDir: MODEL_DIR, executionProvider: 'cpu', ...over });
  clients.push(c);
  return c;
}

export async function disposeClients(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
}

/** Short, varied contexts (several languages, CRLF, emoji, CJK) for many small completions. */
export const SHORT_PROMPTS: Array<Pick<CompletionRequest, 'prefix' | 'suffix' | 'languageId'>> = [
  { prefix: 'def add(a, b):\n    return ', suffix: '\n', languageId: 'python' },
  { prefix: 'const total = items.reduce((sum, x) => ', suffix: ', 0);\n', languageId: 'javascript' },
  { prefix: 'export function isEven(n: number): boolean {\n  return ', suffix: ';\n}\n', languageId: 'typescript' },
  { prefix: 'for i in range(', suffix: '):\n    print(i)\n', languageId: 'python' },
  { prefix: 'const greeting = "héllo 👋 世界";\r\nconsole.log(', suffix: ');\r\n', languageId: 'javascript' },
  { prefix: '# 计算平均值\ndef mean(xs):\n    return ', suffix: '\n', languageId: 'python' },
  { prefix: '', suffix: '\nmodule.exports = { run };\n', languageId: 'javascript' },
  { prefix: 'if (user && user.name) {\n  ', suffix: '', languageId: 'javascript' },
];

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Private state of the client, for leak checks. */
export function clientBookkeeping(c: EngineClient): { pending: number; inFlight: number; listeners: number } {
  const x = c as unknown as { pending: Map<unknown, unknown>; inFlight: Map<unknown, unknown>; listeners: Set<unknown> };
  return { pending: x.pending.size, inFlight: x.inFlight.size, listeners: x.listeners.size };
}
