// Integration layer: mocha suites (test/integration/**/*.test.ts, compiled to out/) inside a real VS Code.
// Route, picked automatically (override with DLLM_TEST_ROUTE=electron|code-server):
//   electron     desktop VS Code via @vscode/test-electron: VSCODE_EXECUTABLE, a `code` on PATH, or a download;
//   code-server  VS Code 1.139 from npm, served by code-server on Node 24; Debian Chromium opens the workbench with
//                the dev-host `payload` (honoured thanks to --vscode-option enable-smoke-test-driver).
import fs from 'node:fs';
import path from 'node:path';
import { makeStateDir, runDevHostTests, startCodeServer } from '../../.ci/codeServer.mjs';
import { ensureCodeServer } from '../../.ci/toolchain.mjs';
import { ROOT, SCREENSHOTS_DIR, elapsed, writeSummary } from '../support/layers.mjs';

const TESTS_ENTRY = path.join(ROOT, 'out', 'test', 'integration', 'index');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'integration-workspace');
const TIMEOUT_MS = Number(process.env.DLLM_INTEGRATION_TIMEOUT_MS || 300_000);
const t0 = Date.now();
const log = (m) => console.log(`[integration ${elapsed(t0)}] ${m}`);

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const ext of process.platform === 'win32' ? ['.cmd', '.exe', ''] : ['']) {
      const p = path.join(dir, name + ext);
      if (fs.existsSync(p) && fs.statSync(p).isFile()) return p;
    }
  }
  return null;
}

/** The Electron executable behind a desktop `code` CLI, or VSCODE_EXECUTABLE. */
export function findDesktopVsCode() {
  if (process.env.VSCODE_EXECUTABLE) return process.env.VSCODE_EXECUTABLE;
  const cli = onPath('code');
  if (!cli) return null;
  const bin = path.dirname(fs.realpathSync(cli)); // <install>/bin (Linux, Windows) or <App>/Contents/Resources/app/bin
  const candidates = {
    linux: [path.join(bin, '..', 'code')],
    win32: [path.join(bin, '..', 'Code.exe')],
    darwin: [path.join(bin, '..', '..', '..', 'MacOS', 'Electron'), path.join(bin, '..', '..', '..', 'MacOS', 'Code')],
  }[process.platform] ?? [];
  return candidates.find((p) => fs.existsSync(p)) ?? null;
}

const hasDisplay = () => process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);

function freshWorkspace(state) {
  const ws = path.join(state.root, 'workspace');
  fs.cpSync(FIXTURE, ws, { recursive: true });
  return ws;
}

async function pickRoute() {
  const forced = process.env.DLLM_TEST_ROUTE;
  if (forced === 'code-server') return { route: 'code-server' };
  if (!hasDisplay() && forced !== 'electron') {
    log('no display: desktop VS Code cannot start here');
    return { route: 'code-server' };
  }
  const local = findDesktopVsCode();
  if (local) return { route: 'electron', executable: local };
  try {
    const { downloadAndUnzipVSCode } = await import('@vscode/test-electron');
    log('no local VS Code; trying to download one');
    return { route: 'electron', executable: await downloadAndUnzipVSCode({ version: 'stable', timeout: 30_000 }) };
  } catch (e) {
    log(`VS Code download unavailable (${e.message.split('\n')[0]})`);
    if (forced === 'electron') throw e;
    return { route: 'code-server' };
  }
}

async function runElectron(executable, state, resultsFile) {
  const { runTests } = await import('@vscode/test-electron');
  log(`route: @vscode/test-electron with ${executable}`);
  try {
    await runTests({
      vscodeExecutablePath: executable,
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: TESTS_ENTRY,
      extensionTestsEnv: { DLLM_TEST_RESULTS: resultsFile },
      launchArgs: [freshWorkspace(state), '--disable-extensions', '--skip-welcome', '--user-data-dir', state.userData,
        '--extensions-dir', state.extensions],
    });
    return 0;
  } catch (e) {
    log(`runTests failed: ${e.message ?? e}`);
    return 1;
  }
}

async function runCodeServer(state, resultsFile) {
  await ensureCodeServer();
  const workspace = freshWorkspace(state);
  const server = await startCodeServer({ state, workspace, smokeTestDriver: true, env: { DLLM_TEST_RESULTS: resultsFile } });
  log(`route: code-server at ${server.url} (log: ${server.logFile})`);
  try {
    return await runDevHostTests({
      server, workspace, extensionPath: ROOT, testsEntry: TESTS_ENTRY, timeoutMs: TIMEOUT_MS, log,
      screenshotPath: path.join(SCREENSHOTS_DIR, 'integration-done.png'),
    });
  } finally {
    await server.stop();
  }
}

const state = makeStateDir('integration');
const resultsFile = path.join(state.root, 'results.json');
let code;
try {
  const { route, executable } = await pickRoute();
  code = route === 'electron' ? await runElectron(executable, state, resultsFile) : await runCodeServer(state, resultsFile);
} catch (e) {
  log(`ERROR ${e.stack ?? e}`);
  code = 1;
}
const results = fs.existsSync(resultsFile) ? JSON.parse(fs.readFileSync(resultsFile, 'utf8')) : null;
const passed = results?.passed ?? 0;
const failed = results ? results.failed : 1; // no results: the suite never ran, count that as a failure
const problems = results?.problems ?? [];
if (!results) {
  const running = fs.existsSync(`${resultsFile}.running`) ? fs.readFileSync(`${resultsFile}.running`, 'utf8') : null;
  problems.push(running ? `stopped (timeout after ${TIMEOUT_MS / 1000} s, or a crash) while running "${running}"` : 'the suite never started');
  log(`no test results were written (exit code ${code}); ${problems.at(-1)}; state kept in ${state.root}`);
} else if (code === 0) fs.rmSync(state.root, { recursive: true, force: true });
else log(`state kept for debugging: ${state.root}`);
log(`done in ${elapsed(t0)}`);
writeSummary('integration', passed, failed || (code !== 0 ? Math.max(failed, 1) : 0), {
  skipped: results?.skipped ?? [], knownFailures: results?.knownFailures ?? [], problems,
});
process.exit(failed || code !== 0 ? 1 : 0);
