// Data safety: Fill Block never overwrites a change made while it decoded; accepting a completion that has gone stale
// inserts nothing stale; one undo after Fill Block restores the exact original bytes. A scripted engine gives every
// answer a tag naming the text it was made for, so a stale insertion is recognisable.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { CompletionRequest } from '../../../src/engine/protocol';
import { assertFigure } from '../support/figures';
import {
  type GhostSample, NotificationSpy, type Testing, closeAllEditors, extension, openAt, pageCommand, scriptEngine, sleep, waitFor,
} from './helpers';

const FILL_DOC = 'import math\n\n\ndef area(radius):\n    """Area of a circle."""\n    pass\n\n\nprint(area(2))\n';
/** The tag of a context: the last 40 characters before the cursor. */
const tagOf = (before: string) => crypto.createHash('sha1').update(before.slice(-40)).digest('hex').slice(0, 8);
const TAGGED = /ctx([0-9a-f]{8})/g;
const answer = (r: CompletionRequest) => `value  # ctx${tagOf(r.prefix)}`;
const fillAnswer = () => 'return math.pi * radius ** 2';

/** Tags inserted into `after` (compared with `before`) whose context does not match the text before them. */
function staleInsertions(before: string, after: string): string[] {
  if (before === after) return [];
  const bad: string[] = [];
  for (const m of after.matchAll(TAGGED)) {
    if (before.includes(m[0])) continue; // was there already
    const insertedAt = after.lastIndexOf('value  # ctx', m.index!);
    if (tagOf(after.slice(0, insertedAt)) !== m[1]) bad.push(m[0]);
  }
  return bad;
}

/** Triggers a completion and waits until the editor shows its (tagged) ghost text. */
async function showGhost(t: Testing): Promise<string> {
  await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup');
  let last: GhostSample | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const served = t.provider.servedLog.length;
    await vscode.commands.executeCommand('dllm.triggerCompletion');
    await waitFor(() => t.provider.servedLog.length > served, 'the ghost text to be served', 15_000);
    const shown = await waitFor(async () => {
      last = await pageCommand<GhostSample>('ghost');
      return /ctx[0-9a-f]{8}/.test(last.ghost) ? last.ghost : undefined;
    }, 'the editor to show the ghost text', 5000).catch(() => undefined);
    if (shown) return shown;
  }
  await pageCommand('screenshot', { name: 'stress-stale-no-ghost' });
  throw new Error(`the editor did not show the ghost text (last DOM read ${JSON.stringify(last)}, served ${JSON.stringify(t.provider.lastServed)})`);
}

