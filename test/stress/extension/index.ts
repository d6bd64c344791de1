// Loaded by VS Code as extensionTestsPath (test/stress/extensionHost.mjs): runs the stress suites in the real
// extension host. $DLLM_STRESS_SUITE picks them: 'editor' = every *.test.js here but untrusted.test.js; 'untrusted' =
// untrusted.test.js (run in a separate window whose folder is not trusted). Results go to $DLLM_TEST_RESULTS.
import fs from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const suite = process.env.DLLM_STRESS_SUITE ?? 'editor';
  const files = fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js'))
    .filter((f) => (suite === 'untrusted') === (f === 'untrusted.test.js')).sort();
  const only = process.env.DLLM_STRESS_ONLY; // development: a substring of the file names to run
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 120_000 });
  for (const f of files) if (!only || f.includes(only)) mocha.addFile(path.join(__dirname, f));
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const stats = runner.stats ?? { passes: 0, failures };
      console.log(`stress ${suite} (extension host): ${stats.passes} passed, ${stats.failures} failed`);
      if (process.env.DLLM_TEST_RESULTS) {
        fs.writeFileSync(process.env.DLLM_TEST_RESULTS, JSON.stringify({ passed: stats.passes, failed: stats.failures }));
      }
      if (stats.failures > 0) reject(new Error(`${stats.failures} stress tests failed`));
      else resolve();
    });
  });
}
