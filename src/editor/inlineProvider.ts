// Inline (ghost text) completions. Per call: gate (enabled, language, scheme, no fill running), read the context
// window around the cursor, choose single- or multi-line (src/completion/pipeline.ts, shared with `cli.js complete`),
// then serve, in order of preference,
//   1. the decode already running here (its stable prefix, minus what the user typed along it),
//   2. the cache (same context, or typed along a cached completion),
//   3. a new decode, after an adaptive debounce (none for explicit triggers).
// A decode outlives the provider call that started it: VS Code cancels calls on every keystroke, but typing along
// the ghost text keeps the decode; anything else (typing something else, moving the cursor, switching editors,
// Escape) cancels it. A finished decode goes through the pipeline's post-filters and confidence gate: below
// dllm.minConfidence an automatic call shows nothing (and waits for the end before showing anything), an explicit
// `dLLM: Trigger Completion` shows the answer anyway.
import * as vscode from 'vscode';
import { type Settings, isLanguageEnabled } from '../config';
import type { CompletionRequest, CompletionResult } from '../engine/protocol';
import { CompletionCache, makeAnchor } from '../completion/completionCache';
import { AdaptiveDebouncer, type CancellationLike, sleepUnlessCancelled } from '../completion/debounce';
import { LiveDecode } from '../completion/liveDecode';
import {
  type CompletionOutcome, type PreparedCompletion, completionRequest, cursorWindowChars, finishCompletion, isBlankContext,
  prepareCompletion,
} from '../completion/pipeline';
import { type EngineSession, newRequestId } from './engineSession';
import { type Logger, errorMessage, isCancellation } from './logger';
import type { GhostTextRefresher } from './progressiveGhost';

/** After a failed request, automatic triggers pause this long (the status bar and a notification show the error). */
const FAILURE_BACKOFF_MS = 5000;
/** Delay before checking that a moved cursor still types along the running decode. */
const SELECTION_CHECK_DELAY_MS = 60;
const SUPPORTED_SCHEMES = new Set(['file', 'untitled', 'vscode-remote', 'vscode-vfs', 'vscode-notebook-cell']);
/** Context key: an inline decode runs for the active editor (Escape then also cancels it). */
export const INLINE_DECODING_CONTEXT = 'dllm.inlineDecoding';

export const docKeyOf = (document: vscode.TextDocument): string => document.uri.toString();

export interface CursorContext extends PreparedCompletion {
  docKey: string;
}

/** Reads the text around the cursor (never the whole document), fits it to the model window and picks the shape. */
export function readCursorContext(document: vscode.TextDocument, position: vscode.Position, settings: Settings): CursorContext {
  const window = cursorWindowChars(settings);
  const offset = document.offsetAt(position);
  const startOffset = Math.max(0, offset - window);
  const endPosition = document.positionAt(offset + window);
  const prefix = document.getText(new vscode.Range(document.positionAt(startOffset), position));
  const suffix = document.getText(new vscode.Range(position, endPosition));
  const suffixIsFileEnd = document.offsetAt(endPosition) < offset + window;
  const prepared = prepareCompletion({ prefix, suffix, languageId: document.languageId, prefixIsFileStart: startOffset === 0, suffixIsFileEnd }, settings);
  return { ...prepared, docKey: docKeyOf(document) };
}

/** What the cache keeps besides the text: the decode it came from, and the gate's verdict on it. */
interface CachedAnswer {
  requestId: string;
  heldBackReason?: string;
}

interface DecodeRecord {
  live: LiveDecode;
  request: CompletionRequest;
  /** Automatic request under a gate: nothing is shown before the decode ends and passes it. */
  gated: boolean;
  result?: CompletionResult;
  outcome?: CompletionOutcome;
}

/** What the provider last handed to VS Code (internal, for tests and the refresher). */
export interface ServedCompletion {
  requestId: string;
  docKey: string;
  /** The text shown at the cursor (what Tab inserts). */
  text: string;
  source: 'live' | 'cache' | 'new';
}

