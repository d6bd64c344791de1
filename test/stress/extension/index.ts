// Loaded by VS Code as extensionTestsPath (test/stress/extensionHost.mjs): runs the stress suites in the real
// extension host. $DLLM_STRESS_SUITE picks them: 'editor' = every *.test.js here but untrusted.test.js; 'untrusted' =
// untrusted.test.js (run in a separate window whose folder is not trusted). Results go to $DLLM_TEST_RESULTS, the
// running test's title to $DLLM_TEST_RESULTS.running.
import fs from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';
import { mochaOutcome } from '../../support/knownFailure';

export function run(): Promise<void> {
  const suite = process.env.DLLM_STRESS_SUITE ?? 'editor';
  const files = fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js'))
    .filter((f) => (suite === 'untrusted') === (f === 'untrusted.test.js')).sort();
  const only = process.env.DLLM_STRESS_ONLY; // development: a substring of the file names to run
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 120_000 });
  const picked = files.filter((f) => !only || f.includes(only));
  for (const f of picked) mocha.addFile(path.join(__dirname, f));
  const resultsFile = process.env.DLLM_TEST_RESULTS;
  return new Promise((resolve, reject) => {
    const runner = mocha.run(() => {
      const r = outcome.result();
      if (picked.length === 0) {
        r.failed += 1;
        r.problems.push(`no test file matches DLLM_STRESS_ONLY=${only}`);
      }
      console.log(`stress ${suite} (extension host): ${r.passed} passed, ${r.failed} failed, ${r.skipped.length} skipped${r.problems.length ? `; ${r.problems.join('; ')}` : ''}`);
      if (resultsFile) fs.writeFileSync(resultsFile, JSON.stringify(r));
      if (r.failed > 0) reject(new Error(`${r.failed} stress tests failed`));
      else resolve();
    });
    // A name filter is a grep: fewer tests than the suite has is expected then, zero is not.
    const outcome = mochaOutcome(runner, only);
    if (resultsFile) runner.on('test', (test) => fs.writeFileSync(`${resultsFile}.running`, test.fullTitle()));
  });
}
