// Start / stop code-server (real VS Code in a browser) with isolated state, for tests and `npm start`.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { codeServerBin, node24Env } from './toolchain.mjs';

/** User settings that keep the Welcome page, Chat panel and update checks from stealing focus. */
export const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'chat.disableAIFeatures': true,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'security.workspace.trust.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.tips.enabled': false,
};

/** A fresh state folder: user data, extensions, XDG dirs and TMPDIR all stay inside it. */
export function makeStateDir(label, extraSettings = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `dllm-${label}-`));
  const dirs = {
    root,
    userData: path.join(root, 'user-data'),
    extensions: path.join(root, 'extensions'),
    tmp: path.join(root, 'tmp'),
    xdg: path.join(root, 'xdg'),
  };
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  fs.mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
  fs.writeFileSync(path.join(dirs.userData, 'User', 'settings.json'),
    JSON.stringify({ ...QUIET_SETTINGS, ...extraSettings }, null, 2));
  return dirs;
}

function serverEnv(state) {
  return {
    ...node24Env(),
    TMPDIR: state.tmp,
    XDG_CONFIG_HOME: path.join(state.xdg, 'config'),
    XDG_DATA_HOME: path.join(state.xdg, 'data'),
    XDG_CACHE_HOME: path.join(state.xdg, 'cache'),
  };
}

export function installVsix(state, vsix) {
  const r = spawnSync(codeServerBin(), ['--extensions-dir', state.extensions, '--user-data-dir', state.userData,
    '--install-extension', vsix, '--force'], { env: serverEnv(state), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`code-server --install-extension failed:\n${r.stdout}\n${r.stderr}`);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts code-server on 127.0.0.1 and resolves once /healthz answers.
 * smokeTestDriver: honour the workbench `payload` query (extensionDevelopmentPath / extensionTestsPath).
 * env: extra variables; the extension host inherits them.
 * workspaceTrust: keep VS Code's workspace trust on (off by default: tests run in trusted mode).
 */
export async function startCodeServer({ state, workspace, port, smokeTestDriver = false, env = {}, timeoutMs = 60_000, workspaceTrust = false }) {
  port ??= await freePort();
  // Another server on the port would answer our health check and pass for this one.
  if (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) }).then(() => true, () => false)) {
    throw new Error(`port ${port} is already in use on 127.0.0.1 (another code-server or \`npm start\`?); stop it or set PORT`);
  }
  const logFile = path.join(state.root, 'code-server.log');
  const out = fs.openSync(logFile, 'a');
  const args = ['--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
    ...(workspaceTrust ? [] : ['--disable-workspace-trust']), '--extensions-dir', state.extensions, '--user-data-dir', state.userData];
  if (smokeTestDriver) args.push('--vscode-option', 'enable-smoke-test-driver');
  args.push(workspace);
  const child = spawn(codeServerBin(), args, { env: { ...serverEnv(state), ...env }, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  let exited = null;
  child.on('exit', (code, signal) => { exited = code ?? signal; });

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== null) throw new Error(`code-server exited (${exited}); log: ${logFile}`);
    if (Date.now() > deadline) throw new Error(`code-server did not answer within ${timeoutMs} ms; log: ${logFile}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 300));
  }

  /** Stops code-server's whole process group; resolves true once its URL no longer answers. */
  async function stop() {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
    for (let i = 0; i < 50 && exited === null; i++) await new Promise((r) => setTimeout(r, 100));
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    // Its server processes may outlive the main one for a moment: stopped means the URL no longer answers.
    for (let i = 0; i < 100; i++) {
      try { await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(500) }); } catch { return true; }
      await new Promise((r) => setTimeout(r, 100));
    }
    console.error(`code-server at ${url} still answers 10 s after it was stopped (pid ${child.pid})`);
    return false;
  }
  return { url, port, logFile, pid: child.pid, stop };
}

/** Workbench URL that opens `folder`; payload entries are VS Code's dev-host options. */
export function workbenchUrl(server, folder, payload) {
  let url = `${server.url}/?folder=${encodeURIComponent(folder)}`;
  if (payload) url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  return url;
}

/** vscode-remote URI of a path on the code-server machine (for the payload). */
export function remoteUri(server, p) {
  return `vscode-remote://127.0.0.1:${server.port}${path.resolve(p)}`;
}

/** Chromium used by Playwright: Debian's /usr/bin/chromium unless CHROMIUM is set. */
export function chromiumPath() {
  for (const p of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    if (p && fs.existsSync(p)) return p;
  }
  throw new Error('No Chromium found: install Debian\'s `chromium` (apt-get install chromium) or set CHROMIUM=/path');
}

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'];

/** Workbench chatter unrelated to tests (offline gallery lookups, agent host); DLLM_VERBOSE=1 shows it. */
export const WORKBENCH_NOISE = /ENOTFOUND open-vsx\.org|\[AgentHost|\[AccountPolicyGate\]|Creating a socket \(/;

/**
 * Opens `workspace` in Chromium as an extension development host (`extensionPath`) that runs the mocha entry
 * `testsEntry`, prints the extension host's log, and resolves with the code the tests exit with (2 on timeout).
 * `onLog(text, page)` sees each log line first; returning true keeps it off the console.
 */
export async function runDevHostTests({ server, workspace, extensionPath, testsEntry, timeoutMs, screenshotPath, log, onLog }) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
  let timer;
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.on('pageerror', (e) => log(`[pageerror] ${e.message}`));
    const exitCode = new Promise((resolve) => {
      page.exposeFunction('codeAutomationLog', (type, args) => {
        const text = util.format(...(Array.isArray(args) ? args : [args]));
        if (onLog?.(text, page)) return;
        if (!process.env.DLLM_VERBOSE && WORKBENCH_NOISE.test(text)) return;
        for (const line of text.split('\n')) console.log(`  [exthost] ${line}`);
      });
      page.exposeFunction('codeAutomationExit', async (code) => {
        fs.mkdirSync(path.dirname(screenshotPath), { recursive: true });
        await page.screenshot({ path: screenshotPath }).catch(() => {});
        resolve(code);
      });
    });
    const payload = [
      ['extensionDevelopmentPath', remoteUri(server, extensionPath)],
      ['extensionTestsPath', remoteUri(server, testsEntry)],
      ['skipWelcome', 'true'],
    ];
    await page.goto(workbenchUrl(server, workspace, payload));
    const timeout = new Promise((resolve) => { timer = setTimeout(() => { log(`TIMEOUT after ${timeoutMs} ms`); resolve(2); }, timeoutMs); });
    return await Promise.race([exitCode, timeout]);
  } finally {
    clearTimeout(timer);
    await browser.close().catch(() => {});
  }
}
