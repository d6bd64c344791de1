// Runs the stress suites that need a real editor: mocha (test/stress/extension/index.ts, compiled to out/) inside the
// extension host of code-server, with Chromium on the workbench page, as test/integration/run.mjs does. On top of
// that, the page serves commands from the tests: they print `DLLM_STRESS_CMD {json}` and read the answer from
// $DLLM_STRESS_CHANNEL/<id>.json. `type` sends real browser keystrokes (and samples the ghost text the editor shows
// after each); `ghost` reads the ghost text shown now; `statusbar` reads the dLLM status bar item; `press`, `screenshot`.
import fs from 'node:fs';
import path from 'node:path';
import { makeStateDir, runDevHostTests, startCodeServer } from '../../.ci/codeServer.mjs';
import { ensureCodeServer } from '../../.ci/toolchain.mjs';
import { ROOT, SCREENSHOTS_DIR, elapsed } from '../support/layers.mjs';

const TESTS_ENTRY = path.join(ROOT, 'out', 'test', 'stress', 'extension', 'index');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'stress-workspace');
const COMMAND = 'DLLM_STRESS_CMD ';

/** What the editor shows at the cursor line: the text before the inline ghost text, and the ghost text itself
 *  (VS Code splits syntax-highlighted ghost text into several spans; further lines live in a view zone). */
function readGhost() {
  const norm = (s) => (s ?? '').replace(/\u00a0/g, ' ');
  const isGhost = (el) => el.classList.contains('ghost-text-decoration') || el.classList.contains('ghost-text-decoration-preview');
  const editor = document.querySelector('.editor-instance .monaco-editor.focused') ?? document.querySelector('.editor-instance .monaco-editor');
  if (!editor) return { ghost: '', before: null, lines: 0 };
  const first = editor.querySelector('.view-lines .ghost-text-decoration, .view-lines .ghost-text-decoration-preview');
  const extra = [...editor.querySelectorAll('.ghost-text .view-line')].map((l) => norm(l.textContent));
  if (!first) return { ghost: extra.join('\n'), before: null, lines: extra.length };
  const line = first.closest('.view-line');
  let before = '';
  let ghost = '';
  let seenGhost = false;
  for (const node of line.querySelectorAll('span')) {
    if (node.querySelector('span')) continue; // leaves only
    if (isGhost(node)) { seenGhost = true; ghost += node.textContent; } else if (!seenGhost) before += node.textContent;
  }
  return { ghost: norm(ghost) + (extra.length ? '\n' + extra.join('\n') : ''), before: norm(before), lines: 1 + extra.length };
}

async function typeText(page, { text, delayMs = 30, pauseAfter = '', pauseMs = 0 }) {
  const samples = [];
  const t0 = Date.now();
  let next = t0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n') await page.keyboard.press('Enter');
    else await page.keyboard.type(ch);
    next += delayMs + (pauseAfter.includes(ch) ? pauseMs : 0);
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    samples.push({ i, t: Date.now() - t0, ...(await page.evaluate(readGhost)) });
  }
  return { samples, ms: Date.now() - t0 };
}

async function handle(page, channel, line, log) {
  let msg;
  try { msg = JSON.parse(line.slice(COMMAND.length)); } catch { return; }
  let answer;
  try {
    if (msg.cmd === 'type') answer = await typeText(page, msg);
    else if (msg.cmd === 'ghost') answer = await page.evaluate(readGhost);
    else if (msg.cmd === 'press') { await page.keyboard.press(msg.key); answer = {}; }
    else if (msg.cmd === 'statusbar') {
      answer = await page.evaluate(() => {
        const item = document.querySelector('.statusbar-item[id$="dllm.status"]');
        return item ? { text: item.textContent ?? '', className: item.className, ariaLabel: item.querySelector('a')?.getAttribute('aria-label') ?? '' } : { missing: true };
      });
    }
    else if (msg.cmd === 'screenshot') {
      fs.mkdirSync(SCREENSHOTS_DIR, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOTS_DIR, `${msg.name}.png`) });
      answer = {};
    } else answer = { error: `unknown command ${msg.cmd}` };
  } catch (e) {
    answer = { error: String(e?.stack ?? e) };
    log(`command ${msg.cmd} failed: ${answer.error}`);
  }
  fs.writeFileSync(path.join(channel, `${msg.id}.json.tmp`), JSON.stringify(answer));
  fs.renameSync(path.join(channel, `${msg.id}.json.tmp`), path.join(channel, `${msg.id}.json`));
}

