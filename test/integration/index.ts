// Loaded by VS Code as extensionTestsPath: runs every test/integration/**/*.test.ts (compiled to out/) with mocha
// inside the real extension host. Results (passes, failures, skips with reasons, known failures) go to
// $DLLM_TEST_RESULTS as JSON for the runner; the test running at any moment is in $DLLM_TEST_RESULTS.running, so that a
// timeout can name it.
import fs from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';
import { mochaOutcome } from '../support/knownFailure';

function testFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.js'))
    .map((e) => path.join(e.parentPath ?? (e as any).path, e.name))
    .sort();
}

export function run(): Promise<void> {
  // DLLM_TEST_GREP=<regexp> runs only the matching tests (the extension host inherits the runner's environment).
  const grep = process.env.DLLM_TEST_GREP || undefined;
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60_000, grep });
  for (const file of testFiles(__dirname)) mocha.addFile(file);
  const resultsFile = process.env.DLLM_TEST_RESULTS;
  return new Promise((resolve, reject) => {
    const runner = mocha.run(() => {
      const r = outcome.result();
      console.log(`integration (extension host): ${r.passed} passed, ${r.failed} failed, ${r.skipped.length} skipped${r.problems.length ? `; ${r.problems.join('; ')}` : ''}`);
      if (resultsFile) fs.writeFileSync(resultsFile, JSON.stringify(r));
      if (r.failed > 0) reject(new Error(`${r.failed} integration tests failed`));
      else resolve();
    });
    const outcome = mochaOutcome(runner, grep);
    if (resultsFile) runner.on('test', (test) => fs.writeFileSync(`${resultsFile}.running`, test.fullTitle()));
  });
}
