// Before loading: is there memory for the model at all? A model larger than the free memory would otherwise swap the
// machine to a halt or die inside onnxruntime with an unreadable allocation error.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EngineError } from './errors';

/** Bytes of the graph and its external weight files (every file in the folder except tokenizer/config/docs). */
export function modelBytes(dir: string): number {
  let total = 0;
  for (const name of fs.readdirSync(dir)) {
    if (!(name === 'model.onnx' || name.startsWith('model.onnx') || name.endsWith('.data') || name.endsWith('.onnx_data'))) continue;
    const stat = fs.statSync(path.join(dir, name));
    if (stat.isFile()) total += stat.size;
  }
  return total;
}

/**
 * Memory a model may take: Linux and Windows report the memory available to a new allocation (page cache included);
 * macOS's figure leaves out reclaimable pages and is often a few hundred MB on a machine with plenty, so there half of
 * the physical memory counts as free.
 */
export function freeMemory(): number {
  return process.platform === 'darwin' ? Math.max(os.freemem(), os.totalmem() / 2) : os.freemem();
}

const GiB = 1024 ** 3;
const fmt = (bytes: number) => (bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(0)} MiB`);

/**
 * MODEL_TOO_LARGE when the model's weight files exceed the free memory. onnxruntime holds the weights in host memory
 * while it builds the session (also for GPU providers), so host memory is what must fit. `freeBytes` is for tests;
 * DLLM_TEST_FREE_MEMORY (bytes) overrides it the same way for the other test layers.
 */
export function checkModelFitsMemory(dir: string, freeBytes?: number): void {
  const free = freeBytes ?? (Number(process.env.DLLM_TEST_FREE_MEMORY) || freeMemory());
  const size = modelBytes(dir);
  if (size > free) {
    throw new EngineError('MODEL_TOO_LARGE',
      `The model in ${dir} needs ${fmt(size)} of memory to load, but only ${fmt(free)} is free. Close other programs, ` +
      `or pick a smaller or more quantized conversion (int8 / int4).`);
  }
}