/**
 * suite: 'editor' (trusted workspace) or 'untrusted' (workspace trust on, folder not trusted).
 * Resolves with {passed, failed, skipped, knownFailures, problems}.
 */
export async function runExtensionHostSuite({ suite, env = {}, timeoutMs = 600_000 }) {
  const t0 = Date.now();
  const log = (m) => console.log(`[stress ${suite} ${elapsed(t0)}] ${m}`);
  const untrusted = suite === 'untrusted';
  const state = makeStateDir(`stress-${suite}`, {
    // Keep the suggest widget out of the way of inline completions (it would take the keystrokes' completions).
    'editor.quickSuggestions': { other: 'off', comments: 'off', strings: 'off' },
    'editor.suggestOnTriggerCharacters': false,
    // A reopened "Untitled-1" would otherwise get the cursor of the last one, after the test has placed it.
    'workbench.editor.restoreViewState': false,
    ...(untrusted ? {
      'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never',
      'security.workspace.trust.emptyWindow': false, 'security.workspace.trust.banner': 'never',
    } : {}),
  });
  const resultsFile = path.join(state.root, 'results.json');
  const channel = path.join(state.root, 'channel');
  fs.mkdirSync(channel);
  const workspace = path.join(state.root, 'workspace');
  fs.cpSync(FIXTURE, workspace, { recursive: true });
  await ensureCodeServer();
  const server = await startCodeServer({
    state, workspace, smokeTestDriver: true, workspaceTrust: untrusted,
    env: { ...env, DLLM_TEST_RESULTS: resultsFile, DLLM_STRESS_SUITE: suite, DLLM_STRESS_CHANNEL: channel, DLLM_STRESS_WORKSPACE: workspace },
  });
  log(`code-server at ${server.url} (log: ${server.logFile})`);
  let code;
  try {
    code = await runDevHostTests({
      server, workspace, extensionPath: ROOT, testsEntry: TESTS_ENTRY, timeoutMs, log,
      screenshotPath: path.join(SCREENSHOTS_DIR, `stress-${suite}-done.png`),
      onLog: (text, page) => {
        if (!text.startsWith(COMMAND)) return false;
        void handle(page, channel, text, log);
        return true;
      },
    });
  } finally {
    await server.stop();
  }
  const results = fs.existsSync(resultsFile) ? JSON.parse(fs.readFileSync(resultsFile, 'utf8')) : null;
  const problems = results?.problems ?? [];
  if (!results) {
    const running = fs.existsSync(`${resultsFile}.running`) ? fs.readFileSync(`${resultsFile}.running`, 'utf8') : null;
    problems.push(running ? `stopped (timeout or crash) while running "${running}"` : 'the suite never started');
    log(`no test results were written (exit code ${code}); ${problems.at(-1)}; state kept in ${state.root}`);
  }
  else if (code === 0) fs.rmSync(state.root, { recursive: true, force: true });
  else log(`state kept for debugging: ${state.root}`);
  log(`done in ${elapsed(t0)}`);
  const passed = results?.passed ?? 0;
  const failed = results ? results.failed : 1;
  return { passed, failed: failed || (code !== 0 ? 1 : 0), skipped: results?.skipped ?? [], knownFailures: results?.knownFailures ?? [], problems };
}
