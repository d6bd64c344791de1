// A software Vulkan device for the WebGPU tests on a machine without a GPU: Mesa 25's lavapipe from Debian
// bookworm-backports (Debian 12's own Mesa 22 is rejected by onnxruntime's WebGPU, Dawn). The packages are fetched
// with `apt-get download` through a private package list and unpacked into the cache (no root, nothing installed
// system-wide); the unit layer then runs with VK_ICD_FILENAMES and LD_LIBRARY_PATH pointing there.
//   node .ci/lavapipe.mjs        install (idempotent) and print the environment
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cacheDir } from './toolchain.mjs';

const MIRROR = 'http://deb.debian.org/debian';
const SUITE = 'bookworm-backports';
/** Package (suite) pairs: lavapipe, the libdrm it needs, and the Vulkan loader. */
const PACKAGES = [`mesa-vulkan-drivers/${SUITE}`, `libdrm2/${SUITE}`, 'libvulkan1'];

const log = (msg) => console.log(`[lavapipe] ${msg}`);
export const lavapipeDir = () => path.join(cacheDir(), 'lavapipe-mesa25');
const icdFile = () => path.join(lavapipeDir(), 'lvp_icd.json');

/** A real GPU is visible (DRM render node or NVIDIA device): its own Vulkan driver is used, not lavapipe. */
export function gpuPresent() {
  const dri = fs.existsSync('/dev/dri') ? fs.readdirSync('/dev/dri').some((f) => f.startsWith('renderD')) : false;
  return dri || fs.existsSync('/dev/nvidia0');
}

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout || '').trim().slice(-400)}`);
  return r.stdout;
}

function findFile(root, name) {
  for (const entry of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name === name) return path.join(entry.parentPath ?? entry.path, entry.name);
  }
  return undefined;
}

/** The environment that makes lavapipe the Vulkan device, or undefined when it is not installed. */
export function lavapipeEnv() {
  if (!fs.existsSync(icdFile())) return undefined;
  const icd = JSON.parse(fs.readFileSync(icdFile(), 'utf8'));
  const libDir = path.dirname(icd.ICD.library_path);
  return { VK_ICD_FILENAMES: icdFile(), LD_LIBRARY_PATH: [libDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
}

/**
 * Installs lavapipe into the cache unless it is there, a GPU is present or this is not Debian-like Linux on which
 * apt-get works. Returns why it is not used (a string) or undefined when it is ready.
 */
export function ensureLavapipe() {
  if (gpuPresent()) return 'a GPU is present: its own Vulkan driver is used';
  if (lavapipeEnv()) return undefined;
  if (process.platform !== 'linux' || !fs.existsSync('/usr/bin/apt-get') || !fs.existsSync('/usr/bin/dpkg-deb')) {
    return 'not a Debian/Ubuntu system: install a Vulkan driver (Mesa >= 25 lavapipe) to run the WebGPU tests';
  }
  const dir = lavapipeDir();
  const work = `${dir}.partial`;
  fs.rmSync(work, { recursive: true, force: true });
  const lists = path.join(work, 'lists');
  fs.mkdirSync(path.join(lists, 'partial'), { recursive: true });
  fs.mkdirSync(path.join(work, 'cache', 'archives', 'partial'), { recursive: true });
  fs.writeFileSync(path.join(work, 'sources.list'), `deb ${MIRROR} ${SUITE} main\ndeb ${MIRROR} bookworm main\n`);
  const opts = ['-o', `Dir::Etc::SourceList=${path.join(work, 'sources.list')}`, '-o', 'Dir::Etc::SourceParts=/nonexistent',
    '-o', `Dir::State::Lists=${lists}`, '-o', `Dir::Cache=${path.join(work, 'cache')}`, '-qq',
    ...(process.getuid?.() === 0 ? ['-o', 'APT::Sandbox::User=root'] : [])]; // root: the private folders are not _apt's
  try {
    log(`installing Mesa 25 lavapipe (software Vulkan for the WebGPU tests) into ${dir}: ${PACKAGES.join(' ')}`);
    const t0 = Date.now();
    run('apt-get', [...opts, 'update'], work);
    run('apt-get', [...opts, 'download', ...PACKAGES], work);
    const root = path.join(work, 'root');
    for (const deb of fs.readdirSync(work).filter((f) => f.endsWith('.deb'))) run('dpkg-deb', ['-x', deb, root], work);
    const driver = findFile(root, 'libvulkan_lvp.so');
    if (!driver) throw new Error('libvulkan_lvp.so not found in the unpacked packages');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(root, dir);
    const finalDriver = path.join(dir, path.relative(root, driver));
    fs.writeFileSync(icdFile(), JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: finalDriver, api_version: '1.4.305' } }, null, 2));
    log(`lavapipe ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    return undefined;
  } catch (e) {
    log(`could not install lavapipe (${e.message}); the WebGPU tests will report a skip`);
    return `lavapipe could not be installed: ${e.message}`;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const why = ensureLavapipe();
  if (why) log(why);
  console.log(JSON.stringify(lavapipeEnv() ?? {}, null, 2));
}