suite('stress: data safety', function () {
  this.timeout(180_000);
  let t: Testing;
  let spy: NotificationSpy;

  suiteSetup(async () => {
    t = (await extension()).t;
  });
  setup(() => { spy = new NotificationSpy(); });
  teardown(async () => {
    spy.dispose();
    await closeAllEditors();
  });

  test('Fill Block never overwrites a change made while it decoded; edits elsewhere are kept and it lands in the unchanged region', async () => {
    const script = scriptEngine(t, fillAnswer, { delayMs: 1500, steps: 5 });
    const outcomes: string[] = [];
    try {
      type Change = { name: string; expect: string; edit: (doc: vscode.TextDocument, editor: vscode.TextEditor) => Thenable<unknown> };
      const passRange = (doc: vscode.TextDocument) => {
        const at = doc.getText().indexOf('pass');
        return new vscode.Range(doc.positionAt(at), doc.positionAt(at + 4));
      };
      const changes: Change[] = [
        { name: 'typing inside the region', expect: 'regionChanged', edit: (doc, e) => e.edit((b) => b.insert(passRange(doc).start.translate(0, 2), 'x  # mine')) },
        { name: 'typing right before the region (kept, the region is unchanged)', expect: 'applied', edit: (doc, e) => e.edit((b) => b.insert(passRange(doc).start, 'x = 1  # mine\n    ')) },
        { name: 'replacing the region', expect: 'regionChanged', edit: (doc, e) => e.edit((b) => b.replace(passRange(doc), 'return 0  # mine')) },
        { name: 'a whole-document replace (formatter-like WorkspaceEdit)', expect: 'regionChanged', edit: (doc) => {
          const w = new vscode.WorkspaceEdit();
          w.replace(doc.uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), doc.getText().replace('    pass', '    p4ss  # mine'));
          return vscode.workspace.applyEdit(w);
        } },
        { name: 'an edit above the region', expect: 'applied', edit: (_doc, e) => e.edit((b) => b.insert(new vscode.Position(0, 0), '# mine\n')) },
        { name: 'an edit below the region', expect: 'applied', edit: (doc, e) => e.edit((b) => b.insert(doc.positionAt(doc.getText().length), '# mine\n')) },
      ];
      for (const c of changes) {
        const { doc, editor } = await openAt(FILL_DOC);
        const started = new Promise<void>((resolve) => { const s = t.fill.onDidStart(() => { s.dispose(); resolve(); }); });
        const line = doc.getText().split('\n').indexOf('    pass');
        const running = t.fill.run({ uri: doc.uri.toString(), line });
        await started;
        await sleep(300); // mid-decode
        assert.ok(await c.edit(doc, editor), `${c.name}: the user's edit applied`);
        const afterUser = doc.getText();
        const outcome = await running;
        assert.equal(outcome.status, c.expect, `${c.name}: ${outcome.status} ${outcome.message ?? ''}`);
        const now = doc.getText();
        assert.ok(now.includes('# mine'), `${c.name}: the user's change is still there`);
        if (c.expect === 'regionChanged') {
          assert.equal(now, afterUser, `${c.name}: the fill changed nothing`);
          assert.ok(spy.notices.some((n) => /edited while it was being filled/.test(n.message)), `${c.name}: the user is told`);
        } else {
          assert.equal(now, afterUser.replace('    pass', `    ${fillAnswer()}`), `${c.name}: only the region was replaced`);
        }
        outcomes.push(`${c.name} → ${outcome.status}`);
        await closeAllEditors();
      }
      // The document is closed while the fill decodes: nothing is written anywhere.
      const file = path.join(process.env.DLLM_STRESS_WORKSPACE ?? '', 'stats.py');
      const bytes = fs.readFileSync(file);
      const doc = await vscode.workspace.openTextDocument(file);
      await vscode.window.showTextDocument(doc);
      const started = new Promise<void>((resolve) => { const s = t.fill.onDidStart(() => { s.dispose(); resolve(); }); });
      const running = t.fill.run({ uri: doc.uri.toString(), line: doc.getText().split('\n').indexOf('    pass') });
      await started;
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
      const outcome = await running;
      assert.equal(outcome.status, 'documentClosed', 'closing the tab ends the fill');
      await sleep(300);
      assert.deepEqual(fs.readFileSync(file), bytes, 'the file on disk is unchanged');
      const reopened = await vscode.workspace.openTextDocument(file);
      assert.equal(reopened.isDirty, false, 'no hidden unsaved change in the closed document');
      assert.equal(reopened.getText(), bytes.toString('utf8'));
      outcomes.push(`tab closed mid-fill → ${outcome.status}, document and file unchanged`);
    } finally {
      script.dispose();
    }
    assertFigure({
      area: 'Data safety', check: 'Fill Block while the document changes during the decode (scripted 1.5 s decode)', figure: outcomes.join('; '),
      bound: 'never overwrites a change', holds: true,
    });
  });

  test('accepting a completion that has gone stale inserts nothing stale', async () => {
    const script = scriptEngine(t, answer, { delayMs: 600, steps: 3 });
    const rows: string[] = [];
    let stale = 0;
    try {
      const scenarios: Array<{ name: string; act: (doc: vscode.TextDocument, editor: vscode.TextEditor) => Promise<void> }> = [
        { name: 'cursor moved to another line', act: async (_d, e) => { e.selection = new vscode.Selection(0, 0, 0, 0); } },
        { name: 'the text before the cursor replaced', act: async (doc, e) => {
          const p = e.selection.active;
          await e.edit((b) => b.replace(new vscode.Range(p.translate(0, -7), p), 'yield '));
          void doc;
        } },
        { name: 'a character typed that is not the ghost text', act: async () => { await vscode.commands.executeCommand('type', { text: 'z' }); } },
        { name: 'a line inserted above', act: async (_d, e) => { await e.edit((b) => b.insert(new vscode.Position(0, 0), 'import os\n')); } },
      ];
      for (const s of scenarios) {
        const { doc, editor } = await openAt(`# ${s.name}\ndef f(x):\n    return <|>\n`);
        const shown = await showGhost(t);
        assert.ok(shown.includes('value'));
        await s.act(doc, editor);
        const before = doc.getText();
        await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
        await sleep(300);
        const bad = staleInsertions(before, doc.getText());
        stale += bad.length;
        rows.push(`${s.name}: ${doc.getText() === before ? 'nothing inserted' : bad.length ? 'STALE text inserted' : 'a fresh completion inserted'}`);
        await closeAllEditors();
      }
      // The decode is still running when the user types something else; its result arrives later.
      {
        const slow = scriptEngine(t, answer, { delayMs: 2000, steps: 2 });
        try {
          const { doc, editor } = await openAt('# late result\ndef g(x):\n    return <|>\n');
          const served = t.provider.servedLog.length;
          await vscode.commands.executeCommand('dllm.triggerCompletion');
          await sleep(200);
          await vscode.commands.executeCommand('type', { text: 'q' });
          await sleep(2500); // the first decode has ended by now
          const before = doc.getText();
          await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
          await sleep(300);
          const bad = staleInsertions(before, doc.getText());
          stale += bad.length;
          rows.push(`a result arriving after the user typed on: ${doc.getText() === before ? 'nothing inserted' : bad.length ? 'STALE text inserted' : 'a fresh completion inserted'}`);
          void served; void editor;
        } finally {
          slow.dispose();
        }
      }
    } finally {
      script.dispose();
    }
    assertFigure({ area: 'Data safety', check: 'Tab on a completion that has gone stale (5 ways; scripted engine)', figure: `${stale} stale insertions (ghost text seen on screen first each time); ${rows.join('; ')}`,
      bound: '0 stale insertions', holds: stale === 0 });
  });

  test('one undo after Fill Block restores the exact original bytes (CRLF, tabs, trailing spaces, emoji, no final newline)', async () => {
    const script = scriptEngine(t, () => 'total = 0\nfor v in values:\n    total += v  # Σ ✅\nreturn total / len(values)', { delayMs: 200 });
    const file = path.join(process.env.DLLM_STRESS_WORKSPACE ?? '', 'undo.py');
    const original = Buffer.from('# -*- coding: utf-8 -*-\r\n\r\ndef mean(values):  \r\n\t"""Moyenne — 平均 🎯"""\r\n\tpass\r\n\r\nprint(mean([1, 2]))', 'utf8');
    fs.writeFileSync(file, original);
    try {
      const doc = await vscode.workspace.openTextDocument(file);
      const editor = await vscode.window.showTextDocument(doc);
      const fill = await t.fill.run({ uri: doc.uri.toString(), line: 4 });
      assert.equal(fill.status, 'applied', fill.message);
      assert.notEqual(doc.getText(), original.toString('utf8'));
      await vscode.window.showTextDocument(editor.document);
      await vscode.commands.executeCommand('undo');
      await waitFor(() => doc.getText() === original.toString('utf8'), 'one undo to restore the text', 5000);
      await doc.save();
      const saved = fs.readFileSync(file);
      assert.ok(saved.equals(original), `bytes after undo + save: ${JSON.stringify(saved.toString('utf8'))}`);
      assertFigure({ area: 'Data safety', check: 'one undo after Fill Block, then save (scripted engine)', figure: `${saved.length} of ${original.length} bytes identical (sha1 ${crypto.createHash('sha1').update(saved).digest('hex').slice(0, 10)})`,
        bound: 'byte-identical', holds: saved.equals(original) });
    } finally {
      script.dispose();
      await closeAllEditors();
      fs.rmSync(file, { force: true });
    }
  });
});
