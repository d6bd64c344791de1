// Helpers for the stress suites in the extension host: the extension's internal handles, the page channel
// (real keystrokes, what the editor shows), a spy on the notifications the extension raises, an edit recorder,
// and a monitor of the decodes the engine client runs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { CompletionRequest, CompletionResult, StepEvent } from '../../../src/engine/protocol';
import type { DllmExtensionApi } from '../../../src/extension';
import { activateExtension, sleep, waitFor } from '../../support/extensionHost';

export type Testing = DllmExtensionApi['testing'];
export { EXTENSION_ID } from '../../support/extensionHost';
export { sleep, waitFor };

export async function extension(): Promise<{ t: Testing; extensionPath: string; ext: vscode.Extension<DllmExtensionApi> }> {
  const { api, extensionPath, ext } = await activateExtension();
  return { t: api.testing, extensionPath, ext };
}

/** Extension-host event-loop delay, sampled every LAG_RESOLUTION_MS (call enable() / disable() around the work). */
const LAG_RESOLUTION_MS = 10;
export const lagMonitor = (): IntervalHistogram => monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
/** A monitor reading (ns) as lag in ms: the delay beyond the sampling interval. */
export const lagMs = (ns: number) => Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS);

export async function setSetting(key: string, value: unknown, section = 'dllm'): Promise<void> {
  await vscode.workspace.getConfiguration(section).update(key, value, vscode.ConfigurationTarget.Global);
}

/** Opens an untitled document (one <|> marks the cursor) and puts the cursor there. */
export async function openAt(content: string, language = 'python') {
  const at = content.indexOf('<|>');
  const doc = await vscode.workspace.openTextDocument({ language, content: at >= 0 ? content.replace('<|>', '') : content });
  const editor = await vscode.window.showTextDocument(doc);
  const position = doc.positionAt(at >= 0 ? at : doc.getText().length);
  // VS Code may restore the view state of an earlier "Untitled-N" editor just after it opens: set the cursor until it stays.
  for (let i = 0; i < 10; i++) {
    editor.selection = new vscode.Selection(position, position);
    await sleep(30);
    if (editor.selection.active.isEqual(position) && editor.selections.length === 1) break;
  }
  return { doc, editor, position };
}

/** Closes every editor, reverting dirty documents and notebooks first (a save prompt would block the window). */
export async function closeAllEditors(): Promise<void> {
  for (const nb of vscode.workspace.notebookDocuments.filter((n) => n.isDirty && !n.isClosed)) {
    try {
      await vscode.window.showNotebookDocument(nb);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    } catch { /* already gone */ }
  }
  for (const doc of vscode.workspace.textDocuments.filter((d) => d.isDirty && !d.isClosed && d.uri.scheme !== 'vscode-notebook-cell')) {
    try {
      await vscode.window.showTextDocument(doc, { preview: false });
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    } catch { /* already gone */ }
  }
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

export const invoke: vscode.InlineCompletionContext = { triggerKind: vscode.InlineCompletionTriggerKind.Invoke, selectedCompletionInfo: undefined };
export const automatic: vscode.InlineCompletionContext = { triggerKind: vscode.InlineCompletionTriggerKind.Automatic, selectedCompletionInfo: undefined };

/** Asks the provider as VS Code would and waits for its decode (if any) to end; returns the final text. */
export async function completionAt(t: Testing, doc: vscode.TextDocument, position: vscode.Position, context = invoke): Promise<string | undefined> {
  const token = new vscode.CancellationTokenSource().token;
  const first = await t.provider.provideInlineCompletionItems(doc, position, context, token);
  await waitFor(() => !t.provider.liveDecodes.has(doc.uri.toString()), 'the decode to end', 60_000);
  const list = (await t.provider.provideInlineCompletionItems(doc, position, context, token)) ?? first;
  return list?.items[0]?.insertText as string | undefined;
}

// ---- the page channel (test/stress/extensionHost.mjs) ----

let commandSeq = 0;

/** Sends a command to the Playwright page driving this workbench and waits for its answer. */
export async function pageCommand<T>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 120_000): Promise<T> {
  const channel = process.env.DLLM_STRESS_CHANNEL;
  assert.ok(channel, 'DLLM_STRESS_CHANNEL is not set: run through test/stress/run.mjs');
  const id = `${process.pid}-${++commandSeq}`;
  console.log(`DLLM_STRESS_CMD ${JSON.stringify({ id, cmd, ...args })}`);
  const file = path.join(channel, `${id}.json`);
  await waitFor(() => fs.existsSync(file), `the page to answer ${cmd}`, timeoutMs);
  const answer = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (answer.error) throw new Error(`page command ${cmd}: ${answer.error}`);
  return answer as T;
}

export interface GhostSample { i: number; t: number; ghost: string; before: string | null; lines: number }

// ---- notifications raised by the extension (same vscode API object as the extension's) ----

export interface Notice { level: 'error' | 'warning' | 'info' | 'status'; message: string; items: string[]; at: number }

export class NotificationSpy implements vscode.Disposable {
  readonly notices: Notice[] = [];
  private readonly restore: Array<() => void> = [];

  constructor() {
    const w = vscode.window as unknown as Record<string, (...a: unknown[]) => unknown>;
    const wrap = (name: string, level: Notice['level']) => {
      const original = w[name];
      w[name] = (...args: unknown[]) => {
        this.notices.push({ level, message: String(args[0]), items: args.slice(1).filter((a): a is string => typeof a === 'string'), at: Date.now() });
        return original.apply(vscode.window, args);
      };
      this.restore.push(() => { w[name] = original; });
    };
    wrap('showErrorMessage', 'error');
    wrap('showWarningMessage', 'warning');
    wrap('showInformationMessage', 'info');
    wrap('setStatusBarMessage', 'status');
  }