export class DllmInlineProvider implements vscode.InlineCompletionItemProvider, vscode.Disposable {
  private readonly cache = new CompletionCache<CachedAnswer>(100);
  private readonly debouncer = new AdaptiveDebouncer();
  private readonly live = new Map<string, LiveDecode>();
  /** Recent decodes by request id, so a completion served from the cache is still tied to its decode. */
  private readonly recent = new Map<string, DecodeRecord>();
  private manualTrigger: { docKey: string; version: number; offset: number } | undefined;
  private lastFailureAt = 0;
  private selectionCheck: ReturnType<typeof setTimeout> | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  lastServed: ServedCompletion | undefined;
  /** Internal, for tests: how often VS Code asked. */
  callCount = 0;
  /** Internal, for tests: the most recent texts handed to VS Code, oldest first. */
  readonly servedLog: ServedCompletion[] = [];
  onDidChange?: vscode.Event<void>;

  constructor(
    private readonly engine: EngineSession,
    private readonly settings: () => Settings,
    private readonly log: Logger,
    private readonly refresher: GhostTextRefresher,
    private readonly fillActiveIn: (docKey: string) => boolean,
  ) {
    this.onDidChange = refresher.onDidChange;
    this.disposables.push(
      vscode.window.onDidChangeTextEditorSelection((e) => this.onSelectionChanged(e)),
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (editor) this.cancelAllExcept(editor.document); // focus in a panel keeps the decode
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        this.cancelLive(docKeyOf(doc), 'document closed');
        this.cache.deleteDocument(docKeyOf(doc));
      }),
    );
  }

  /** The next call at this editor's cursor counts as a manual trigger (works even where completions are off). */
  armManualTrigger(editor: vscode.TextEditor): void {
    const doc = editor.document;
    this.manualTrigger = { docKey: docKeyOf(doc), version: doc.version, offset: doc.offsetAt(editor.selection.active) };
  }

  /** Settings changed: completions made under the old ones are stale. */
  reset(): void {
    this.cache.clear();
    for (const key of [...this.live.keys()]) this.cancelLive(key, 'settings changed');
  }

  /** Cancels the decode of a document (Escape, or the user moved on). */
  cancelLive(docKey: string, reason: string): void {
    const live = this.live.get(docKey);
    if (!live) return;
    this.live.delete(docKey);
    if (live.running) this.log.debug(`${live.requestId}: cancelled (${reason})`);
    live.cancel();
    this.updateContextKey();
  }

  get liveDecodes(): ReadonlyMap<string, LiveDecode> {
    return this.live;
  }

  /** Internal, for tests: the request and result behind a completion the provider served. */
  finished(requestId: string): { request: CompletionRequest; result: CompletionResult; outcome: CompletionOutcome } | undefined {
    const r = this.recent.get(requestId);
    return r?.result && r.outcome && { request: r.request, result: r.result, outcome: r.outcome };
  }

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionList | undefined> {
    this.refresher.noteProviderCall();
    this.callCount++;
    this.log.trace(`provide #${this.callCount} (${context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke ? 'invoke' : 'automatic'}) ` +
      `at ${position.line + 1}:${position.character + 1}${context.selectedCompletionInfo ? ', suggest widget open' : ''}`);
    try {
      const text = await this.provide(document, position, context, token);
      if (token.isCancellationRequested) this.log.trace(`provide #${this.callCount}: cancelled by VS Code`);
      if (text === undefined || text === '' || token.isCancellationRequested) return undefined;
      const item = new vscode.InlineCompletionItem(text, new vscode.Range(position, position));
      const list = new vscode.InlineCompletionList([item]);
      // Proposed (inlineCompletionsAdditions); ignored where the proposal is off.
      (list as { enableForwardStability?: boolean }).enableForwardStability = true;
      return list;
    } catch (err) {
      if (!isCancellation(err)) this.log.error(`inline completion: ${errorMessage(err)}`);
      return undefined;
    }
  }

  private async provide(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<string | undefined> {
    if (!SUPPORTED_SCHEMES.has(document.uri.scheme)) return undefined;
    const settings = this.settings();
    const docKey = docKeyOf(document);
    const manual = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke && this.consumeManualTrigger(document, position);
    if (!manual && !isLanguageEnabled(settings, document.languageId)) return undefined;
    if (this.fillActiveIn(docKey)) return undefined;
    // The suggest widget is open: ghost text would have to extend its item; stay out of the way.
    if (context.selectedCompletionInfo && !manual) return undefined;
    // Several cursors: VS Code would insert this cursor's completion at every cursor, into contexts it was not made for.
    const active = vscode.window.activeTextEditor;
    if (active?.document === document && active.selections.length > 1) {
      if (manual) vscode.window.setStatusBarMessage('$(info) dLLM: inline completions work with a single cursor', 4000);
      return undefined;
    }

    const cursor = readCursorContext(document, position, settings);
    const { fitted, shape } = cursor;
    // An empty or blank document gives the model nothing to go on (the engine would refuse it as BAD_INPUT).
    if (isBlankContext(cursor)) return undefined;

    const live = this.live.get(docKey);
    if (live) {
      const offer = live.running ? live.offerFor(docKey, shape, fitted) : undefined;
      if (offer) return this.serveLive(live, offer.typed, settings, token, manual);
      this.cancelLive(docKey, 'the text at the cursor no longer matches it');
    }

    const hit = this.cache.get(docKey, shape, fitted);
    if (hit) {
      if (manual && hit.remainder === '') this.tellNothingHere();
      if (!manual && hit.entry.data.heldBackReason) return undefined;
      return this.serve({ requestId: hit.entry.data.requestId, docKey, text: hit.remainder, source: 'cache' }, hit.entry.text);
    }

    if (context.triggerKind === vscode.InlineCompletionTriggerKind.Automatic) {
      if (Date.now() - this.lastFailureAt < FAILURE_BACKOFF_MS) return undefined;
      const line = document.lineAt(position.line).text;
      const delay = this.debouncer.delayFor(settings.debounceMs, {
        charBefore: position.character > 0 ? line[position.character - 1] : position.line > 0 ? '\n' : '',
        atLineEnd: line.slice(position.character).trim() === '',
      });
      if (!(await sleepUnlessCancelled(delay, token))) return undefined;
    }
    if (token.isCancellationRequested) return undefined;
    const started = this.startDecode(document, cursor, manual);
    const text = await this.serveLive(started, '', settings, token, manual);
    if (manual && started.state === 'done' && started.displayText === '') this.tellNothingHere();
    return text;
  }

  private tellNothingHere(): void {
    vscode.window.setStatusBarMessage('$(info) dLLM: no completion at this position', 4000);
  }

  /**
   * Waits (while the call is current) for the decode to have something new to show, and returns it. Under the gate
   * an automatic call waits for the end and shows nothing when the answer is held back.
   */
  private async serveLive(live: LiveDecode, typed: string, settings: Settings, token: CancellationLike, manual: boolean): Promise<string | undefined> {
    const record = this.recent.get(live.requestId);
    const gated = !manual && (record?.gated ?? false);
    const ready = settings.progressiveGhostText && !gated
      ? () => live.displayText.length > typed.length
      : () => false; // wait for the end
    await Promise.race([live.until(ready), cancelled(token)]);
    if (token.isCancellationRequested || live.state === 'cancelled' || live.state === 'failed') return undefined;
    if (gated && record?.outcome?.heldBackReason) {
      this.log.debug(`${live.requestId}: held back (${record.outcome.heldBackReason})`);
      return undefined;
    }
    const full = live.displayText;
    if (!full.startsWith(typed)) return undefined;
    return this.serve({ requestId: live.requestId, docKey: live.docKey, text: full.slice(typed.length), source: live.running ? 'live' : 'new' }, full, live);
  }

  private serve(served: ServedCompletion, fullText: string, live?: LiveDecode): string | undefined {
    if (served.text === '') return undefined;
    const decode = live ?? this.recent.get(served.requestId)?.live;
    if (decode) decode.servedText = fullText;
    this.lastServed = served;
    this.servedLog.push(served);
    if (this.servedLog.length > 100) this.servedLog.shift();
    this.log.trace(`serve ${served.source} ${served.requestId}: ${JSON.stringify(served.text)}`);
    return served.text;
  }

  private startDecode(document: vscode.TextDocument, cursor: CursorContext, manual: boolean): LiveDecode {
    const { fitted, shape, docKey } = cursor;
    const settings = this.settings();
    const id = newRequestId('inline');
    const origin = { kind: 'inline' as const, document };
    const request = completionRequest(id, cursor, settings, { editorKey: `inline:${docKey}` });
    const live = new LiveDecode(id, makeAnchor(docKey, shape, fitted), cursor.filterContext, () => this.engine.cancel(id), cursor.healed);
    this.cancelLive(docKey, `replaced by ${id}`);
    this.live.set(docKey, live);
    const record: DecodeRecord = { live, request, gated: !manual && settings.minConfidence > 0 };
    this.recent.set(id, record);
    if (this.recent.size > 20) this.recent.delete(this.recent.keys().next().value!);
    this.updateContextKey();
    const target = {
      requestId: id,
      docKey,
      get running() { return live.running; },
      get servedText() { return live.servedText; },
      wanted: () => this.wantedText(live),
    };
    const sub = live.onDidChange(() => {
      if (live.state === 'running' || live.state === 'done') this.refresher.schedule(target);
      else this.refresher.drop(target);
    });
    this.engine.complete(origin, request, (e) => live.onStep(e)).then(
      (result) => {
        record.result = result;
        if (!result.cancelled) {
          // Into the cache before the decode reports "done", so the final refresh is served from it.
          const outcome = finishCompletion(result, cursor, settings, manual);
          record.outcome = outcome;
          this.engine.stats.noteGate(id, outcome.confidence, outcome.heldBackReason);
          this.cache.put(live.anchor, outcome.text, { requestId: id, heldBackReason: outcome.heldBackReason });
        }
        live.finish(result);
      },
      (err) => {
        if (!isCancellation(err)) this.lastFailureAt = Date.now();
        live.fail(err);
      },
    ).finally(() => {
      sub.dispose();
      if (this.live.get(docKey) === live) this.live.delete(docKey);
      this.updateContextKey();
    });
    return live;
  }

  /** The full text the active editor should show for a decode, given where its cursor is now. */
  private wantedText(live: LiveDecode): string | undefined {
    const editor = vscode.window.activeTextEditor;
    if (!editor || docKeyOf(editor.document) !== live.docKey) return undefined;
    const cursor = readCursorContext(editor.document, editor.selection.active, this.settings());
    const record = this.recent.get(live.requestId);
    if (live.running) {
      if (record?.gated) return undefined; // nothing is shown before the gate has judged the answer
      const offer = live.offerFor(live.docKey, cursor.shape, cursor.fitted);
      return offer && live.displayText;
    }
    const hit = this.cache.get(live.docKey, cursor.shape, cursor.fitted);
    if (!hit || hit.entry.data.requestId !== live.requestId) return undefined;
    return record?.gated && hit.entry.data.heldBackReason ? undefined : hit.entry.text;
  }

  private consumeManualTrigger(document: vscode.TextDocument, position: vscode.Position): boolean {
    const m = this.manualTrigger;
    if (!m || m.docKey !== docKeyOf(document) || m.version !== document.version || m.offset !== document.offsetAt(position)) return false;
    this.manualTrigger = undefined;
    return true;
  }

  /**
   * The cursor moved: a decode the new position no longer types along is cancelled. Checked a moment later against
   * the editor's current state, because selection events can describe a keystroke the document is already past.
   */
  private onSelectionChanged(e: vscode.TextEditorSelectionChangeEvent): void {
    if (!this.live.get(docKeyOf(e.textEditor.document))?.running) return;
    clearTimeout(this.selectionCheck);
    this.selectionCheck = setTimeout(() => this.checkCursor(e.textEditor), SELECTION_CHECK_DELAY_MS);
  }

  private checkCursor(editor: vscode.TextEditor): void {
    const docKey = docKeyOf(editor.document);
    const live = this.live.get(docKey);
    if (!live || !live.running || editor.document.isClosed) return;
    const selection = editor.selection;
    if (editor.selections.length !== 1 || !selection.isEmpty) {
      this.cancelLive(docKey, 'text selected');
      return;
    }
    const cursor = readCursorContext(editor.document, selection.active, this.settings());
    if (!live.offerFor(docKey, cursor.shape, cursor.fitted)) this.cancelLive(docKey, 'the cursor moved off it');
  }

  private cancelAllExcept(document: vscode.TextDocument | undefined): void {
    const keep = document && docKeyOf(document);
    for (const key of [...this.live.keys()]) if (key !== keep) this.cancelLive(key, 'another editor is active');
    this.updateContextKey();
  }

  private updateContextKey(): void {
    const active = vscode.window.activeTextEditor;
    const decoding = Boolean(active && this.live.get(docKeyOf(active.document))?.running);
    void vscode.commands.executeCommand('setContext', INLINE_DECODING_CONTEXT, decoding);
  }

  dispose(): void {
    clearTimeout(this.selectionCheck);
    for (const key of [...this.live.keys()]) this.cancelLive(key, 'shutting down');
    for (const d of this.disposables) d.dispose();
  }
}

function cancelled(token: CancellationLike): Promise<void> {
  return new Promise((resolve) => {
    if (token.isCancellationRequested) return resolve();
    const sub = token.onCancellationRequested(() => {
      sub.dispose();
      resolve();
    });
  });
}
