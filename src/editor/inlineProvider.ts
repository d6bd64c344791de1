// Inline (ghost text) completions. Per call: gate (enabled, language, scheme, no fill running), read the context
// window around the cursor, choose single- or multi-line, then serve, in order of preference,
//   1. the decode already running here (its stable prefix, minus what the user typed along it),
//   2. the cache (same context, or typed along a cached completion),
//   3. a new decode, after an adaptive debounce (none for explicit triggers).
// A decode outlives the provider call that started it: VS Code cancels calls on every keystroke, but typing along
// the ghost text keeps the decode; anything else (typing something else, moving the cursor, switching editors,
// Escape) cancels it.
import * as vscode from 'vscode';
import { type Settings, isLanguageEnabled } from '../config';
import type { CompletionRequest, CompletionResult } from '../engine/protocol';
import { CompletionCache, makeAnchor } from '../completion/completionCache';
import { chooseCompletionShape } from '../completion/completionShape';
import { type FittedContext, MODEL_WINDOW_TOKENS, fitContext, readWindowChars } from '../completion/contextWindow';
import { AdaptiveDebouncer, type CancellationLike, sleepUnlessCancelled } from '../completion/debounce';
import { type EngineSession, newRequestId } from './engineSession';
import { LiveDecode } from '../completion/liveDecode';
import { type Logger, errorMessage, isCancellation } from './logger';
import { type CompletionShape, applyPostFilters } from '../completion/postFilters';
import type { GhostTextRefresher } from './progressiveGhost';

/** After a failed request, automatic triggers pause this long (the status bar and a notification show the error). */
const FAILURE_BACKOFF_MS = 5000;
/** Delay before checking that a moved cursor still types along the running decode. */
const SELECTION_CHECK_DELAY_MS = 60;
const SUPPORTED_SCHEMES = new Set(['file', 'untitled', 'vscode-remote', 'vscode-vfs', 'vscode-notebook-cell']);
/** Context key: an inline decode runs for the active editor (Escape then also cancels it). */
export const INLINE_DECODING_CONTEXT = 'dllm.inlineDecoding';

export const docKeyOf = (document: vscode.TextDocument): string => document.uri.toString();

export interface CursorContext {
  fitted: FittedContext;
  shape: CompletionShape;
  docKey: string;
}

/** Reads the text around the cursor (never the whole document) and fits it to the model window. */
export function readCursorContext(document: vscode.TextDocument, position: vscode.Position, settings: Settings): CursorContext {
  const budget = { windowTokens: MODEL_WINDOW_TOKENS, canvasTokens: settings.maxNewTokens };
  const window = readWindowChars(budget);
  const offset = document.offsetAt(position);
  const startOffset = Math.max(0, offset - window);
  const endPosition = document.positionAt(offset + window);
  const prefix = document.getText(new vscode.Range(document.positionAt(startOffset), position));
  const suffix = document.getText(new vscode.Range(position, endPosition));
  const suffixIsFileEnd = document.offsetAt(endPosition) < offset + window;
  const fitted = fitContext(prefix, suffix, budget, { prefixIsFileStart: startOffset === 0, suffixIsFileEnd });
  return { fitted, shape: chooseCompletionShape(settings.completionMode, fitted.prefix, fitted.suffix), docKey: docKeyOf(document) };
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
  private readonly cache = new CompletionCache<string>(100);
  private readonly debouncer = new AdaptiveDebouncer();
  private readonly live = new Map<string, LiveDecode>();
  /** Recent decodes by request id, so a completion served from the cache is still tied to its decode. */
  private readonly recent = new Map<string, { live: LiveDecode; request: CompletionRequest; result?: CompletionResult }>();
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
  finished(requestId: string): { request: CompletionRequest; result: CompletionResult } | undefined {
    const r = this.recent.get(requestId);
    return r?.result && { request: r.request, result: r.result };
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
    if (!/\S/.test(fitted.prefix) && !/\S/.test(fitted.suffix)) return undefined;

    const live = this.live.get(docKey);
    if (live) {
      const offer = live.running ? live.offerFor(docKey, shape, fitted) : undefined;
      if (offer) return this.serveLive(live, offer.typed, settings, token);
      this.cancelLive(docKey, 'the text at the cursor no longer matches it');
    }

    const hit = this.cache.get(docKey, shape, fitted);
    if (hit) {
      if (manual && hit.remainder === '') this.tellNothingHere();
      return this.serve({ requestId: hit.entry.data, docKey, text: hit.remainder, source: 'cache' }, hit.entry.text);
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
    const started = this.startDecode(document, cursor);
    const text = await this.serveLive(started, '', settings, token);
    if (manual && started.state === 'done' && started.displayText === '') this.tellNothingHere();
    return text;
  }

  private tellNothingHere(): void {
    vscode.window.setStatusBarMessage('$(info) dLLM: no completion at this position', 4000);
  }

  /** Waits (while the call is current) for the decode to have something new to show, and returns it. */
  private async serveLive(live: LiveDecode, typed: string, settings: Settings, token: CancellationLike): Promise<string | undefined> {
    const ready = settings.progressiveGhostText
      ? () => live.displayText.length > typed.length
      : () => false; // wait for the end
    await Promise.race([live.until(ready), cancelled(token)]);
    if (token.isCancellationRequested || live.state === 'cancelled' || live.state === 'failed') return undefined;
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

  private startDecode(document: vscode.TextDocument, cursor: CursorContext): LiveDecode {
    const { fitted, shape, docKey } = cursor;
    const settings = this.settings();
    const id = newRequestId('inline');
    const origin = { kind: 'inline' as const, document };
    const request = this.engine.buildRequest(id, origin, {
      prefix: fitted.prefix,
      suffix: fitted.suffix,
      prefixIsFileStart: fitted.prefixIsFileStart,
      maxNewTokens: settings.maxNewTokens,
      singleLine: shape === 'singleLine',
      editorKey: `inline:${docKey}`,
    });
    const filterContext = {
      prefix: fitted.prefix, suffix: fitted.suffix, shape, languageId: document.languageId,
      prefixIsFileStart: fitted.prefixIsFileStart, suffixIsFileEnd: fitted.suffixIsFileEnd,
    };
    const live = new LiveDecode(id, makeAnchor(docKey, shape, fitted), filterContext, () => this.engine.cancel(id));
    this.cancelLive(docKey, `replaced by ${id}`);
    this.live.set(docKey, live);
    const record: { live: LiveDecode; request: CompletionRequest; result?: CompletionResult } = { live, request };
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
          const shown = applyPostFilters(result.completion, { ...live.filterContext, final: true });
          this.cache.put(live.anchor, shown, id);
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
    if (live.running) {
      const offer = live.offerFor(live.docKey, cursor.shape, cursor.fitted);
      return offer && live.displayText;
    }
    const hit = this.cache.get(live.docKey, cursor.shape, cursor.fitted);
    return hit && hit.entry.data === live.requestId ? hit.entry.text : undefined;
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
