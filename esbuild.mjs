// Build script.
//   node esbuild.mjs               development bundles in dist/ (with sourcemaps)
//   node esbuild.mjs --production  minified bundles, no sourcemaps (used by `vsce package`)
//   node esbuild.mjs --watch       development bundles, rebuilt on change
//   node esbuild.mjs --tests       transpile src/ and test/ into out/ for the test runners (one file per file)
//
// Entry points that do not exist yet are skipped with a warning, so the build works while they are being written.
// onnxruntime-node is a native addon: it stays external and ships in the VSIX's node_modules.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.dirname(new URL(import.meta.url).pathname);
const args = new Set(process.argv.slice(2));
const production = args.has('--production');
const watch = args.has('--watch');

const ENTRIES = {
  extension: 'src/extension.ts',
  worker: 'src/engine/worker.ts',
  cli: 'src/cli.ts',
};
// Never bundled: provided by VS Code (vscode) or native / must stay a single copy (onnxruntime-*).
const EXTERNAL = ['vscode', 'onnxruntime-node', 'onnxruntime-common'];

function presentEntries() {
  const entries = {};
  for (const [name, file] of Object.entries(ENTRIES)) {
    if (fs.existsSync(path.join(ROOT, file))) entries[name] = file;
    else console.warn(`esbuild: skipping ${file} (not written yet)`);
  }
  return entries;
}

function bundleOptions() {
  return {
    absWorkingDir: ROOT,
    entryPoints: presentEntries(),
    outdir: 'dist',
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: EXTERNAL,
    sourcemap: production ? false : 'linked',
    minify: production,
    keepNames: true,
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': JSON.stringify(production ? 'production' : 'development') },
    logLevel: 'warning',
    metafile: true,
  };
}

function listTsFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath ?? e.path, e.name)));
}

function printSizes(metafile) {
  for (const [file, info] of Object.entries(metafile.outputs)) {
    if (!file.endsWith('.map')) console.log(`  ${file.padEnd(22)} ${(info.bytes / 1024).toFixed(1)} KiB`);
  }
}

async function buildBundles() {
  // No stale .map files in a production build. Files are replaced in place, never the whole folder removed:
  // other processes (tests, a running engine) may be using dist/ at the same time.
  if (production) removeFiles(path.join(ROOT, 'dist'), (f) => f.endsWith('.map'));
  const result = await esbuild.build(bundleOptions());
  console.log(`esbuild: ${production ? 'production' : 'development'} bundles`);
  printSizes(result.metafile);
}

async function watchBundles() {
  const ctx = await esbuild.context({
    ...bundleOptions(),
    plugins: [{
      name: 'report',
      setup(build) {
        build.onEnd((r) => console.log(`[watch] build finished: ${r.errors.length} errors, ${r.warnings.length} warnings`));
      },
    }],
  });
  await ctx.watch();
  console.log('[watch] watching src/ for changes (Ctrl+C to stop)');
}

function removeFiles(dir, shouldRemove) {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const file = path.join(e.parentPath ?? e.path, e.name);
    if (e.isFile() && shouldRemove(file)) fs.rmSync(file, { force: true });
  }
}

/** Tests run from out/: each .ts file becomes one .js file, so modules keep their identity and relative paths. */
async function buildTests() {
  const entryPoints = [...listTsFiles(path.join(ROOT, 'src')), ...listTsFiles(path.join(ROOT, 'test'))];
  await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints,
    outdir: 'out',
    outbase: '.',
    bundle: false,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  // Drop outputs whose source is gone (a deleted test must not keep running). Only those: a concurrent run
  // in the same working tree may be reading out/ right now.
  const sources = new Set(entryPoints.map((f) => f.replace(/\.ts$/, '.js')));
  for (const dir of ['src', 'test']) {
    removeFiles(path.join(ROOT, 'out', dir), (f) => f.endsWith('.js') && !sources.has(path.relative(path.join(ROOT, 'out'), f)));
  }
  console.log(`esbuild: ${entryPoints.length} files transpiled into out/`);
}

if (args.has('--tests')) await buildTests();
else if (watch) await watchBundles();
else await buildBundles();
