// EngineClient: the extension host's handle on the engine worker. Spawns the worker lazily (a child process by
// default, so even a native crash cannot take the host down), keeps one request in flight per editor, forwards step
// events, and restarts a crashed worker, reporting the crash.
import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { EngineError } from './errors';
import type {
  CompletionRequest, CompletionResult, EngineConfig, EngineStatus, ExecutionProviderName, FromWorkerMessage, StepEvent,
  ToWorkerMessage,
} from './protocol';

export type LogLevel = 'info' | 'warn' | 'error';

export interface EngineClientOptions {
  /** The bundled worker, dist/worker.js. */
  workerPath: string;
  modelDir: string;
  executionProvider?: ExecutionProviderName;
  intraOpNumThreads?: number;
  /** 'process' (default): a child process; 'thread': a worker thread (lighter, but shares the host's process). */
  isolation?: 'process' | 'thread';
  log?: (level: LogLevel, message: string) => void;
  /** Crash restarts allowed within `restartWindowMs` before giving up until the next request (default 3 per minute). */
  maxRestarts?: number;
  restartWindowMs?: number;
}

export interface Disposable {
  dispose(): void;
}

interface Pending {
  request: CompletionRequest;
  onStep?: (event: StepEvent) => void;
  resolve: (result: CompletionResult) => void;
  reject: (error: EngineError) => void;
}

interface WorkerHandle {
  send(message: ToWorkerMessage): void;
  kill(): void;
  pid?: number;
}

export class EngineClient {
  private worker: WorkerHandle | undefined;
  private config: EngineConfig;
  private readonly pending = new Map<string, Pending>();
  /** editorKey → id of its request in flight. */
  private readonly inFlight = new Map<string, string>();
  private readonly listeners = new Set<(status: EngineStatus) => void>();
  private currentStatus: EngineStatus = { state: 'idle' };
  private crashTimes: number[] = [];
  private restarts = 0;
  private disposed = false;
  private stderrTail = '';

  constructor(private readonly options: EngineClientOptions) {
    this.config = {
      modelDir: options.modelDir,
      executionProvider: options.executionProvider ?? 'auto',
      intraOpNumThreads: options.intraOpNumThreads,
    };
  }

  /** Completes `request`. A newer request with the same editorKey cancels this one (it then resolves with cancelled: true). */
  complete(request: CompletionRequest, onStep?: (event: StepEvent) => void): Promise<CompletionResult> {
    if (this.disposed) return Promise.reject(new EngineError('INTERNAL', 'The engine client was disposed.'));
    if (typeof request?.id !== 'string' || request.id.length === 0) {
      return Promise.reject(new EngineError('BAD_INPUT', 'A completion request needs a non-empty string id.'));
    }
    if (!this.worker && !fs.existsSync(this.options.workerPath)) {
      return Promise.reject(new EngineError('INTERNAL',
        `The engine worker bundle is missing: ${this.options.workerPath} (build it with \`npm run build\`).`));
    }
    if (this.pending.has(request.id)) {
      return Promise.reject(new EngineError('BAD_INPUT', `A request with id "${request.id}" is already in flight.`));
    }
    if (request.editorKey !== undefined) {
      const previous = this.inFlight.get(request.editorKey);
      if (previous !== undefined) this.cancel(previous);
      this.inFlight.set(request.editorKey, request.id);
    }
    return new Promise<CompletionResult>((resolve, reject) => {
      this.pending.set(request.id, { request, onStep, resolve, reject });
      this.ensureWorker().send({ type: 'complete', request: { ...request, emitSteps: request.emitSteps ?? onStep !== undefined } });
    });
  }

  /** Cancels a request; it resolves with cancelled: true before the engine's next forward pass. */
  cancel(id: string): void {
    if (this.pending.has(id)) this.worker?.send({ type: 'cancel', id });
  }

  /** Cancels the request in flight for an editor, if any. */
  cancelEditor(editorKey: string): void {
    const id = this.inFlight.get(editorKey);
    if (id !== undefined) this.cancel(id);
  }

  status(): EngineStatus {
    return { ...this.currentStatus, restarts: this.restarts };
  }

  onStatus(listener: (status: EngineStatus) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** New model folder / provider / threads: requests in flight are cancelled and the model reloads on next use. */
  reconfigure(change: Partial<EngineConfig>): void {
    this.config = { ...this.config, ...change };
    this.crashTimes = [];
    this.worker?.send({ type: 'configure', config: this.config });
  }

  /** Process id of the worker child (process isolation only). */
  get workerPid(): number | undefined {
    return this.worker?.pid;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new EngineError('CANCELLED', 'The engine was shut down.'));
    if (worker) {
      worker.send({ type: 'shutdown' });
      setTimeout(() => worker.kill(), 2000).unref();
    }
    this.listeners.clear();
  }

