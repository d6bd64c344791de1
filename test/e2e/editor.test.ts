// The three things users do, in code-server with the installed VSIX and the bundled model, as a new user would:
// inline completions that visibly fill in (then Tab), Fill Block on a placeholder (one undo step), and the stats panel.
// Fixed contexts (fib.py after typing `if n`, the first placeholder of the demo's stats.py); what the editor must show
// there comes from running the same model here first (modelProbe.ts). Where the model answers nothing, the tests that
// need an answer are known failures.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { knownFailureHere } from '../support/knownFailure';
import { FIB_IF_N, type FillProbe, type GhostProbe, ModelProbe, fillCandidates } from './modelProbe';
import { E2E, STATUS_ITEM, closePage, openFile, openWorkbench, readWorkspaceFile, runCommand, screenshot } from './helpers';

const normalize = (s: string) => s.replace(/\u00a0/g, ' ').replace(/\s+/g, ' ').trim();

/**
 * Text of the ghost text on screen, '' when none is shown. The inline part is split into one span per syntax token
 * (joined without separators); extra lines are view lines inside the ghost-text block.
 */
async function ghostText(page: Page): Promise<string> {
  const inline = (await page.locator('.monaco-editor .view-lines .ghost-text-decoration').allTextContents()).join('');
  // Lines after the first are a view zone: `.suggest-preview-text .view-line` (VS Code 1.9x+), `.ghost-text .view-line` before.
  const extra = await page.locator('.monaco-editor .suggest-preview-text .view-line, .monaco-editor .ghost-text .view-line').allTextContents();
  return extra.length ? [inline, ...extra].join('\n') : inline;
}

/**
 * The ghost text once the screen holds still: two reads 30 ms apart agree. A read taken while VS Code redraws can
 * catch the first line without the view zone of the others, which is not what the user sees.
 */
async function settledGhostText(page: Page): Promise<string> {
  let text = await ghostText(page);
  for (let i = 0; i < 10; i++) {
    await page.waitForTimeout(30);
    const again = await ghostText(page);
    if (again === text) return text;
    text = again;
  }
  return text;
}

/** The dLLM status item shows `$(loading~spin)` while a request decodes (its label's icon name; the item always holds a
 * hidden progress codicon, so the icon element itself says nothing). */
const decoding = (page: Page) => page.locator('.statusbar-item[id$="dllm.status"]').first().getAttribute('aria-label')
  .then((label) => /^\s*loading/.test(label ?? ''));

/** Ctrl+G "line:column" (1-based). */
async function goTo(page: Page, line: number, column: number): Promise<void> {
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`:${line}:${column}`);
  await page.keyboard.press('Enter');
  await page.waitForTimeout(200);
}

/** Saves the active editor and waits until the file on disk differs from `before` (or equals `expected`). */
async function saveAndRead(page: Page, file: string, until: (text: string) => boolean): Promise<string> {
  await page.keyboard.press('Control+S');
  for (let i = 0; i < 100; i++) {
    const text = readWorkspaceFile(file);
    if (until(text)) return text;
    await page.waitForTimeout(100);
  }
  return readWorkspaceFile(file);
}

const position = (prefix: string) => {
  const lines = prefix.split('\n');
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
};

