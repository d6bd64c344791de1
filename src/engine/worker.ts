// Engine worker: runs in a child process (default) or a worker thread, so decoding never blocks the extension host.
// Requests run one at a time in arrival order; a cancel takes effect before the next forward pass.
import { parentPort } from 'node:worker_threads';
import { Engine } from './engine';
import { toEngineError } from './errors';
import { cancelledBeforeStart } from './metrics';
import type { CompletionRequest, EngineConfig, FromWorkerMessage, ToWorkerMessage } from './protocol';

interface Port {
  send(message: FromWorkerMessage): void;
  onMessage(listener: (message: ToWorkerMessage) => void): void;
}

function connect(): Port | undefined {
  if (parentPort) {
    const port = parentPort;
    return { send: (m) => port.postMessage(m), onMessage: (l) => port.on('message', l) };
  }
  if (process.send) {
    return { send: (m) => process.send!(m), onMessage: (l) => process.on('message', (m) => l(m as ToWorkerMessage)) };
  }
  return undefined;
}

export class WorkerHost {
  private engine: Engine | undefined;
  private readonly queue: CompletionRequest[] = [];
  private running: CompletionRequest | undefined;
  private readonly cancelled = new Set<string>();
  private draining = false;

  constructor(private readonly port: Port) {}

  handle(message: ToWorkerMessage): void {
    switch (message.type) {
      case 'configure': return this.configure(message.config);
      case 'complete': this.queue.push(message.request); void this.drain(); return;
      case 'cancel': return this.cancel(message.id);
      case 'shutdown': void this.shutdown(); return;
      default:
        this.port.send({ type: 'log', level: 'warn', message: `worker: unknown message ${JSON.stringify(message)}` });
    }
  }

  private configure(config: EngineConfig): void {
    const old = this.engine;
    for (const r of [...this.queue]) this.cancel(r.id);
    if (this.running) this.cancelled.add(this.running.id);
    this.engine = new Engine(config, { log: (level, message) => this.port.send({ type: 'log', level, message }) });
    void old?.dispose();
    this.sendStatus();
  }

  private cancel(id: string): void {
    const queued = this.queue.findIndex((r) => r.id === id);
    if (queued >= 0) {
      const [request] = this.queue.splice(queued, 1);
      const status = this.engine?.status();
      this.port.send({ type: 'result', result: cancelledBeforeStart(id, request.policy ?? 'r2', status?.executionProvider ?? '') });
      this.sendStatus();
    } else if (this.running?.id === id) {
      this.cancelled.add(id);
    }
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let request = this.queue.shift(); request; request = this.queue.shift()) {
        await this.run(request);
      }
    } finally {
      this.draining = false;
    }
  }

  private async run(request: CompletionRequest): Promise<void> {
    const engine = this.engine;
    if (!engine) {
      this.port.send({ type: 'error', requestId: request.id, error: { code: 'INTERNAL', message: 'The engine was not configured.' } });
      return;
    }
    this.running = request;
    if (engine.status().state === 'idle') {
      this.port.send({ type: 'status', status: { ...engine.status(), state: 'loading', pending: this.pending() } });
    } else {
      this.sendStatus();
    }
    let reply: FromWorkerMessage;
    try {
      const result = await engine.complete(request, {
        onStep: (event) => this.port.send({ type: 'step', event }),
        isCancelled: () => this.cancelled.has(request.id),
      });
      reply = { type: 'result', result };
    } catch (err) {
      reply = { type: 'error', requestId: request.id, error: toEngineError(err).toInfo() };
    }
    this.cancelled.delete(request.id);
    this.running = undefined;
    this.sendStatus(); // before the reply, so a client sees the new state when its request settles
    this.port.send(reply);
  }

  private pending(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  private sendStatus(): void {
    if (!this.engine) return;
    const status = this.engine.status();
    this.port.send({ type: 'status', status: { ...status, state: this.running && status.state === 'ready' ? 'busy' : status.state, pending: this.pending() } });
  }

  private async shutdown(): Promise<void> {
    for (const r of [...this.queue]) this.cancel(r.id);
    if (this.running) this.cancelled.add(this.running.id);
    await this.engine?.dispose();
    process.exit(0);
  }
}

const port = connect();
if (port) {
  const host = new WorkerHost(port);
  port.onMessage((m) => host.handle(m));
  process.on('uncaughtException', (err) => {
    port.send({ type: 'error', error: { code: 'WORKER_CRASHED', message: `Engine worker failed: ${err.stack ?? err.message}` } });
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    port.send({ type: 'log', level: 'error', message: `Engine worker: unhandled rejection: ${String(reason)}` });
  });
  if (!parentPort) process.on('disconnect', () => process.exit(0)); // the extension host went away
  port.send({ type: 'ready' });
} else if (require.main === module) {
  console.error('worker.js is the dLLM engine worker; start it through EngineClient (src/engine/client.ts).');
  process.exitCode = 2;
}
