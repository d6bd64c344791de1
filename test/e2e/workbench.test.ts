import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import {
  STATUS_ITEM, closePage, openCommandPalette, openFile, openWorkbench, paletteRows, runCommand, screenshot,
} from './helpers';

suite('workbench with the installed VSIX', () => {
  let page: Page;

  suiteSetup(async () => {
    page = await openWorkbench();
  });

  suiteTeardown(async () => {
    await closePage(page);
  });

  test('the dLLM status bar item appears after startup', async () => {
    const text = (await page.locator(STATUS_ITEM).first().textContent()) ?? '';
    assert.match(text, /dLLM/);
    await screenshot(page, '01-workbench-status-bar');
  });

  test('with an editor open, the command palette lists the four dLLM commands', async () => {
    await openFile(page, 'fibonacci.py'); // Fill Block is offered only when an editor is open
    await openCommandPalette(page, 'dLLM:');
    const rows = (await paletteRows(page)).join('\n');
    await screenshot(page, '02-command-palette');
    for (const title of ['dLLM: Fill Block', 'dLLM: Show Decoding Stats', 'dLLM: Toggle Inline Completions', 'dLLM: Trigger Completion']) {
      assert.ok(rows.includes(title), `palette lacks "${title}":\n${rows}`);
    }
    await page.keyboard.press('Escape');
  });

  test('dLLM: Show Decoding Stats opens the stats panel', async () => {
    await runCommand(page, 'dLLM: Show Decoding Stats');
    const frame = page.frameLocator('iframe.webview').frameLocator('#active-frame');
    await frame.locator('h1', { hasText: 'dLLM decoding stats' }).waitFor({ timeout: 30_000 });
    await screenshot(page, '03-show-stats');
    await page.keyboard.press('Escape');
  });

  test('dLLM: Toggle Inline Completions switches the status bar icon off and on', async () => {
    const item = page.locator(STATUS_ITEM).first();
    await assert.doesNotReject(item.locator('.codicon-sparkle').waitFor({ timeout: 5_000 }), 'on-icon before toggling');
    await runCommand(page, 'dLLM: Toggle Inline Completions');
    await item.locator('.codicon-circle-slash').waitFor({ timeout: 10_000 });
    await screenshot(page, '04-toggled-off');
    await runCommand(page, 'dLLM: Toggle Inline Completions');
    await item.locator('.codicon-sparkle').waitFor({ timeout: 10_000 });
  });

  test('the editor context menu offers dLLM: Fill Block when text is selected', async () => {
    await openFile(page, 'fibonacci.py');
    const editor = page.locator('.monaco-editor .view-lines').first();
    await editor.click();
    await page.keyboard.press('Control+A');
    await editor.click({ button: 'right' });
    const entry = page.locator('.monaco-menu .action-label', { hasText: 'dLLM: Fill Block' }).first();
    await entry.waitFor({ timeout: 10_000 });
    await screenshot(page, '05-context-menu-fill-block');
    await page.keyboard.press('Escape');
  });
});
