// Logging and user-visible errors. Everything goes to the "dLLM" LogOutputChannel (levels set with
// "Developer: Set Log Level…"); errors also raise a notification, at most once per distinct message per minute.
import * as vscode from 'vscode';
import { EngineError } from '../engine/errors';

export type Logger = vscode.LogOutputChannel;

/** DLLM_LOG_TO_CONSOLE=1 mirrors the log to the console (the test runners print the extension host's console). */
export function createLogger(): Logger {
  const channel = vscode.window.createOutputChannel('dLLM', { log: true });
  if (process.env.DLLM_LOG_TO_CONSOLE) {
    for (const level of ['trace', 'debug', 'info', 'warn', 'error'] as const) {
      const write = channel[level].bind(channel) as (message: string, ...args: unknown[]) => void;
      (channel as unknown as Record<string, unknown>)[level] = (message: string, ...args: unknown[]) => {
        console.log(`[dLLM ${level}] ${message}`);
        write(message, ...args);
      };
    }
  }
  return channel;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}

/** A cancel is an outcome, not a failure. */
export function isCancellation(err: unknown): boolean {
  return err instanceof EngineError ? err.code === 'CANCELLED' : err instanceof vscode.CancellationError;
}

const REPEAT_WINDOW_MS = 60_000;

export class ErrorNotifier {
  private readonly lastShown = new Map<string, number>();

  constructor(private readonly log: Logger, private readonly now: () => number = () => Date.now()) {}

  /** Logs the error and shows it (with "Open Logs" and, for model problems, "Open Settings"). */
  report(context: string, err: unknown): void {
    const message = errorMessage(err);
    this.log.error(`${context}: ${message}`);
    const key = `${context}|${message}`;
    const last = this.lastShown.get(key);
    if (last !== undefined && this.now() - last < REPEAT_WINDOW_MS) return;
    this.lastShown.set(key, this.now());
    const code = err instanceof EngineError ? err.code : undefined;
    const settingsFix = code === 'MODEL_MISSING' || code === 'MODEL_TOO_LARGE' || code === 'MODEL_CORRUPT' || code === 'VOCAB_MISMATCH' || code === 'UNKNOWN_EP';
    const actions = settingsFix ? ['Open Settings', 'Open Logs'] : ['Open Logs'];
    void vscode.window.showErrorMessage(`dLLM: ${context}: ${message}`, ...actions).then((choice) => {
      if (choice === 'Open Logs') this.log.show(true);
      if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'dllm.');
    });
  }
}
