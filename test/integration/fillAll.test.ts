// dLLM: Fill All in the real extension host. The mechanics (one edit, one undo, progress in every region, cancel,
// an edit inside a region) run on a scripted engine that replays a fixed joint decode, so they are checked whatever
// the bundled model answers; the last test runs the real model end to end.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import type { EngineClientLike } from '../../src/editor/engineSession';
import type { FillAllOutcome, FillAllStarted } from '../../src/editor/fillAll';
import type { CompletionRequest, CompletionResult, StepEvent } from '../../src/engine/protocol';
import type { DllmExtensionApi } from '../../src/extension';
import { closeAllEditors, extensionApi, waitFor } from './editorHelpers';

const STEP_MS = 120;

/** Replays one answer per hole, one piece per step in every hole at once (a joint decode), with per-hole step events. */
class ScriptedJointEngine implements EngineClientLike {
  requests: CompletionRequest[] = [];
  private readonly cancelled = new Set<string>();

  /** `holdUntil`: the decode's first step waits for it (a test's edit lands during the fill however loaded the machine). */
  constructor(private readonly answers: string[][], private readonly holdUntil?: Promise<unknown>) {}

  async complete(request: CompletionRequest, onStep?: (e: StepEvent) => void): Promise<CompletionResult> {
    this.requests.push(request);
    await this.holdUntil;
    const fill = request.fill!;
    const sizes = fill.holeTokens ?? fill.pieces.slice(1).map(() => 16);
    const canvases = sizes.map((n) => new Array<string | null>(n).fill(null));
    const steps = Math.max(...this.answers.map((a) => a.length));
    let step = 0;
    for (; step < steps; step++) {
      await new Promise((r) => setTimeout(r, STEP_MS));
      if (this.cancelled.has(request.id)) return this.result(request, step, true);
      this.answers.forEach((pieces, h) => { if (step < pieces.length) canvases[h][step] = pieces[step]; });
      onStep?.({
        requestId: request.id, step: step + 1, commits: [], canvas: [], stablePrefix: '',
        maskedRemaining: canvases.reduce((a, c) => a + c.filter((x) => x === null).length, 0),
        holes: canvases.map((c) => ({ canvas: [...c], stablePrefix: '' })),
      });
    }
    await new Promise((r) => setTimeout(r, STEP_MS));
    return this.result(request, step, this.cancelled.has(request.id));
  }

  private result(request: CompletionRequest, steps: number, cancelled: boolean): CompletionResult {
    const holes = this.answers.map((pieces, h) => ({
      text: cancelled ? '' : pieces.join(''), tokenIds: [], canvasLength: request.fill!.holeTokens?.[h] ?? 16,
      steps: Math.min(steps, pieces.length), doneAtStep: Math.min(steps, pieces.length), group: 0, stopReason: 'complete' as const,
      trace: pieces.slice(0, steps).map((text, index) => ({ index, text, step: index + 1, rule: 'threshold' as const, confidence: 0.95 })),
    }));
    // Filling one hole after another takes as many steps as all the answers' pieces together.
    const sequential = request.fill!.mode === 'sequential';
    const nfe = sequential ? this.answers.reduce((a, p) => a + p.length, 0) : steps;
    return {
      requestId: request.id, completion: '', cancelled, stopReason: cancelled ? 'cancelled' : 'complete', tokenIds: [], trace: [],
      commitsPerStep: new Array(steps).fill(this.answers.length),
      fill: { mode: sequential ? 'sequential' : 'joint', holes, groups: sequential ? holes.length : 1, nfe, ms: steps * STEP_MS, fullPasses: 1, queryTokens: 0, commitsPerStep: new Array(steps).fill(this.answers.length) },
      metrics: {
        nfe: steps, tokens: steps, tokensPerStep: 1, ms: steps * STEP_MS, timeToFirstCommitMs: STEP_MS, lladaNfe: 48,
        stepsSavedVsLladaPct: 0, policy: 'r2', cache: 'dual', executionProvider: 'scripted', canvasLength: 48,
        committedPositions: steps, queryTokens: 0, prefixTokens: 0, suffixTokens: 0, truncatedPrefixChars: 0, truncatedSuffixChars: 0, loadMs: 0,
      },
    };
  }

  cancel(id: string): void {
    this.cancelled.add(id);
  }

  cancelEditor(): void {}
  onStatus() { return { dispose() {} }; }
  reconfigure(): void {}
  async dispose(): Promise<void> {}
}

const THREE_PLACEHOLDERS = [
  'function add(a, b) {',
  '  // fill',
  '}',
  '',
  'function sub(a, b) {',
  '  // fill',
  '}',
  '',
  'function mul(a, b) {',
  '  // fill',
  '}',
  '',
].join('\n');

