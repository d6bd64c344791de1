// Fill Block: infills the selection, a placeholder line or an empty block (placeholder.ts has the convention).
// While the engine decodes, the region shows its masked positions filling in place (decorations only: the document
// is not touched). Escape cancels and leaves the region as it was. The answer lands as one edit (one undo step),
// and only if the region is unchanged: an edit inside it stops the fill, and the user is told.
import * as vscode from 'vscode';
import { FILL_ACTIVE_CONTEXT } from '../commandIds';
import type { StepEvent } from '../engine/protocol';
import { MODEL_WINDOW_TOKENS, fitContext } from '../completion/contextWindow';
import { type EngineSession, newRequestId } from './engineSession';
import { FillDecorations } from './fillDecorations';
import { docKeyOf } from './inlineProvider';
import { type Logger, errorMessage, isCancellation } from './logger';
import { type FillTarget, MAX_FILL_TOKENS, fillPrompt, fillReplacement, findFillTarget } from '../completion/placeholder';
import { applyPostFilters } from '../completion/postFilters';
import { healPrefix, unhealAnswer } from '../completion/prefixHealing';

/** Fills that run longer than this get a progress notification with a Cancel button. */
const PROGRESS_AFTER_MS = 1500;

export const NO_TARGET_MESSAGE = 'dLLM: nothing to fill here. Select the code to rewrite, or put the cursor on a placeholder ' +
  'line (`...`, `pass`, `TODO`, `// fill`, `# fill`) or in an empty block (`{}`, or a block with only blank lines).';

export type FillStatus = 'applied' | 'cancelled' | 'regionChanged' | 'documentClosed' | 'empty' | 'noTarget' | 'readOnly' | 'failed';

export const READ_ONLY_MESSAGE = 'dLLM: this document is read-only, so Fill Block cannot change it.';
export const ONE_SELECTION_MESSAGE = 'dLLM: Fill Block works on one selection or cursor at a time; nothing was changed.';

export interface FillOutcome {
  status: FillStatus;
  requestId?: string;
  /** The inserted text (status 'applied'). */
  text?: string;
  message?: string;
}

/** Command arguments: from the code lens ({ uri, line }) or the editor context menu (the document's Uri). */
export interface FillArgs {
  uri?: string;
  line?: number;
}

export interface FillStarted {
  requestId: string;
  docKey: string;
  /** Region offsets at the start. */
  start: number;
  end: number;
  target: FillTarget;
}

/** One running fill: the region follows edits elsewhere in the document; an edit inside it ends the fill. */
class RunningFill implements vscode.Disposable {
  start: number;
  end: number;
  readonly originalText: string;
  /** Why it stopped early, if it did. */
  stopped: 'cancelled' | 'regionChanged' | 'documentClosed' | undefined;
  lastStep: StepEvent | undefined;
  /** The edit the fill itself is applying (not a user change). */
  ownEdit: { offset: number; length: number; text: string } | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];
  private resolveDone!: () => void;
  /** Resolves when the fill has ended, whatever the outcome. */
  readonly done = new Promise<void>((resolve) => { this.resolveDone = resolve; });
  onStep: ((e: StepEvent) => void) | undefined;

  constructor(
    readonly requestId: string,
    readonly document: vscode.TextDocument,
    readonly target: FillTarget,
    private readonly stop: (why: 'regionChanged' | 'documentClosed') => void,
  ) {
    this.start = target.start;
    this.end = target.end;
    this.originalText = document.getText(this.range);
    this.subscriptions.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === this.document) this.follow(e.contentChanges);
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        if (doc === this.document) this.stop('documentClosed');
      }),
      // Closing the tab ends the fill too: VS Code keeps the document a while, and an edit then would leave a hidden
      // unsaved change. (A tab that is only hidden behind another keeps the fill going.)
      vscode.window.tabGroups.onDidChangeTabs(() => {
        if (!isInATab(this.document)) this.stop('documentClosed');
      }),
    );
  }

  get range(): vscode.Range {
    return new vscode.Range(this.document.positionAt(this.start), this.document.positionAt(this.end));
  }

  get editor(): vscode.TextEditor | undefined {
    return vscode.window.visibleTextEditors.find((e) => e.document === this.document);
  }

  /** Content changes are in the coordinates of the document before the event. */
  private follow(changes: readonly vscode.TextDocumentContentChangeEvent[]): void {
    if (this.stopped) return;
    const empty = this.start === this.end; // e.g. `{}`: typing at that point is typing into the region
    let shift = 0;
    for (const c of changes) {
      const own = this.ownEdit;
      if (own && c.rangeOffset === own.offset && c.rangeLength === own.length && c.text === own.text) continue;
      const from = c.rangeOffset;
      const to = c.rangeOffset + c.rangeLength;
      const before = to < this.start || (to === this.start && !(empty && from === this.start));
      const after = from > this.end || (from === this.end && !empty);
      if (before) shift += c.text.length - c.rangeLength;
      else if (!after) return this.stop('regionChanged');
    }
    this.start += shift;
    this.end += shift;
  }

  finish(): void {
    this.resolveDone();
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.resolveDone();
  }
}

