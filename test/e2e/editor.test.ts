// The three things users do, in code-server with the installed VSIX and the bundled model, as a new user would:
// inline completions that visibly fill in (then Tab), Fill Block on a placeholder (one undo step), and the stats panel.
// Contexts come from running the same model here first (modelProbe.ts), so the tests do not hard-code model text.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { type FillProbe, type GhostProbe, ModelProbe, fillCandidates, ghostCandidates } from './modelProbe';
import { E2E, STATUS_ITEM, closePage, openFile, openWorkbench, readWorkspaceFile, runCommand, screenshot } from './helpers';

const normalize = (s: string) => s.replace(/\u00a0/g, ' ').replace(/\s+/g, ' ').trim();

/**
 * Text of the ghost text on screen, '' when none is shown. The inline part is split into one span per syntax token
 * (joined without separators); extra lines are view lines inside the ghost-text block.
 */
async function ghostText(page: Page): Promise<string> {
  const inline = (await page.locator('.monaco-editor .view-lines .ghost-text-decoration').allTextContents()).join('');
  const extra = await page.locator('.monaco-editor .ghost-text .view-line').allTextContents();
  return extra.length ? [inline, ...extra].join('\n') : inline;
}

const decoding = (page: Page) => page.locator(`${STATUS_ITEM} .codicon-loading`).count().then((n) => n > 0);

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
  let ghost: GhostProbe | undefined;
  let fill: FillProbe | undefined;
  let ghostTried: string[] = [];
  let fillTried: string[] = [];

  suiteSetup(async function () {
    this.timeout(600_000);
    const probe = new ModelProbe();
    try {
      // llada commits one token per step, so the growth lasts long enough for the screen to show it; with r2 the
      // bundled model often decodes a line in a few hundred ms, between two ghost-text refreshes.
      ({ found: ghost, tried: ghostTried } = await probe.findGrowingGhost(ghostCandidates(), ['llada', 'r2']));
      const policy = ghost?.policy ?? 'r2';
      ({ found: fill, tried: fillTried } = await probe.findFill(fillCandidates(E2E.workspace), [policy]));
    } finally {
      await probe.dispose();
    }
    console.log(`    model probe: ghost text at ${ghost ? `"${ghost.name}" (${ghost.policy}): ${JSON.stringify(ghost.growth)}` : 'none'}; ` +
      `fill at ${fill ? `"${fill.name}": ${JSON.stringify(fill.answer)}` : 'none'}`);
    // The policy the probe used, so the editor decodes exactly what was probed.
    fs.mkdirSync(path.join(E2E.workspace, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(E2E.workspace, '.vscode', 'settings.json'), JSON.stringify({ 'dllm.policy': ghost?.policy ?? 'r2' }, null, 2));
    if (ghost) fs.writeFileSync(path.join(E2E.workspace, ghost.file), ghost.prefix + ghost.suffix);
    page = await openWorkbench();
  });

  suiteTeardown(async () => {
    await closePage(page);
  });

  test('inline: the ghost text appears and grows while the model decodes', async function () {
    assert.ok(ghost, `the bundled model shows no growing ghost text in any probed context:\n${ghostTried.join('\n')}`);
    await openFile(page, ghost.file);
    const { line, column } = position(ghost.prefix);
    await goTo(page, line, column);
    await screenshot(page, 'e2e-inline-0-before');
    await page.keyboard.press('Alt+Backslash'); // dLLM: Trigger Completion
    const seen: string[] = [];
    let stableSince = Date.now();
    const t0 = Date.now();
    while (Date.now() - t0 < 60_000) {
      const text = await ghostText(page);
      if (text && normalize(text) !== normalize(seen[seen.length - 1] ?? '')) {
        seen.push(text);
        stableSince = Date.now();
        if (seen.length <= 3) await screenshot(page, `e2e-inline-${seen.length}-ghost-${seen.length === 1 ? 'appears' : 'grows'}`);
      }
      if (seen.length > 0 && Date.now() - stableSince > 1500 && !(await decoding(page))) break;
      await page.waitForTimeout(20);
    }
    await screenshot(page, 'e2e-inline-4-ghost-final');
    console.log(`    ghost text over time: ${JSON.stringify(seen.map(normalize))}`);
    assert.ok(seen.length >= 2, `the ghost text did not grow on screen: ${JSON.stringify(seen)}`);
    for (let i = 1; i < seen.length; i++) {
      assert.ok(normalize(seen[i]).length > normalize(seen[i - 1]).length, `the ghost text only grows: ${JSON.stringify(seen)}`);
    }
    assert.equal(normalize(seen[seen.length - 1]), normalize(ghost.final), 'ends with what the model decodes for this context');
  });

  test('inline: Tab accepts the ghost text and the saved file contains it', async function () {
    if (!ghost) this.skip();
    const before = readWorkspaceFile(ghost!.file);
    await page.keyboard.press('Tab');
    const saved = await saveAndRead(page, ghost!.file, (text) => text !== before);
    await screenshot(page, 'e2e-inline-5-accepted');
    assert.equal(saved, ghost!.prefix + ghost!.final + ghost!.suffix);
  });

  test('fill block: a placeholder fills in place and lands as one edit that Ctrl+Z undoes', async () => {
    assert.ok(fill, `the bundled model fills none of the demo placeholders:\n${fillTried.join('\n')}`);
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