  private ensureWorker(): WorkerHandle {
    if (!this.worker) {
      this.worker = this.spawn();
      this.worker.send({ type: 'configure', config: this.config });
    }
    return this.worker;
  }

  private spawn(): WorkerHandle {
    const onMessage = (m: FromWorkerMessage) => this.onMessage(m);
    let handle: WorkerHandle;
    if (this.options.isolation === 'thread') {
      const worker = new Worker(this.options.workerPath, { stderr: true });
      worker.on('message', onMessage);
      worker.on('error', (err) => this.log('error', `Engine worker error: ${err.stack ?? err.message}`));
      worker.on('exit', (code) => this.onExit(handle, `exit code ${code}`));
      worker.stderr.on('data', (d: Buffer) => this.onStderr(d));
      handle = { send: (m) => worker.postMessage(m), kill: () => void worker.terminate() };
    } else {
      const child: ChildProcess = fork(this.options.workerPath, [], {
        env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        serialization: 'advanced',
      });
      child.on('message', onMessage);
      child.on('error', (err) => this.log('error', `Engine worker process error: ${err.message}`));
      child.on('exit', (code, signal) => this.onExit(handle, signal ? `signal ${signal}` : `exit code ${code}`));
      child.stderr?.on('data', (d: Buffer) => this.onStderr(d));
      handle = {
        send: (m) => { if (child.connected) child.send(m); },
        kill: () => { child.kill('SIGKILL'); },
        pid: child.pid,
      };
    }
    return handle;
  }

  private onStderr(data: Buffer): void {
    const text = data.toString();
    this.stderrTail = (this.stderrTail + text).slice(-2000);
    for (const line of text.split('\n')) if (line.trim()) this.log('info', `[engine] ${line.trim()}`);
  }

  private onMessage(message: FromWorkerMessage): void {
    switch (message.type) {
      case 'ready': return;
      case 'status': return this.setStatus(message.status);
      case 'log': return this.log(message.level, message.message);
      case 'step': {
        const p = this.pending.get(message.event.requestId);
        try {
          p?.onStep?.(message.event);
        } catch (err) {
          this.log('error', `onStep listener threw: ${(err as Error).message}`);
        }
        return;
      }
      case 'result': return this.settle(message.result.requestId, (p) => p.resolve(message.result));
      case 'error': {
        const error = EngineError.fromInfo(message.error);
        if (message.requestId !== undefined) this.settle(message.requestId, (p) => p.reject(error));
        else this.log('error', error.message);
        return;
      }
    }
  }

  private settle(id: string, action: (p: Pending) => void): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    const key = p.request.editorKey;
    if (key !== undefined && this.inFlight.get(key) === id) this.inFlight.delete(key);
    action(p);
  }

  private failAll(error: EngineError): void {
    for (const id of [...this.pending.keys()]) this.settle(id, (p) => p.reject(error));
  }

  private onExit(handle: WorkerHandle, how: string): void {
    if (this.worker !== handle) return; // an old worker after reconfigure/dispose
    this.worker = undefined;
    const detail = this.stderrTail.trim().split('\n').slice(-3).join(' | ');
    this.stderrTail = '';
    const message = `The decoding engine stopped unexpectedly (${how})${detail ? `: ${detail}` : ''}.`;
    const error = new EngineError('WORKER_CRASHED', message);
    this.log('error', message);
    const now = Date.now();
    const window = this.options.restartWindowMs ?? 60_000;
    this.crashTimes = [...this.crashTimes.filter((t) => now - t < window), now];
    const canRestart = this.crashTimes.length <= (this.options.maxRestarts ?? 3);
    this.setStatus({
      state: 'error', errorCode: 'WORKER_CRASHED',
      error: canRestart ? `${message} Restarting.` : `${message} It crashed ${this.crashTimes.length} times within ` +
        `${Math.round(window / 1000)} s; it restarts on the next request.`,
    });
    this.failAll(error);
    if (canRestart && !this.disposed) {
      this.restarts++;
      this.ensureWorker();
      this.setStatus({ state: 'idle', error: message, errorCode: 'WORKER_CRASHED' });
    }
  }

  private setStatus(status: EngineStatus): void {
    this.currentStatus = status;
    const snapshot = this.status();
    for (const l of this.listeners) {
      try { l(snapshot); } catch (err) { this.log('error', `status listener threw: ${(err as Error).message}`); }
    }
  }

  private log(level: LogLevel, message: string): void {
    this.options.log?.(level, message);
  }
}
