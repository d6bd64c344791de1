// Fill All: fills every placeholder line and empty block of the selection (or of the whole file) in one joint decode:
// every region is a masked segment of one sequence (src/engine/fill.ts). While it decodes, each region shows its
// masks turning into code in place; Escape cancels all of them. The answers land as ONE edit (one undo), and only if
// no region was edited meanwhile: an edit inside any region stops the fill and applies nothing.
import * as vscode from 'vscode';
import { FILL_ACTIVE_CONTEXT } from '../commandIds';
import { fillAllEdits, fillPieces, findAllFillTargets, MAX_FILL_ALL_REGIONS, targetContext } from '../completion/fillAllTargets';
import { renderCanvas } from '../completion/fillCanvas';
import type { FillTarget } from '../completion/placeholder';
import { applyPostFilters } from '../completion/postFilters';
import type { StepEvent } from '../engine/protocol';
import { type EngineSession, newRequestId } from './engineSession';
import { FillDecorations } from './fillDecorations';
import { docKeyOf } from './inlineProvider';
import { type Logger, errorMessage, isCancellation } from './logger';

export const NO_TARGETS_MESSAGE = 'dLLM: nothing to fill. Fill All fills every placeholder line (`...`, `pass`, `TODO`, ' +
  '`// fill`, `# fill`) and empty block (`{}`, or a block with only blank lines) in the selection, or in the whole file.';
export const READ_ONLY_FILL_ALL_MESSAGE = 'dLLM: this document is read-only, so Fill All cannot change it.';

export type FillAllStatus = 'applied' | 'cancelled' | 'regionChanged' | 'documentClosed' | 'empty' | 'noTarget' | 'readOnly' | 'failed';

export interface FillAllOutcome {
  status: FillAllStatus;
  requestId?: string;
  /** Regions found, and regions changed by the edit. */
  regions?: number;
  applied?: number;
  message?: string;
}

export interface FillAllStarted {
  requestId: string;
  docKey: string;
  targets: FillTarget[];
}

interface TrackedRegion {
  start: number;
  end: number;
  readonly original: string;
}

/** One running Fill All: its regions follow edits elsewhere in the document; an edit inside any of them stops it. */
class RunningFillAll implements vscode.Disposable {
  readonly regions: TrackedRegion[];
  stopped: 'cancelled' | 'regionChanged' | 'documentClosed' | undefined;
  /** The replacements the fill itself is applying (their change events are not the user's). */
  ownEdits: { offset: number; length: number; text: string }[] = [];
  onStep: ((e: StepEvent) => void) | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];
  private resolveDone!: () => void;
  readonly done = new Promise<void>((resolve) => { this.resolveDone = resolve; });

  constructor(
    readonly requestId: string,
    readonly document: vscode.TextDocument,
    readonly targets: FillTarget[],
    private readonly stop: (why: 'regionChanged' | 'documentClosed') => void,
  ) {
    this.regions = targets.map((t) => ({ start: t.start, end: t.end, original: document.getText().slice(t.start, t.end) }));
    this.subscriptions.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === this.document) this.follow(e.contentChanges);
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        if (doc === this.document) this.stop('documentClosed');
      }),
    );
  }

  range(i: number): vscode.Range {
    const r = this.regions[i];
    return new vscode.Range(this.document.positionAt(r.start), this.document.positionAt(r.end));
  }

  get editor(): vscode.TextEditor | undefined {
    return vscode.window.visibleTextEditors.find((e) => e.document === this.document);
  }

  /** Whether every region still holds its original text. */
  get unchanged(): boolean {
    const text = this.document.getText();
    return this.regions.every((r) => text.slice(r.start, r.end) === r.original);
  }

  /** Content changes are in the coordinates of the document before the event. */
  private follow(changes: readonly vscode.TextDocumentContentChangeEvent[]): void {
    if (this.stopped) return;
    const own = (c: vscode.TextDocumentContentChangeEvent) =>
      this.ownEdits.some((o) => o.offset === c.rangeOffset && o.length === c.rangeLength && o.text === c.text);
    changes = changes.filter((c) => !own(c));
    if (changes.length === 0) return;
    for (const r of this.regions) {
      const empty = r.start === r.end;
      let shift = 0;
      for (const c of changes) {
        const from = c.rangeOffset;
        const to = c.rangeOffset + c.rangeLength;
        const before = to < r.start || (to === r.start && !(empty && from === r.start));
        const after = from > r.end || (from === r.end && !empty);
        if (before) shift += c.text.length - c.rangeLength;
        else if (!after) return this.stop('regionChanged');
      }
      r.start += shift;
      r.end += shift;
    }
  }

  finish(): void {
    this.resolveDone();
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.resolveDone();
  }
}

export class FillAllController implements vscode.Disposable {
  private active: RunningFillAll | undefined;
  private readonly decorations = new FillDecorations();
  private readonly startEmitter = new vscode.EventEmitter<FillAllStarted>();
  private readonly activeEmitter = new vscode.EventEmitter<void>();
  private readonly drawEmitter = new vscode.EventEmitter<string[]>();
  /** Internal, for tests: a Fill All has started decoding. */
  readonly onDidStart = this.startEmitter.event;
  /** Internal, for tests: the canvas text drawn over each region (masks as "░"), on every redraw. */
  readonly onDidDraw = this.drawEmitter.event;
  readonly onDidChangeActive = this.activeEmitter.event;