export class FillBlockController implements vscode.Disposable {
  private active: RunningFill | undefined;
  private readonly decorations = new FillDecorations();
  private readonly startEmitter = new vscode.EventEmitter<FillStarted>();
  private readonly activeEmitter = new vscode.EventEmitter<void>();
  /** Internal, for tests: a fill has started decoding. */
  readonly onDidStart = this.startEmitter.event;

  constructor(private readonly engine: EngineSession, private readonly log: Logger) {}

  isActiveIn(docKey: string): boolean {
    return this.active !== undefined && docKeyOf(this.active.document) === docKey;
  }

  /** The line where the running fill starts in this document, if one runs there. */
  activeLine(docKey: string): number | undefined {
    const fill = this.active;
    return fill && !fill.stopped && docKeyOf(fill.document) === docKey ? fill.document.positionAt(fill.start).line : undefined;
  }

  /** Fires when a fill starts or ends. */
  readonly onDidChangeActive = this.activeEmitter.event;

  /** Escape / the Cancel button: stops the decode; the region stays as it was. */
  cancel(): void {
    const fill = this.active;
    if (!fill || fill.stopped) return;
    this.stopFill(fill, 'cancelled');
  }

  async run(rawArgs?: unknown): Promise<FillOutcome> {
    const args = parseArgs(rawArgs);
    const editor = await this.editorFor(args);
    if (!editor) {
      void vscode.window.showWarningMessage('dLLM: open a file to fill a block in it.');
      return { status: 'noTarget', message: 'no editor' };
    }
    const document = editor.document;
    if (vscode.workspace.fs.isWritableFileSystem(document.uri.scheme) === false) {
      void vscode.window.showInformationMessage(READ_ONLY_MESSAGE);
      return { status: 'readOnly', message: READ_ONLY_MESSAGE };
    }
    if (args.line === undefined && editor.selections.length > 1) {
      void vscode.window.showInformationMessage(ONE_SELECTION_MESSAGE);
      return { status: 'noTarget', message: ONE_SELECTION_MESSAGE };
    }
    const text = document.getText();
    const useSelection = args.line === undefined && !editor.selection.isEmpty;
    const cursor = args.line !== undefined && args.line < document.lineCount
      ? document.offsetAt(new vscode.Position(args.line, document.lineAt(args.line).firstNonWhitespaceCharacterIndex))
      : document.offsetAt(editor.selection.active);
    const selection = useSelection
      ? { start: document.offsetAt(editor.selection.start), end: document.offsetAt(editor.selection.end) }
      : undefined;
    const target = findFillTarget(text, cursor, selection, indentUnitOf(editor));
    if (!target) {
      void vscode.window.showInformationMessage(NO_TARGET_MESSAGE);
      return { status: 'noTarget', message: NO_TARGET_MESSAGE };
    }
    if (this.active) this.cancel(); // a new fill replaces the running one
    return this.fill(editor, text, target);
  }

