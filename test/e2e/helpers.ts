// Shared helpers for UI end-to-end tests (Playwright + Chromium against code-server with the packaged VSIX).
// test/e2e/run.mjs starts the server and passes its URL, the workspace and the screenshot folder in env variables.
// Every *.test.ts in this folder is picked up; use openWorkbench() in suiteSetup and close the page in suiteTeardown.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const E2E = {
  url: requireEnv('DLLM_E2E_URL'),
  workspace: requireEnv('DLLM_E2E_WORKSPACE'),
  screenshots: requireEnv('DLLM_SCREENSHOTS'),
  chromium: requireEnv('DLLM_E2E_CHROMIUM'),
  chromiumArgs: JSON.parse(process.env.DLLM_E2E_CHROMIUM_ARGS ?? '[]') as string[],
};

function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the e2e tests through test/e2e/run.mjs (npm run test:e2e)`);
  return v;
}

let browser: Browser | undefined;

async function sharedBrowser(): Promise<Browser> {
  browser ??= await chromium.launch({ executablePath: E2E.chromium, headless: true, args: E2E.chromiumArgs });
  return browser;
}

export async function closeBrowser(): Promise<void> {
  await browser?.close();
  browser = undefined;
}

/** Status bar item of the extension; its text starts with "dLLM" once the extension is active. */
export const STATUS_ITEM = '.statusbar-item[id$="dllm.status"], .statusbar-item:has-text("dLLM")';

/** Opens a new page on the workbench and waits until the dLLM extension is active. */
export async function openWorkbench(): Promise<Page> {
  const context = await (await sharedBrowser()).newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`    [pageerror] ${e.message}`));
  await page.goto(`${E2E.url}/?folder=${encodeURIComponent(E2E.workspace)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
  // Commands run before the extension host is up fail with "No matching commands": wait for our status item.
  await page.locator(STATUS_ITEM).first().waitFor({ timeout: 90_000 });
  return page;
}

export async function closePage(page: Page | undefined): Promise<void> {
  await page?.context().close();
}

/** Saves a screenshot as <screenshots>/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(E2E.screenshots, { recursive: true });
  const file = path.join(E2E.screenshots, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Opens the command palette and types `text` (a command title or part of one); returns the palette input. */
export async function openCommandPalette(page: Page, text: string) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${text}`);
  return input;
}

/** Titles of the rows the command palette currently shows. */
export async function paletteRows(page: Page): Promise<string[]> {
  const rows = page.locator('.quick-input-list .monaco-list-row');
  await rows.first().waitFor({ timeout: 15_000 });
  return (await rows.allTextContents()).map((t) => t.trim());
}

/** Runs a command by its exact palette title. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await openCommandPalette(page, title);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
}

/** Waits for a notification containing `text` (toast, else the Notification Center) and returns its text. */
export async function findNotification(page: Page, text: string, timeout = 10_000): Promise<string | null> {
  const toast = page.locator('.notifications-toasts .notification-list-item', { hasText: text }).first();
  if (await toast.waitFor({ timeout }).then(() => true, () => false)) return (await toast.textContent()) ?? '';
  await runCommand(page, 'Notifications: Show Notifications');
  const item = page.locator('.notifications-center .notification-list-item', { hasText: text }).first();
  if (await item.waitFor({ timeout: 5_000 }).then(() => true, () => false)) return (await item.textContent()) ?? '';
  return null;
}

/** Opens a workspace file by double-clicking it in the Explorer and waits for its editor. */
export async function openFile(page: Page, name: string): Promise<void> {
  const explorer = page.locator('.explorer-folders-view');
  if (!(await explorer.isVisible())) await page.keyboard.press('Control+Shift+E');
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first().dblclick({ timeout: 30_000 });
  await page.locator(`.tabs-container .tab.active:has-text("${name}")`).waitFor({ timeout: 30_000 });
  await page.locator('.monaco-editor .view-lines').first().waitFor();
}

/** Reads a workspace file from disk (check what an edit really saved). */
export function readWorkspaceFile(name: string): string {
  return fs.readFileSync(path.join(E2E.workspace, name), 'utf8');
}
