// Everything `npm start` and `npm test` need outside node_modules, installed on first use and reused after:
//   codeServer  code-server (real VS Code): Debian packages to build its native modules, then Node 24 and
//               code-server into the cache (toolchain.mjs; ~/.cache/dllm-code, DLLM_CACHE_DIR overrides)
//   chromium    the browser Playwright drives: Debian's chromium (or CHROMIUM=/path)
//   torch       the model recipe's Python stack for /usr/bin/python3 (Debian's python3-torch and friends)
//   lavapipe    without a GPU: Mesa 25's software Vulkan into the cache, so the WebGPU tests run (lavapipe.mjs); where
//               it cannot be had, those tests report a skip
// Debian packages are installed with apt-get as root or with passwordless sudo; anywhere else (no root, no apt) set-up
// stops at once with the command to run.
//   node .ci/setup.mjs [codeServer] [chromium] [torch] [lavapipe]     (no names: all of them)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureLavapipe } from './lavapipe.mjs';
import { cacheDir, codeServerBin, ensureCodeServer, node24Bin } from './toolchain.mjs';

export const NEEDS = ['codeServer', 'chromium', 'torch', 'lavapipe'];

/** Debian packages of each need, and a check that tells whether the need is met without looking at dpkg. */
const DEBIAN = {
  // kerberos (libkrb5-dev), node-pty and spdlog compile with node-gyp: make, g++ and python3. Not needed once built.
  codeServer: { packages: ['libkrb5-dev', 'build-essential', 'python3'], met: () => fs.existsSync(codeServerBin()) || buildToolsPresent() },
  chromium: { packages: ['chromium'], met: () => chromiumFound() },
  // tcmalloc and OpenMP OpenBLAS: the recipe's training speed-ups (models/train/pipeline.py).
  torch: { packages: ['python3-torch', 'python3-numpy', 'python3-onnx', 'python3-regex', 'libopenblas0-openmp', 'libtcmalloc-minimal4'],
    met: () => pythonImports('torch, numpy, onnx, regex') },
};

const log = (msg) => console.log(`[setup] ${msg}`);

export class SetupError extends Error {}

function onPath(name) {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, name)));
}
function buildToolsPresent() {
  return fs.existsSync('/usr/include/gssapi/gssapi.h') && onPath('make') && onPath('g++') && onPath('python3');
}
function chromiumFound() {
  return [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].some((p) => p && fs.existsSync(p));
}
function pythonImports(modules) {
  return spawnSync('/usr/bin/python3', ['-c', `import ${modules}`], { stdio: 'ignore' }).status === 0;
}
function dpkgInstalled(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/** How this process can run apt-get: [] as root, ['sudo', '-n'] with passwordless sudo, null when it cannot. */
function aptPrefix() {
  if (process.platform !== 'linux' || !fs.existsSync('/usr/bin/apt-get') || !fs.existsSync('/usr/bin/dpkg-query')) return null;
  if (process.getuid?.() === 0) return [];
  return spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0 ? ['sudo', '-n'] : null;
}

function apt(prefix, args) {
  const cmd = [...prefix, 'apt-get', '-o', 'DPkg::Lock::Timeout=600', ...args];
  log(`$ ${cmd.join(' ')}`);
  const r = spawnSync(cmd[0], cmd.slice(1), { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) throw new SetupError(`${cmd.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

/** Installs the Debian packages of `needs` that are not met yet; throws SetupError with the command when it cannot. */
function ensureDebianPackages(needs) {
  const unmet = needs.filter((n) => DEBIAN[n] && !DEBIAN[n].met());
  if (unmet.length === 0) return;
  const prefix = aptPrefix();
  const packages = [...new Set(unmet.flatMap((n) => DEBIAN[n].packages))];
  const missing = prefix === null ? packages : packages.filter((p) => !dpkgInstalled(p));
  if (prefix === null) {
    const hasApt = process.platform === 'linux' && fs.existsSync('/usr/bin/apt-get');
    throw new SetupError(hasApt
      ? `missing system packages for ${unmet.join(', ')}, and installing them needs root. Run this once, then start again:\n` +
        `  sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`
      : `missing ${unmet.join(', ')}, and this is not a Debian/Ubuntu system with apt-get. Install the equivalents of the ` +
        `Debian packages ${missing.join(' ')} (for chromium, CHROMIUM=/path/to/chrome also works), then start again.`);
  }
  if (missing.length === 0) throw new SetupError(`${unmet.join(', ')} not usable although ${packages.join(' ')} are installed`);
  const t0 = Date.now();
  log(`installing Debian packages (system-wide, for ${unmet.join(', ')}): ${missing.join(' ')}`);
  apt(prefix, ['update', '-qq']);
  apt(prefix, ['install', '-y', '-qq', '--no-install-recommends', ...missing]);
  log(`Debian packages installed in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

/** Makes `needs` (names from NEEDS) ready; idempotent and quick when everything is there. */
export async function setup(needs = NEEDS) {
  const unknown = needs.filter((n) => !NEEDS.includes(n));
  if (unknown.length) throw new SetupError(`unknown set-up need(s) ${unknown.join(', ')}; known: ${NEEDS.join(', ')}`);
  ensureDebianPackages(needs);
  if (needs.includes('codeServer')) {
    if (!fs.existsSync(codeServerBin())) log(`installing Node 24 and code-server into ${cacheDir()} (about 2-4 minutes, once)`);
    try {
      await ensureCodeServer();
    } catch (e) {
      throw new SetupError(`installing code-server failed: ${e.message}`);
    }
    log(`code-server ${codeServerBin()} (Node ${node24Bin()})`);
  }
  if (needs.includes('lavapipe')) {
    const why = ensureLavapipe();
    if (why) log(`WebGPU tests without lavapipe: ${why}`);
  }
}

/** What each test layer needs (stress: only the engine part when DLLM_STRESS_PARTS=engine). */
export function needsOfLayers(layers) {
  const editorNeeds = ['codeServer', 'chromium'];
  const needs = new Set();
  for (const layer of layers) {
    if (layer === 'integration' || layer === 'e2e') editorNeeds.forEach((n) => needs.add(n));
    if (layer === 'model') { needs.add('torch'); needs.add('lavapipe'); }
    if (layer === 'unit') needs.add('lavapipe');
    if (layer === 'stress') {
      const parts = (process.env.DLLM_STRESS_PARTS || 'engine,editor,untrusted').split(',');
      if (parts.some((p) => p !== 'engine')) editorNeeds.forEach((n) => needs.add(n));
    }
  }
  return NEEDS.filter((n) => needs.has(n));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    await setup(process.argv.length > 2 ? process.argv.slice(2) : NEEDS);
    log('ready');
  } catch (e) {
    console.error(`[setup] ${e instanceof SetupError ? e.message : e.stack ?? e}`);
    process.exit(1);
  }
}
