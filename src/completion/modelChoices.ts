// What `dLLM: Select Model` offers: the bundled model and the folders of `dllm.models`, each described from its
// config.json (family, size, precision, attention) and where it would run. Pure apart from reading the folders.
import fs from 'node:fs';
import path from 'node:path';
import { modelBytes } from '../engine/memory';
import { readModelConfig } from '../engine/modelConfig';
import type { ExecutionProviderName } from '../engine/protocol';

export interface ModelChoice {
  dir: string;
  bundled: boolean;
  name: string;
  family?: string;
  /** Parameter count, when config.json says. */
  params?: number;
  precision?: string;
  attention?: string;
  /** Bytes of model.onnx and its external data. */
  bytes: number;
  /** Why the folder cannot be used (missing, unreadable config), if it cannot. */
  problem?: string;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(n >= 1e10 ? 0 : 1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  return `${Math.round(n / 1e3)}K`;
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  return `${Math.max(1, Math.round(n / 1024 ** 2))} MiB`;
}

export function describeModelFolder(dir: string, bundled = false): ModelChoice {
  const base = { dir, bundled, name: bundled ? 'bundled model' : path.basename(dir), bytes: 0 };
  if (!fs.existsSync(path.join(dir, 'model.onnx'))) return { ...base, problem: `no model.onnx in ${dir}` };
  try {
    const c = readModelConfig(path.join(dir, 'config.json'));
    return {
      ...base, name: c.name, family: c.family, params: c.nParams, precision: c.precision, attention: c.attention,
      bytes: modelBytes(dir),
    };
  } catch (err) {
    return { ...base, bytes: modelBytes(dir), problem: (err as Error).message };
  }
}

/** Where a model runs under the execution-provider setting (the provider in use when it is the loaded model). */
export function whereItRuns(setting: ExecutionProviderName, inUse?: string): string {
  if (inUse) return `runs on ${inUse}`;
  if (setting === 'auto') return 'runs on CUDA or DirectML when available, else the CPU';
  return `runs on ${setting}`;
}

export interface ModelPickItem {
  label: string;
  description: string;
  detail: string;
  dir: string;
  current: boolean;
}

/** One quick-pick row per model: name, then family · size · precision · attention, then where it runs and its folder. */
export function modelPickItems(choices: readonly ModelChoice[], currentDir: string, setting: ExecutionProviderName,
  loaded?: { dir: string; executionProvider?: string }): ModelPickItem[] {
  return choices.map((c) => {
    const current = path.resolve(c.dir) === path.resolve(currentDir);
    const facts = [
      c.family, c.params !== undefined ? `${formatCount(c.params)} parameters` : undefined,
      c.precision, c.attention, c.bytes ? formatBytes(c.bytes) : undefined,
    ].filter(Boolean).join(' · ');
    const inUse = loaded && path.resolve(loaded.dir) === path.resolve(c.dir) ? loaded.executionProvider : undefined;
    return {
      label: `${c.problem ? '$(warning)' : current ? '$(check)' : '$(circuit-board)'} ${c.name}`,
      description: [c.bundled ? 'bundled' : '', current ? '(current)' : ''].filter(Boolean).join(' '),
      detail: c.problem ? `cannot be used: ${c.problem}` : `${facts} — ${whereItRuns(setting, inUse)} — ${c.dir}`,
      dir: c.dir,
      current,
    };
  });
}
