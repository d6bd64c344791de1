// Locates the shipped model (models/dllm-code-small) and makes broken copies of it for the bad-input tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../support/repoRoot';

export const MODEL_DIR = path.join(REPO_ROOT, 'models', 'dllm-code-small');
export const HAVE_MODEL = ['model.onnx', 'tokenizer.json', 'config.json'].every((f) => fs.existsSync(path.join(MODEL_DIR, f)));
export const NO_MODEL_REASON = `no model at ${MODEL_DIR}`;

const brokenDirs: string[] = [];
process.once('exit', () => {
  for (const dir of brokenDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A temporary copy of the model folder with some files replaced (content) or removed (null); removed at exit. */
export function brokenModelDir(changes: Record<string, string | Buffer | null>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dllm-model-'));
  brokenDirs.push(dir);
  for (const f of ['model.onnx', 'tokenizer.json', 'config.json']) {
    if (f in changes) {
      const content = changes[f];
      if (content !== null) fs.writeFileSync(path.join(dir, f), content);
    } else {
      fs.symlinkSync(path.join(MODEL_DIR, f), path.join(dir, f));
    }
  }
  return dir;
}

export function modelConfigJson(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'config.json'), 'utf8'));
}

export const SAMPLE = {
  prefix: 'export function clamp(value: number, low: number, high: number): number {\n  return ',
  suffix: ';\n}\n\nexport function lerp(a: number, b: number, t: number): number {\n  return a + (b - a) * t;\n}\n',
};
