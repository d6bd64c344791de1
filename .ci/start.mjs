// `npm start`: build and package the extension for this machine, then open the demo workspace with it installed:
//   - in a local desktop VS Code when a `code` CLI is on PATH (installs the VSIX there), otherwise
//   - in code-server (real VS Code in the browser): prints a URL to open; Ctrl+C stops it.
// Env: PORT (default 8080), DLLM_START_ROUTE=code|code-server.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { installVsix, makeStateDir, startCodeServer } from './codeServer.mjs';
import { hostTarget, packageVsix } from './package.mjs';
import { SetupError, setup } from './setup.mjs';
import { cacheDir } from './toolchain.mjs';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const DEMO = path.join(ROOT, 'test', 'fixtures', 'demo-workspace');

function localCodeCli() {
  if (process.env.DLLM_START_ROUTE === 'code-server') return null;
  const r = spawnSync('code', ['--version'], { encoding: 'utf8', shell: process.platform === 'win32' });
  return r.status === 0 ? 'code' : null;
}

/** The demo workspace is copied once into the cache so edits survive restarts and never touch the repo. */
function demoWorkspace() {
  const ws = path.join(cacheDir(), 'demo-workspace');
  if (!fs.existsSync(ws)) fs.cpSync(DEMO, ws, { recursive: true });
  return ws;
}

const code = localCodeCli();
if (!code) {
  // code-server and what it needs (.ci/setup.mjs), before the build, so that a missing package stops us at once
  try {
    await setup(['codeServer']);
  } catch (e) {
    if (!(e instanceof SetupError)) throw e;
    console.error(`\nset-up failed:\n${e.message}`);
    process.exit(1);
  }
}

const [{ vsix, mb }] = await packageVsix([hostTarget()]);
console.log(`\nbuilt ${path.relative(ROOT, vsix)} (${mb.toFixed(1)} MB)`);
const workspace = demoWorkspace();

if (code) {
  const shell = process.platform === 'win32';
  const install = spawnSync(code, ['--install-extension', vsix, '--force'], { stdio: 'inherit', shell });
  if (install.status !== 0) process.exit(install.status ?? 1);
  spawnSync(code, [workspace], { stdio: 'inherit', shell });
  console.log(`Opened ${workspace} in VS Code with the dLLM extension installed.`);
} else {
  const state = makeStateDir('start');
  installVsix(state, vsix);
  const server = await startCodeServer({ state, workspace, port: Number(process.env.PORT || 8080) });
  console.log(`\ncode-server with the dLLM extension is running.\n  Open: ${server.url}/?folder=${encodeURIComponent(workspace)}\n  Press Ctrl+C to stop.`);
  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return; // npm passes Ctrl+C on too: one stop is enough
    stopping = true;
    console.log(`\n${signal}: stopping code-server (pid ${server.pid})…`);
    const stopped = await server.stop();
    fs.rmSync(state.root, { recursive: true, force: true });
    console.log(stopped ? 'code-server stopped.' : `code-server at ${server.url} did not stop; kill it with: kill -- -${server.pid}`);
    process.exit(stopped ? 0 : 1);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  setInterval(() => {}, 1 << 30);
}