  since(t0: number, level?: Notice['level']): Notice[] {
    return this.notices.filter((n) => n.at >= t0 && (!level || n.level === level));
  }

  dispose(): void {
    for (const r of this.restore.reverse()) r();
  }
}

// ---- edits ----

/** Records every change VS Code reports for a document. */
export class EditRecorder implements vscode.Disposable {
  readonly changes: vscode.TextDocumentContentChangeEvent[] = [];
  private readonly sub: vscode.Disposable;

  constructor(readonly doc: vscode.TextDocument) {
    this.sub = vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document === doc) this.changes.push(...e.contentChanges);
    });
  }

  dispose(): void {
    this.sub.dispose();
  }
}

// ---- decodes the engine client runs ----

interface Tracked { id: string; editorKey?: string; started: number; cancelRequested: boolean; settled?: number; cancelled?: boolean }

/**
 * Wraps the engine client's complete/cancel: how many requests were in flight and not asked to stop at once
 * (what "decodes in flight" means for the user's CPU), and how many the client held at all.
 */
export class DecodeMonitor implements vscode.Disposable {
  readonly requests: Tracked[] = [];
  maxLive = 0;
  maxHeld = 0;
  private readonly restore: () => void;

  constructor(t: Testing) {
    const client = t.engine.engineClient as unknown as {
      complete: (r: CompletionRequest, s?: (e: StepEvent) => void) => Promise<CompletionResult>;
      cancel: (id: string) => void;
    };
    const complete = client.complete;
    const cancel = client.cancel;
    const live = () => this.requests.filter((r) => r.settled === undefined && !r.cancelRequested).length;
    const held = () => this.requests.filter((r) => r.settled === undefined).length;
    client.complete = (request, onStep) => {
      if (request.editorKey !== undefined) {
        for (const r of this.requests) if (r.settled === undefined && r.editorKey === request.editorKey) r.cancelRequested = true;
      }
      const tracked: Tracked = { id: request.id, editorKey: request.editorKey, started: Date.now(), cancelRequested: false };
      this.requests.push(tracked);
      this.maxLive = Math.max(this.maxLive, live());
      this.maxHeld = Math.max(this.maxHeld, held());
      const p = complete.call(client, request, onStep);
      p.then((r) => { tracked.settled = Date.now(); tracked.cancelled = r.cancelled; },
        () => { tracked.settled = Date.now(); tracked.cancelled = true; });
      return p;
    };
    client.cancel = (id) => {
      const r = this.requests.find((x) => x.id === id);
      if (r) r.cancelRequested = true;
      cancel.call(client, id);
    };
    this.restore = () => { client.complete = complete; client.cancel = cancel; };
  }

  dispose(): void {
    this.restore();
  }
}

// ---- a scripted engine: deterministic answers with a chosen decode time ----

export interface ScriptOptions {
  /** Decode time in ms (spread over the steps). */
  delayMs?: number;
  steps?: number;
}

/**
 * Replaces the engine client's complete/cancel with a scripted decode: `answer(request)` is the completion, revealed
 * step by step as the real engine would. Cancels (by id, or a newer request on the same editorKey) end it early.
 */
export function scriptEngine(t: Testing, answer: (request: CompletionRequest) => string, options: ScriptOptions = {}): vscode.Disposable & { requests: CompletionRequest[] } {
  const client = t.engine.engineClient as unknown as {
    complete: (r: CompletionRequest, s?: (e: StepEvent) => void) => Promise<CompletionResult>;
    cancel: (id: string) => void;
  };
  const complete = client.complete;
  const cancel = client.cancel;
  const cancelled = new Set<string>();
  const byEditor = new Map<string, string>();
  const requests: CompletionRequest[] = [];
  const steps = options.steps ?? 4;
  client.complete = async (request, onStep) => {
    requests.push(request);
    if (request.editorKey !== undefined) {
      const previous = byEditor.get(request.editorKey);
      if (previous) cancelled.add(previous);
      byEditor.set(request.editorKey, request.id);
    }
    const text = answer(request);
    let step = 0;
    for (; step < steps; step++) {
      await sleep((options.delayMs ?? 200) / steps);
      if (cancelled.has(request.id)) break;
      const shown = text.slice(0, Math.ceil((text.length * (step + 1)) / steps));
      onStep?.({ requestId: request.id, step: step + 1, commits: [], stablePrefix: shown, canvas: [], maskedRemaining: steps - step - 1 });
    }
    const wasCancelled = cancelled.has(request.id);
    const n = request.maxNewTokens ?? 48;
    return {
      requestId: request.id, completion: wasCancelled ? '' : text, cancelled: wasCancelled, stopReason: wasCancelled ? 'cancelled' : 'complete',
      // One confident "token" for the whole answer, so the confidence gate (dllm.minConfidence) lets it through.
      tokenIds: [], trace: wasCancelled || !text ? [] : [{ index: 0, text, step: Math.max(1, step), rule: 'threshold', confidence: 0.95 }],
      commitsPerStep: Array.from({ length: step }, () => 1),
      metrics: {
        nfe: step, tokens: step, tokensPerStep: 1, ms: options.delayMs ?? 200, timeToFirstCommitMs: 1, lladaNfe: n,
        stepsSavedVsLladaPct: 100 * (1 - step / n), policy: request.policy ?? 'r2', cache: 'none', executionProvider: 'scripted',
        canvasLength: n, committedPositions: step, queryTokens: 0, prefixTokens: 0, suffixTokens: 0,
        truncatedPrefixChars: 0, truncatedSuffixChars: 0, loadMs: 0,
      },
    };
  };
  client.cancel = (id) => { cancelled.add(id); };
  return { requests, dispose: () => { client.complete = complete; client.cancel = cancel; } };
}