const ANSWERS = [['return', ' a', ' +', ' b;'], ['return', ' a', ' -', ' b;'], ['return', ' a', ' *', ' b;']];
const FILLED = THREE_PLACEHOLDERS.replace('// fill', 'return a + b;').replace('// fill', 'return a - b;').replace('// fill', 'return a * b;');

const fillAll = () => vscode.commands.executeCommand<FillAllOutcome>('dllm.fillAll');

const FILES = fs.mkdtempSync(path.join(os.tmpdir(), 'dllm-fill-all-'));
let fileCount = 0;

/** A new file each time: an untitled document's name is reused after it closes, and with it (seen under load) edits. */
async function open(content: string) {
  const file = path.join(FILES, `fill-${++fileCount}.js`);
  fs.writeFileSync(file, content);
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  assert.equal(doc.getText(), content, 'a fresh document');
  const editor = await vscode.window.showTextDocument(doc);
  editor.selection = new vscode.Selection(0, 0, 0, 0);
  return { doc, editor };
}

suite('fill all (scripted engine: mechanics)', function () {
  this.timeout(60_000);
  let t: DllmExtensionApi['testing'];

  suiteSetup(async () => {
    t = (await extensionApi()).api.testing;
  });

  teardown(async () => {
    t.engine.useClientForTests(undefined);
    await closeAllEditors();
  });

  test('three placeholders: one request with three holes, progress in all three, one edit, one undo restores all', async () => {
    const engine = new ScriptedJointEngine(ANSWERS);
    t.engine.useClientForTests(engine);
    const { doc } = await open(THREE_PLACEHOLDERS);
    const drawn: string[][] = [];
    const sub = t.fillAll.onDidDraw((texts) => drawn.push(texts));
    const versionBefore = doc.version;
    const outcome = await fillAll();
    sub.dispose();
    assert.equal(outcome.status, 'applied');
    assert.equal(outcome.regions, 3);
    assert.equal(outcome.applied, 3);
    assert.equal(engine.requests.length, 1, 'one joint request');
    assert.equal(engine.requests[0].fill?.pieces.length, 4);
    assert.equal(engine.requests[0].fill?.mode, 'joint');
    assert.equal(doc.getText(), FILLED);
    assert.equal(doc.version, versionBefore + 1, 'one edit');
    // Progress: a redraw where every region shows code and masks together, then one where each holds its whole answer.
    assert.ok(drawn.some((d) => d.length === 3 && d.every((x) => x.startsWith('return') && x.includes('░'))),
      `every region fills in place: ${JSON.stringify(drawn.slice(0, 3))}`);
    assert.ok(drawn.some((d) => d[0].startsWith('return a + b;') && d[1].startsWith('return a - b;') && d[2].startsWith('return a * b;')));
    await vscode.commands.executeCommand('undo');
    await waitFor(() => doc.getText() === THREE_PLACEHOLDERS, 'one undo to restore every region', 5000);
    await vscode.commands.executeCommand('redo');
    await waitFor(() => doc.getText() === FILLED, 'redo to bring all three back', 5000);
  });

  test('Escape (dllm.cancelFill) cancels all regions: the file is unchanged', async () => {
    t.engine.useClientForTests(new ScriptedJointEngine(ANSWERS.map((a) => [...a, ...a, ...a])));
    const { doc } = await open(THREE_PLACEHOLDERS);
    const versionBefore = doc.version;
    const drawnOnce = new Promise<void>((resolve) => {
      const sub = t.fillAll.onDidDraw((d) => { if (d.some((x) => x.startsWith('return'))) { sub.dispose(); resolve(); } });
    });
    const pending = fillAll();
    await drawnOnce;
    await vscode.commands.executeCommand('dllm.cancelFill');
    const outcome = await pending;
    assert.equal(outcome.status, 'cancelled');
    await new Promise((r) => setTimeout(r, 4 * STEP_MS));
    assert.equal(doc.getText(), THREE_PLACEHOLDERS);
    assert.equal(doc.version, versionBefore, 'no edit at all');
  });

  test('an edit inside one region while it fills: nothing is applied anywhere, the user is told', async () => {
    const { doc, editor } = await open(THREE_PLACEHOLDERS);
    const edited = new Promise<void>((resolve) => {
      const sub = t.fillAll.onDidStart(async (s: FillAllStarted) => {
        sub.dispose();
        await editor.edit((b) => b.insert(doc.positionAt(s.targets[1].start + 2), 'X'));
        resolve();
      });
    });
    t.engine.useClientForTests(new ScriptedJointEngine(ANSWERS, edited));
    const outcome = await fillAll();
    await edited;
    assert.equal(outcome.status, 'regionChanged');
    assert.match(outcome.message ?? '', /edited while Fill All was filling/);
    const expected = THREE_PLACEHOLDERS.replace('// fill\n}\n\nfunction mul', '//X fill\n}\n\nfunction mul');
    assert.equal(doc.getText(), expected, 'only the user\'s edit is in the document');
  });

  test('an edit outside the regions while it fills: the regions follow it and the fill is applied', async () => {
    const { doc, editor } = await open(THREE_PLACEHOLDERS);
    let editedWhileRunning = false;
    const edited = new Promise<void>((resolve) => {
      const sub = t.fillAll.onDidStart(async () => {
        sub.dispose();
        await editor.edit((b) => b.insert(new vscode.Position(0, 0), '// header\n'));
        editedWhileRunning = t.fillAll.running;
        resolve();
      });
    });
    t.engine.useClientForTests(new ScriptedJointEngine(ANSWERS, edited));
    const outcome = await fillAll();
    await edited;
    assert.ok(editedWhileRunning, 'the edit landed while the fill was running');
    assert.equal(outcome.status, 'applied');
    assert.equal(doc.getText(), `// header\n${FILLED}`);
  });

  test('with a selection only the placeholders inside it are filled', async () => {
    const engine = new ScriptedJointEngine([ANSWERS[1]]);
    t.engine.useClientForTests(engine);
    const { doc, editor } = await open(THREE_PLACEHOLDERS);
    editor.selection = new vscode.Selection(4, 0, 7, 0); // function sub
    const outcome = await fillAll();
    assert.equal(outcome.status, 'applied');
    assert.equal(engine.requests[0].fill?.pieces.length, 2);
    assert.equal(doc.getText(), THREE_PLACEHOLDERS.replace('function sub(a, b) {\n  // fill', 'function sub(a, b) {\n  return a - b;'));
  });

  test('the stats panel shows the joint decode, a token map per region, and the sequential cost measured after', async () => {
    const engine = new ScriptedJointEngine(ANSWERS);
    t.engine.useClientForTests(engine);
    const { editor } = await open(THREE_PLACEHOLDERS);
    await vscode.commands.executeCommand('dllm.showStats'); // beside the editor, which keeps the focus
    await waitFor(() => t.stats.isOpen, 'the panel to open');
    await vscode.window.showTextDocument(editor.document, editor.viewColumn);
    const outcome = await fillAll();
    assert.equal(outcome.status, 'applied');
    const rendered = await waitFor(() => {
      const r = t.stats.lastRendered;
      return r?.fillAllRegions === 3 && r.sequentialSteps === 12 && r;
    }, 'the panel to show three region maps and the sequential steps', 20_000);
    assert.equal(rendered.lastSteps, 4, 'the joint decode took 4 steps');
    // (An earlier test's fill may be measured too when the panel opens; this fill's two requests come last.)
    assert.deepEqual(engine.requests.slice(-2).map((r) => r.fill?.mode), ['joint', 'sequential'], 'the baseline ran in the background');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('nothing to fill: a message, no request', async () => {
    const engine = new ScriptedJointEngine(ANSWERS);
    t.engine.useClientForTests(engine);
    await open('const x = 1;\n');
    const outcome = await fillAll();
    assert.equal(outcome.status, 'noTarget');
    assert.equal(engine.requests.length, 0);
  });
});

suite('fill all (real model)', function () {
  this.timeout(240_000);
  let t: DllmExtensionApi['testing'];

  suiteSetup(async () => {
    t = (await extensionApi()).api.testing;
  });

  teardown(closeAllEditors);

  test('three placeholders with the bundled model: one joint decode; whatever is applied is one edit that one undo removes', async () => {
    const { doc } = await open(THREE_PLACEHOLDERS);
    const results: CompletionResult[] = [];
    const sub = t.engine.onDidFinish((e) => { if (e.request.fill) results.push(e.result); });
    const versionBefore = doc.version;
    const outcome = await fillAll();
    sub.dispose();
    assert.ok(['applied', 'empty'].includes(outcome.status), `status ${outcome.status}: ${outcome.message ?? ''}`);
    assert.equal(results.length, 1);
    assert.equal(results[0].fill?.holes.length, 3);
    assert.equal(results[0].fill?.groups, 1);
    console.log(`  real model: ${outcome.status}, ${outcome.applied ?? 0} of 3 regions, ${results[0].fill?.nfe} steps: ` +
      JSON.stringify(results[0].fill?.holes.map((h) => h.text)));
    if (outcome.status === 'applied') {
      assert.equal(doc.version, versionBefore + 1);
      await vscode.commands.executeCommand('undo');
      await waitFor(() => doc.getText() === THREE_PLACEHOLDERS, 'one undo', 5000);
    } else {
      assert.equal(doc.getText(), THREE_PLACEHOLDERS);
    }
  });
});
