// Execution-based check for HumanEval infilling: run prompt + completion + suffix + test + check(entry_point) in a
// local python3 subprocess with a timeout. pass@1 with greedy decoding = share of tasks whose program exits 0.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import type { InfillTask } from './taskSets';

export interface ExecResult {
  passed: boolean;
  /** 'passed', 'failed', 'timeout' or an error summary. */
  outcome: string;
}

export function programFor(task: InfillTask, completion: string): string {
  return `${task.prefix}${completion}${task.suffix}\n\n${task.test}\n\ncheck(${task.entryPoint})\n`;
}

export function runPython(program: string, timeoutMs = 10_000, python = 'python3'): Promise<ExecResult> {
  return new Promise((resolve) => {
    const cwd = fs.mkdtempSync(`${os.tmpdir()}/dllm-humaneval-`);
    // Isolated mode (-I): no user site-packages, no PYTHON* variables, no script directory on sys.path.
    const child = spawn(python, ['-I', '-'], {
      cwd, stdio: ['pipe', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1', PYTHONHASHSEED: '0', LANG: 'C.UTF-8' },
    });
    let stderr = '';
    let settled = false;
    const finish = (r: ExecResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fs.rmSync(cwd, { recursive: true, force: true });
      resolve(r);
    };
    const timer = setTimeout(() => { child.kill('SIGKILL'); finish({ passed: false, outcome: 'timeout' }); }, timeoutMs);
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
    child.on('error', (err) => finish({ passed: false, outcome: `cannot run ${python}: ${err.message}` }));
    child.on('close', (code) => finish(code === 0 ? { passed: true, outcome: 'passed' }
      : { passed: false, outcome: stderr.trim().split('\n').pop() ?? `exit ${code}` }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(program);
  });
}
