// Tools that live outside the repo, in a cache shared by every clone on this machine:
//   Node 24 (from the npm package node-<os>-<arch>) and code-server (real VS Code, built with Node 24).
// Installs are idempotent, atomic (temp dir + rename) and guarded by a lock dir, so parallel runs are safe.
//   node .ci/toolchain.mjs ensure      install what is missing and print the paths
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const VERSIONS = { node24: '24.21.0', codeServer: '4.139.1' };

export function cacheDir() {
  if (process.env.DLLM_CACHE_DIR) return path.resolve(process.env.DLLM_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'dllm-code');
}

const node24Prefix = () => path.join(cacheDir(), `node-${VERSIONS.node24}`);
const codeServerPrefix = () => path.join(cacheDir(), `code-server-${VERSIONS.codeServer}`);

/** Folder of the node-<os>-<arch> package: bin/node (or node.exe on Windows) and include/node headers. */
export function node24Home() {
  return path.join(node24Prefix(), 'node_modules', `node-${process.platform}-${process.arch}`);
}
export function node24Bin() {
  return process.platform === 'win32' ? path.join(node24Home(), 'node.exe') : path.join(node24Home(), 'bin', 'node');
}
export function codeServerBin() {
  return path.join(codeServerPrefix(), 'bin', 'code-server');
}
/** Environment whose `node` is Node 24 (code-server's and vsce's shebangs are `env node`). */
export function node24Env(env = process.env) {
  const dir = path.dirname(node24Bin());
  return { ...env, PATH: `${dir}${path.delimiter}${env.PATH ?? ''}` };
}

/** Variables npm computes for the script it runs (`npm start`, `npm test`) from its own Node and folder. */
const NPM_SCRIPT_VARS = new Set(['NODE', 'INIT_CWD', 'npm_command', 'npm_execpath', 'npm_node_execpath',
  'npm_config_user_agent', 'npm_config_node_gyp', 'npm_config_npm_version', 'npm_config_call',
  'npm_config_prefix', 'npm_config_global_prefix', 'npm_config_local_prefix']);

/**
 * `env` as a plain shell has it, without what npm put in for the running script. A child npm reads npm_config_* as its
 * own config, so under `npm start` it would inherit `user-agent: npm/… node/v20…`, and code-server's postinstall reads
 * the Node version from that string ("code-server currently requires node v24 … you are on node v20").
 * Other npm_config_* (a registry or proxy the user exported) are kept.
 */
export function withoutNpmScriptEnv(env = process.env) {
  const clean = {};
  for (const [key, value] of Object.entries(env)) {
    if (NPM_SCRIPT_VARS.has(key) || /^npm_(package|lifecycle)_/.test(key)) continue;
    clean[key] = value;
  }
  // npm also puts the project's node_modules/.bin folders and its node-gyp shim in front of PATH.
  clean.PATH = (env.PATH ?? '').split(path.delimiter)
    .filter((d) => d && !/[\\/]node_modules[\\/]\.bin$/.test(d) && !/[\\/]node-gyp-bin$/.test(d))
    .join(path.delimiter);
  return clean;
}

function log(msg) {
  console.log(`[toolchain] ${msg}`);
}

function run(cmd, args, opts) {
  const started = Date.now();
  log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs install(tmpDir) once; the result appears at `dest` only if it completed. */
async function installOnce(dest, isComplete, install) {
  if (isComplete()) return;
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const lock = `${dest}.lock`;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      const ageMs = Date.now() - fs.statSync(lock).mtimeMs;
      if (ageMs > 20 * 60_000) {
        log(`removing stale lock ${lock}`);
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      log(`waiting for another install of ${path.basename(dest)}…`);
      await sleep(5000);
      if (isComplete()) return;
    }
  }
  try {
    if (isComplete()) return;
    const tmp = `${dest}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(dest, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    try {
      await install(tmp);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    fs.renameSync(tmp, dest);
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

const npmQuiet = ['--no-save', '--no-audit', '--no-fund', '--loglevel=error'];

export async function ensureNode24() {
  await installOnce(node24Prefix(), () => fs.existsSync(node24Bin()), (tmp) =>
    run('npm', ['install', '--prefix', tmp, ...npmQuiet, `node-${process.platform}-${process.arch}@${VERSIONS.node24}`],
      { cwd: tmp, env: withoutNpmScriptEnv() }));
  return node24Bin();
}

/** System packages code-server's native modules need to compile on Linux (Debian names). */
function missingBuildDeps() {
  if (process.platform !== 'linux') return [];
  const missing = [];
  if (!fs.existsSync('/usr/include/gssapi/gssapi.h')) missing.push('libkrb5-dev');
  for (const [tool, pkg] of [['make', 'build-essential'], ['g++', 'build-essential'], ['python3', 'python3']]) {
    const found = (process.env.PATH ?? '').split(path.delimiter).some((d) => fs.existsSync(path.join(d, tool)));
    if (!found && !missing.includes(pkg)) missing.push(pkg);
  }
  return missing;
}

/** About 2 minutes on 2 cores: code-server's postinstall compiles native modules (needs libkrb5-dev, a C++ toolchain). */
export async function ensureCodeServer() {
  await ensureNode24();
  const missing = fs.existsSync(codeServerBin()) ? [] : missingBuildDeps();
  if (missing.length) {
    throw new Error(`code-server needs system packages to build: apt-get install -y ${missing.join(' ')} (npm start and npm test install them as root: .ci/setup.mjs)`);
  }
  await installOnce(codeServerPrefix(), () => fs.existsSync(codeServerBin()), (tmp) =>
    run('npm', ['install', '-g', '--prefix', tmp, ...npmQuiet, `code-server@${VERSIONS.codeServer}`], {
      cwd: tmp,
      // node-gyp must build against Node 24's headers (a user ~/.npmrc may point nodedir elsewhere)
      env: { ...node24Env(withoutNpmScriptEnv()), npm_config_nodedir: node24Home() },
    }));
  return codeServerBin();
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  if (process.argv[2] !== 'ensure') {
    console.error('usage: node .ci/toolchain.mjs ensure');
    process.exit(2);
  }
  await ensureCodeServer();
  log(`node24:      ${node24Bin()}`);
  log(`code-server: ${codeServerBin()}`);
}