  private async fill(editor: vscode.TextEditor, text: string, target: FillTarget): Promise<FillOutcome> {
    const document = editor.document;
    const canvasTokens = Math.min(target.canvasTokens, MAX_FILL_TOKENS);
    const prompt = fillPrompt(text, target);
    const fitted = fitContext(prompt.prefix, prompt.suffix, { windowTokens: MODEL_WINDOW_TOKENS, canvasTokens });
    const asked = healPrefix(fitted.prefix); // the region's leading whitespace goes back to the model (prefixHealing.ts)
    const id = newRequestId('fill');
    const origin = { kind: 'fill' as const, document };
    const request = this.engine.buildRequest(id, origin, {
      prefix: asked.prefix,
      suffix: fitted.suffix,
      prefixIsFileStart: fitted.prefixIsFileStart,
      maxNewTokens: canvasTokens,
      singleLine: false,
      editorKey: `fill:${docKeyOf(document)}`,
    });
    const fill = new RunningFill(id, document, target, (why) => this.stopFill(fill, why));
    this.active = fill;
    void vscode.commands.executeCommand('setContext', FILL_ACTIVE_CONTEXT, true);
    this.activeEmitter.fire();
    const startsOnNewLine = target.leading.includes('\n');
    const redraw = (canvas: ReadonlyArray<string | null>) => {
      const e = fill.editor;
      if (e && !fill.stopped) this.decorations.show(e, fill.range, canvas, startsOnNewLine);
    };
    redraw(new Array(canvasTokens).fill(null));
    const progressTimer = setTimeout(() => this.showProgress(fill, canvasTokens), PROGRESS_AFTER_MS);
    this.log.info(`${id}: filling ${target.description} in ${document.uri.fsPath} (${canvasTokens} masked positions)`);
    this.startEmitter.fire({ requestId: id, docKey: docKeyOf(document), start: fill.start, end: fill.end, target });

    try {
      const result = await this.engine.complete(origin, request, (e) => {
        fill.lastStep = e;
        redraw(e.canvas);
        fill.onStep?.(e);
      });
      if (fill.stopped) return this.stoppedOutcome(fill);
      if (result.cancelled) return { status: 'cancelled', requestId: id };
      const answer = applyPostFilters(unhealAnswer(result.completion, asked.healed), {
        prefix: fitted.prefix, suffix: fitted.suffix, shape: 'multiLine', final: true,
        languageId: document.languageId, prefixIsFileStart: fitted.prefixIsFileStart, suffixIsFileEnd: fitted.suffixIsFileEnd,
      });
      if (answer === '') {
        const dropped = result.completion.trim() !== '';
        if (dropped) this.log.info(`${id}: post-filters dropped the answer ${JSON.stringify(result.completion)}`);
        const message = dropped
          ? `dLLM: the model's answer for ${target.description} did not fit the code around it (it would leave brackets ` +
            'or strings unbalanced, or repeat nearby code); nothing was changed.'
          : `dLLM: the model produced nothing for ${target.description}; nothing was changed.`;
        void vscode.window.showInformationMessage(message);
        return { status: 'empty', requestId: id, message };
      }
      return await this.apply(fill, answer);
    } catch (err) {
      if (fill.stopped) return this.stoppedOutcome(fill);
      if (isCancellation(err)) return { status: 'cancelled', requestId: id };
      return { status: 'failed', requestId: id, message: errorMessage(err) }; // the engine session reported it
    } finally {
      clearTimeout(progressTimer);
      this.decorations.clear(fill.editor);
      fill.dispose();
      if (this.active === fill) {
        this.active = undefined;
        void vscode.commands.executeCommand('setContext', FILL_ACTIVE_CONTEXT, false);
      }
      this.activeEmitter.fire();
    }
  }

  private async apply(fill: RunningFill, answer: string): Promise<FillOutcome> {
    const { document, target, requestId } = fill;
    const replacement = fillReplacement(target, answer);
    this.decorations.clear(fill.editor);
    // VS Code refuses an edit made against an older document version; a user edit can land just before ours,
    // so retry with the region as it follows that edit (an edit inside the region stops the fill instead).
    for (let attempt = 0; attempt < 3; attempt++) {
      if (fill.stopped || document.isClosed || document.getText(fill.range) !== fill.originalText) break;
      const range = fill.range;
      const editor = fill.editor;
      fill.ownEdit = { offset: fill.start, length: fill.end - fill.start, text: replacement };
      const version = document.version;
      let applied: boolean;
      if (editor) {
        applied = await editor.edit((b) => b.replace(range, replacement));
      } else {
        const edit = new vscode.WorkspaceEdit();
        edit.replace(document.uri, range, replacement);
        applied = await vscode.workspace.applyEdit(edit);
      }
      // A read-only editor (files.readonlyInclude) reports success without changing anything.
      if (!applied || document.version === version) continue;
      const inserted = new vscode.Range(document.positionAt(fill.start), document.positionAt(fill.start + replacement.length));
      const shown = fill.editor;
      if (shown) this.decorations.flash(shown, inserted);
      this.log.info(`${requestId}: filled ${target.description} with ${answer.length} characters`);
      return { status: 'applied', requestId, text: replacement };
    }
    if (fill.stopped === 'documentClosed' || document.isClosed) return { status: 'documentClosed', requestId };
    if (!fill.stopped && document.getText(fill.range) === fill.originalText) {
      // The region is as it was, yet every edit was refused: a read-only editor on a writable file system
      // (e.g. files.readonlyInclude), which the up-front check cannot see.
      const message = `dLLM: VS Code refused to change ${target.description} (is the document read-only?); nothing was changed.`;
      void vscode.window.showWarningMessage(message);
      return { status: 'readOnly', requestId, message };
    }
    return this.tellRegionChanged(fill);
  }