suite('dLLM editor features (code-server, installed VSIX, bundled model)', () => {
  let page: Page;
  let ghost: GhostProbe;
  let fill: FillProbe;
  /** llada commits one token per step, so the growth lasts long enough for the sampled screen to show it. */
  const GHOST_POLICY = 'llada';

  suiteSetup(async function () {
    this.timeout(600_000);
    const probe = new ModelProbe();
    try {
      ghost = await probe.ghostAt(FIB_IF_N, GHOST_POLICY);
      fill = await probe.fillAt(fillCandidates(E2E.workspace)[0], GHOST_POLICY); // the workspace's dllm.policy below
    } finally {
      await probe.dispose();
    }
    console.log(`    the engine here: ghost text at "${ghost.name}" (${ghost.policy}): ${JSON.stringify(ghost.growth)}; ` +
      `fill at "${fill.name}": ${JSON.stringify(fill.answer)}`);
    fs.mkdirSync(path.join(E2E.workspace, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(E2E.workspace, '.vscode', 'settings.json'), JSON.stringify({ 'dllm.policy': GHOST_POLICY, 'dllm.minConfidence': 0 }, null, 2));
    fs.writeFileSync(path.join(E2E.workspace, ghost.file), ghost.prefix + ghost.suffix);
    page = await openWorkbench();
  });

  suiteTeardown(async () => {
    await closePage(page);
  });

  /** The distinct ghost texts the screen showed after the trigger, in order (set by the first inline test). */
  let seen: string[] = [];

  test('inline: at fib.py after `if n` the ghost text appears and ends with what the model decodes', async function () {
    if (!ghost.final.trim()) {
      // Still ask, as the user would, so that the stats panel and status bar below have a request to show.
      await openFile(page, ghost.file);
      await goTo(page, position(ghost.prefix).line, position(ghost.prefix).column);
      await page.keyboard.press('Alt+Backslash');
      await page.waitForTimeout(500);
      for (let i = 0; i < 300 && (await decoding(page)); i++) await page.waitForTimeout(100);
      knownFailureHere(this, 'the bundled model answers nothing after `if n` (issue 17/21)');
      return;
    }
    await openFile(page, ghost.file);
    const { line, column } = position(ghost.prefix);
    await goTo(page, line, column);
    await screenshot(page, 'e2e-inline-0-before');
    await page.keyboard.press('Alt+Backslash'); // dLLM: Trigger Completion
    let stableSince = Date.now();
    const t0 = Date.now();
    while (Date.now() - t0 < 60_000) {
      const text = await settledGhostText(page);
      if (text && normalize(text) !== normalize(seen[seen.length - 1] ?? '')) {
        seen.push(text);
        stableSince = Date.now();
        if (seen.length <= 3) await screenshot(page, `e2e-inline-${seen.length}-ghost-${seen.length === 1 ? 'appears' : 'grows'}`);
      }
      if (seen.length > 0 && Date.now() - stableSince > 1500 && !(await decoding(page))) break;
      await page.waitForTimeout(20);
    }
    await screenshot(page, 'e2e-inline-4-ghost-final');
    console.log(`    ghost text over time: ${JSON.stringify(seen.map(normalize))} (the engine here: ${JSON.stringify(ghost.growth)} over ${ghost.growthSpanMs.toFixed(0)} ms)`);
    assert.ok(seen.length > 0, 'no ghost text appeared');
    for (let i = 1; i < seen.length; i++) {
      assert.ok(normalize(seen[i]).length > normalize(seen[i - 1]).length, `the ghost text only grows: ${JSON.stringify(seen)}`);
    }
    assert.equal(normalize(seen[seen.length - 1]), normalize(ghost.final), 'ends with what the model decodes for this context');
  });

  test('inline: the ghost text at fib.py after `if n` grows on screen while the model decodes', function () {
    if (!ghost.final.trim()) {
      knownFailureHere(this, 'no ghost text to watch: the bundled model answers nothing after `if n`');
      return;
    }
    // The editor redraws at most every REFRESH_THROTTLE_MS (120 ms); a growth shorter than a few of those is drawn once.
    if (ghost.growth.length < 2 || ghost.growthSpanMs < 500) {
      knownFailureHere(this, `the bundled model decodes this answer in too few steps to watch it grow: ${ghost.growth.length} ` +
        `growth state(s) within ${ghost.growthSpanMs.toFixed(0)} ms (engine here); the growth itself is tested with a scripted engine (test/integration/progressive.test.ts)`,
        `screen: ${JSON.stringify(seen.map(normalize))}`);
      return;
    }
    assert.ok(seen.length >= 2, `the ghost text did not grow on screen: ${JSON.stringify(seen)} (engine: ${JSON.stringify(ghost.growth)})`);
  });

  test('inline: Tab accepts the ghost text and the saved file contains it', async function () {
    if (!ghost.final.trim()) {
      knownFailureHere(this, 'no ghost text to accept: the bundled model answers nothing after `if n`');
      return;
    }
    const before = readWorkspaceFile(ghost!.file);
    await page.keyboard.press('Tab');
    const saved = await saveAndRead(page, ghost!.file, (text) => text !== before);
    await screenshot(page, 'e2e-inline-5-accepted');
    assert.equal(saved, ghost!.prefix + ghost!.final + ghost!.suffix);
  });

  test('fill block: the first placeholder of stats.py fills in place and lands as one edit that Ctrl+Z undoes', async function () {
    if (!fill.answer) {
      knownFailureHere(this, `the bundled model answers nothing that fits at ${fill.name}`);
      return;
    }
    const original = readWorkspaceFile(fill.file);
    await openFile(page, fill.file);
    await page.locator('.monaco-editor .codelens-decoration', { hasText: 'dLLM: Fill Block' }).first().waitFor({ timeout: 30_000 });
    await goTo(page, fill.line, fill.column);
    await screenshot(page, 'e2e-fill-1-placeholder-with-code-lens');
    await page.keyboard.press('Control+Alt+F'); // dLLM: Fill Block
    await page.waitForTimeout(150);
    await screenshot(page, 'e2e-fill-2-masked-positions-filling');
    const expected = fill.expected;
    const filled = await saveAndRead(page, fill.file, (text) => text !== original);
    await screenshot(page, 'e2e-fill-3-filled');
    assert.equal(filled, expected, 'the placeholder line was replaced by the model\'s answer');
    await page.keyboard.press('Control+Z');
    const undone = await saveAndRead(page, fill.file, (text) => text === original);
    assert.equal(undone, original, 'one Ctrl+Z restores the placeholder');
  });

  test('stats panel: shows the steps used and the steps saved', async () => {
    await runCommand(page, 'dLLM: Show Decoding Stats');
    const frame = page.frameLocator('iframe.webview').frameLocator('#active-frame');
    const steps = frame.locator('#last-steps');
    await steps.waitFor({ timeout: 30_000 });
    await page.waitForTimeout(500);
    await screenshot(page, 'e2e-stats-panel');
    assert.match((await steps.textContent()) ?? '', /^\d+$/);
    assert.match((await frame.locator('#last-saved-llada').textContent()) ?? '', /^-?\d+(\.\d)? %$/);
    assert.match((await frame.locator('#session-requests').textContent()) ?? '', /^[1-9]\d*$/);
    assert.match((await frame.locator('#session-saved-llada').textContent()) ?? '', /%$/);
    assert.ok(await frame.locator('#token-map .tok').count() > 0 || (await steps.textContent()) === '0', 'the token map shows the tokens');
    assert.ok(await frame.locator('#commits-chart rect.bar').count() > 0, 'the chart has a bar per step');
    // The fast-dllm baseline is measured in the background once the panel is open.
    await frame.locator('#last-saved-fast', { hasText: '%' }).waitFor({ timeout: 60_000 });
    await screenshot(page, 'e2e-stats-panel-with-fast-dllm-baseline');
  });

  test('status bar: last latency and steps saved; a click opens the dLLM menu', async () => {
    const item = page.locator(STATUS_ITEM).first();
    assert.match((await item.textContent()) ?? '', /dLLM \d+ ms · −\d+%/);
    await item.click();
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Show decoding stats' });
    await row.waitFor({ timeout: 10_000 });
    await screenshot(page, 'e2e-status-menu');
    await page.keyboard.press('Escape');
  });
});