  constructor(private readonly engine: EngineSession, private readonly log: Logger) {}

  get running(): boolean {
    return this.active !== undefined && !this.active.stopped;
  }

  isActiveIn(docKey: string): boolean {
    return this.active !== undefined && docKeyOf(this.active.document) === docKey;
  }

  /** Escape / the Cancel button: stops the decode; every region stays as it was. */
  cancel(): void {
    const fill = this.active;
    if (fill && !fill.stopped) this.stopFill(fill, 'cancelled');
  }

  async run(): Promise<FillAllOutcome> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showWarningMessage('dLLM: open a file to fill its placeholders.');
      return { status: 'noTarget', message: 'no editor' };
    }
    const document = editor.document;
    if (vscode.workspace.fs.isWritableFileSystem(document.uri.scheme) === false) {
      void vscode.window.showInformationMessage(READ_ONLY_FILL_ALL_MESSAGE);
      return { status: 'readOnly', message: READ_ONLY_FILL_ALL_MESSAGE };
    }
    const text = document.getText();
    const selections = editor.selections.filter((s) => !s.isEmpty);
    const ranges = selections.length > 0
      ? selections.map((s) => ({ start: document.offsetAt(s.start), end: document.offsetAt(s.end) }))
      : [undefined];
    const seen = new Set<number>();
    const targets = ranges.flatMap((r) => findAllFillTargets(text, r, indentUnitOf(editor)))
      .filter((t) => !seen.has(t.start) && seen.add(t.start))
      .sort((a, b) => a.start - b.start);
    if (targets.length === 0) {
      void vscode.window.showInformationMessage(NO_TARGETS_MESSAGE);
      return { status: 'noTarget', message: NO_TARGETS_MESSAGE };
    }
    if (targets.length > MAX_FILL_ALL_REGIONS) {
      const message = `dLLM: Fill All fills at most ${MAX_FILL_ALL_REGIONS} regions at once; this range has ${targets.length}. ` +
        'Select part of the file and run it again.';
      void vscode.window.showInformationMessage(message);
      return { status: 'noTarget', regions: targets.length, message };
    }
    if (this.active) this.cancel();
    return this.fill(editor, text, targets);
  }

  private async fill(editor: vscode.TextEditor, text: string, targets: FillTarget[]): Promise<FillAllOutcome> {
    const document = editor.document;
    const id = newRequestId('fill');
    const origin = { kind: 'fill' as const, document };
    const holeTokens = targets.map((t) => t.canvasTokens);
    const request = {
      ...this.engine.buildRequest(id, origin, { prefix: '', suffix: '', editorKey: `fill:${docKeyOf(document)}`, prefixIsFileStart: true }),
      fill: { pieces: fillPieces(text, targets), holeTokens, mode: 'joint' as const },
    };
    const fill = new RunningFillAll(id, document, targets, (why) => this.stopFill(fill, why));
    this.active = fill;
    void vscode.commands.executeCommand('setContext', FILL_ACTIVE_CONTEXT, true);
    this.activeEmitter.fire();
    const redraw = (canvases: ReadonlyArray<ReadonlyArray<string | null>>) => {
      const e = fill.editor;
      if (!e || fill.stopped) return;
      this.decorations.showMany(e, targets.map((t, i) => ({
        region: fill.range(i), canvas: canvases[i] ?? [], answerStartsOnNewLine: t.leading.includes('\n'),
      })));
      this.drawEmitter.fire(targets.map((_, i) => renderCanvas(canvases[i] ?? [])));
    };
    redraw(holeTokens.map((n) => new Array(n).fill(null)));
    const total = holeTokens.reduce((a, b) => a + b, 0);
    const progressTimer = setTimeout(() => this.showProgress(fill, total), 1500);
    this.log.info(`${id}: Fill All of ${targets.length} regions in ${document.uri.fsPath} (${holeTokens.join(' + ')} masked positions)`);
    this.startEmitter.fire({ requestId: id, docKey: docKeyOf(document), targets });
    try {
      const result = await this.engine.complete(origin, request, (e) => {
        if (e.holes) redraw(e.holes.map((h) => h.canvas));
        fill.onStep?.(e);
      });
      if (fill.stopped) return this.stoppedOutcome(fill);
      if (result.cancelled || !result.fill) return { status: 'cancelled', requestId: id, regions: targets.length };
      // Post-filters per region, as Fill Block applies them.
      const answers = result.fill.holes.map((h, i) => {
        const context = targetContext(text, targets[i]);
        const answer = applyPostFilters(h.text, {
          ...context, shape: 'multiLine', final: true, languageId: document.languageId,
          prefixIsFileStart: true, suffixIsFileEnd: true,
        });
        if (answer === '' && h.text.trim() !== '') this.log.info(`${id}: post-filters dropped region ${i + 1}'s answer ${JSON.stringify(h.text)}`);
        return answer;
      });
      const edits = fillAllEdits(targets, answers);
      if (edits.length === 0) {
        const message = `dLLM: the model produced nothing usable for the ${targets.length} regions; nothing was changed.`;
        void vscode.window.showInformationMessage(message);
        return { status: 'empty', requestId: id, regions: targets.length, applied: 0, message };
      }
      return await this.apply(fill, targets, answers, edits.length);
    } catch (err) {
      if (fill.stopped) return this.stoppedOutcome(fill);
      if (isCancellation(err)) return { status: 'cancelled', requestId: id };
      return { status: 'failed', requestId: id, message: errorMessage(err) };
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

  /** One edit with every region's replacement: one undo step. */
  private async apply(fill: RunningFillAll, targets: FillTarget[], answers: string[], count: number): Promise<FillAllOutcome> {
    const { document, requestId } = fill;
    this.decorations.clear(fill.editor);
    for (let attempt = 0; attempt < 3; attempt++) {
      if (fill.stopped || document.isClosed || !fill.unchanged) break;
      const replacements = targets.flatMap((t, i) => (answers[i] === '' ? [] : [{
        range: fill.range(i), text: t.leading + answers[i] + t.trailing,
      }]));
      const version = document.version;
      const editor = fill.editor;
      fill.ownEdits = targets.flatMap((t, i) => (answers[i] === '' ? [] : [{
        offset: fill.regions[i].start, length: fill.regions[i].end - fill.regions[i].start, text: t.leading + answers[i] + t.trailing,
      }]));
      let applied: boolean;
      try {
        if (editor) {
          applied = await editor.edit((b) => { for (const r of replacements) b.replace(r.range, r.text); });
        } else {
          const edit = new vscode.WorkspaceEdit();
          for (const r of replacements) edit.replace(document.uri, r.range, r.text);
          applied = await vscode.workspace.applyEdit(edit);
        }
      } finally {
        fill.ownEdits = [];
      }
      if (!applied || document.version === version) continue;
      this.log.info(`${requestId}: Fill All changed ${count} of ${targets.length} regions`);
      if (count < targets.length) {
        void vscode.window.showInformationMessage(`dLLM: filled ${count} of ${targets.length} regions; the model's answer ` +
          'for the others was empty or did not fit the code around it.');
      }
      return { status: 'applied', requestId, regions: targets.length, applied: count };
    }
    if (fill.stopped === 'documentClosed' || document.isClosed) return { status: 'documentClosed', requestId };
    if (!fill.stopped && fill.unchanged) {
      const message = 'dLLM: VS Code refused to change the document (is it read-only?); nothing was changed.';
      void vscode.window.showWarningMessage(message);
      return { status: 'readOnly', requestId, message };
    }
    return this.tellRegionChanged(fill);
  }

  private stopFill(fill: RunningFillAll, why: 'cancelled' | 'regionChanged' | 'documentClosed'): void {
    if (fill.stopped) return;
    fill.stopped = why;
    this.engine.cancel(fill.requestId);
    this.decorations.clear(fill.editor);
    fill.finish();
    this.activeEmitter.fire();
    this.log.info(`${fill.requestId}: Fill All stopped (${why})`);
    if (why === 'cancelled') vscode.window.setStatusBarMessage('$(circle-slash) dLLM: Fill All cancelled; the code is unchanged', 4000);
  }

  private stoppedOutcome(fill: RunningFillAll): FillAllOutcome {
    switch (fill.stopped) {
      case 'regionChanged': return this.tellRegionChanged(fill);
      case 'documentClosed': return { status: 'documentClosed', requestId: fill.requestId };
      default: return { status: 'cancelled', requestId: fill.requestId, regions: fill.targets.length };
    }
  }

  private tellRegionChanged(fill: RunningFillAll): FillAllOutcome {
    const message = 'dLLM: a region was edited while Fill All was filling it, so nothing was applied.';
    void vscode.window.showWarningMessage(message);
    return { status: 'regionChanged', requestId: fill.requestId, regions: fill.targets.length, message };
  }

  private showProgress(fill: RunningFillAll, total: number): void {
    if (fill.stopped || this.active !== fill) return;
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `dLLM: filling ${fill.targets.length} regions`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => {
          if (this.active === fill) this.cancel();
        });
        let reported = 0;
        fill.onStep = (e) => {
          const committed = total - e.maskedRemaining;
          progress.report({ message: `step ${e.step}: ${committed} of ${total} positions decided`, increment: ((committed - reported) / total) * 100 });
          reported = committed;
        };
        await fill.done;
      },
    );
  }

  dispose(): void {
    this.cancel();
    this.decorations.dispose();
    this.startEmitter.dispose();
    this.activeEmitter.dispose();
    this.drawEmitter.dispose();
  }
}

function indentUnitOf(editor: vscode.TextEditor): string {
  const size = typeof editor.options.tabSize === 'number' ? editor.options.tabSize : 4;
  return editor.options.insertSpaces === false ? '\t' : ' '.repeat(size);
}