  private stopFill(fill: RunningFill, why: 'cancelled' | 'regionChanged' | 'documentClosed'): void {
    if (fill.stopped) return;
    fill.stopped = why;
    this.engine.cancel(fill.requestId);
    this.decorations.clear(fill.editor);
    fill.finish();
    this.activeEmitter.fire();
    this.log.info(`${fill.requestId}: fill stopped (${why})`);
    if (why === 'cancelled') vscode.window.setStatusBarMessage('$(circle-slash) dLLM: fill cancelled; the code is unchanged', 4000);
  }

  private stoppedOutcome(fill: RunningFill): FillOutcome {
    switch (fill.stopped) {
      case 'regionChanged': return this.tellRegionChanged(fill);
      case 'documentClosed': return { status: 'documentClosed', requestId: fill.requestId };
      default: return { status: 'cancelled', requestId: fill.requestId };
    }
  }

  private tellRegionChanged(fill: RunningFill): FillOutcome {
    const message = `dLLM: ${fill.target.description} was edited while it was being filled, so nothing was applied.`;
    void vscode.window.showWarningMessage(message);
    return { status: 'regionChanged', requestId: fill.requestId, message };
  }

  private showProgress(fill: RunningFill, canvasTokens: number): void {
    if (fill.stopped || this.active !== fill) return;
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `dLLM: filling ${fill.target.description}`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => {
          if (this.active === fill) this.cancel();
        });
        let reported = 0;
        fill.onStep = (e) => {
          const committed = canvasTokens - e.maskedRemaining;
          const increment = ((committed - reported) / canvasTokens) * 100;
          reported = committed;
          progress.report({ message: `step ${e.step}: ${committed} of ${canvasTokens} positions decided`, increment });
        };
        await fill.done;
      },
    );
  }

  private async editorFor(args: FillArgs): Promise<vscode.TextEditor | undefined> {
    const active = vscode.window.activeTextEditor;
    if (!args.uri || (active && active.document.uri.toString() === args.uri)) return active;
    const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === args.uri);
    if (visible) return visible;
    try {
      return await vscode.window.showTextDocument(vscode.Uri.parse(args.uri));
    } catch (err) {
      this.log.warn(`fill block: cannot open ${args.uri}: ${errorMessage(err)}`);
      return undefined;
    }
  }

  dispose(): void {
    this.cancel();
    this.decorations.dispose();
    this.startEmitter.dispose();
    this.activeEmitter.dispose();
  }
}

function parseArgs(raw: unknown): FillArgs {
  if (raw instanceof vscode.Uri) return { uri: raw.toString() };
  if (typeof raw !== 'object' || raw === null) return {};
  const { uri, line } = raw as Record<string, unknown>;
  return {
    uri: typeof uri === 'string' ? uri : undefined,
    line: typeof line === 'number' && Number.isInteger(line) && line >= 0 ? line : undefined,
  };
}

/** Whether an editor tab (text or diff) still holds the document. Notebook cells count as held. */
function isInATab(document: vscode.TextDocument): boolean {
  if (document.uri.scheme === 'vscode-notebook-cell') return true;
  const uri = document.uri.toString();
  return vscode.window.tabGroups.all.some((group) => group.tabs.some(({ input }) =>
    (input instanceof vscode.TabInputText && input.uri.toString() === uri) ||
    (input instanceof vscode.TabInputTextDiff && (input.modified.toString() === uri || input.original.toString() === uri))));
}

function indentUnitOf(editor: vscode.TextEditor): string {
  const size = typeof editor.options.tabSize === 'number' ? editor.options.tabSize : 4;
  return editor.options.insertSpaces === false ? '\t' : ' '.repeat(size);
}
