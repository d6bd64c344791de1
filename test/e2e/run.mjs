// E2E layer: packages the VSIX for this platform, installs it into a fresh code-server, and runs every
// out/test/e2e/**/*.test.js (compiled from test/e2e/**/*.test.ts) with mocha; the tests drive Chromium via Playwright.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import Mocha from 'mocha';
import { CHROMIUM_ARGS, chromiumPath, installVsix, makeStateDir, startCodeServer } from '../../.ci/codeServer.mjs';
import { hostTarget, packageVsix } from '../../.ci/package.mjs';
import { ensureCodeServer } from '../../.ci/toolchain.mjs';
import { ROOT, SCREENSHOTS_DIR, elapsed, findFiles, writeSummary } from '../support/layers.mjs';

const require = createRequire(import.meta.url);
const OUT = path.join(ROOT, 'out', 'test', 'e2e');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'demo-workspace');
const t0 = Date.now();
const log = (m) => console.log(`[e2e ${elapsed(t0)}] ${m}`);

function runMocha(files) {
  const grep = process.env.DLLM_TEST_GREP || undefined;
  const mocha = new Mocha({ ui: 'tdd', timeout: 120_000, slow: 10_000, color: false, grep,
    rootHooks: require(path.join(OUT, 'hooks.js')).mochaHooks });
  for (const f of files) mocha.addFile(f);
  // The compiled helper shares its module state (skip reasons, known failures) with the compiled tests.
  const { mochaOutcome } = require(path.join(ROOT, 'out', 'test', 'support', 'knownFailure.js'));
  return new Promise((resolve) => {
    const runner = mocha.run(() => resolve(outcome.result()));
    const outcome = mochaOutcome(runner, grep);
  });
}

let passed = 0;
let failed = 0;
let counts = { skipped: [], knownFailures: [], problems: [] };
let server;
const state = makeStateDir('e2e');
try {
  const files = findFiles(OUT, '.test.js');
  if (files.length === 0) throw new Error('no compiled e2e tests in out/test/e2e (run `node esbuild.mjs --tests`)');
  await ensureCodeServer();
  const [{ vsix }] = await packageVsix([hostTarget()]);
  log(`installing ${path.relative(ROOT, vsix)}`);
  installVsix(state, vsix);
  const workspace = path.join(state.root, 'workspace');
  fs.cpSync(FIXTURE, workspace, { recursive: true });
  server = await startCodeServer({ state, workspace });
  log(`code-server at ${server.url} (log: ${server.logFile})`);
  Object.assign(process.env, {
    DLLM_E2E_URL: server.url,
    DLLM_E2E_WORKSPACE: workspace,
    DLLM_SCREENSHOTS: SCREENSHOTS_DIR,
    DLLM_E2E_CHROMIUM: chromiumPath(),
    DLLM_E2E_CHROMIUM_ARGS: JSON.stringify(CHROMIUM_ARGS),
  });
  counts = await runMocha(files);
  passed = counts.passed;
  failed = counts.failed;
} catch (e) {
  log(`ERROR ${e.stack ?? e}`);
  failed = Math.max(failed, 1);
} finally {
  await server?.stop();
}
if (failed === 0) fs.rmSync(state.root, { recursive: true, force: true });
else log(`state kept for debugging: ${state.root}`);
log(`done in ${elapsed(t0)}; screenshots in ${SCREENSHOTS_DIR}`);
writeSummary('e2e', passed, failed, { skipped: counts.skipped, knownFailures: counts.knownFailures, problems: counts.problems });
process.exit(failed ? 1 : 0);
