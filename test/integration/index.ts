// Loaded by VS Code as extensionTestsPath: runs every test/integration/**/*.test.ts (compiled to out/) with mocha
// inside the real extension host. Results also go to $DLLM_TEST_RESULTS as JSON for the runner.
import fs from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';

function testFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.js'))
    .map((e) => path.join(e.parentPath ?? (e as any).path, e.name))
    .sort();
}

export function run(): Promise<void> {
  // DLLM_TEST_GREP=<regexp> runs only the matching tests (the extension host inherits the runner's environment).
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60_000, grep: process.env.DLLM_TEST_GREP || undefined });
  for (const file of testFiles(__dirname)) mocha.addFile(file);
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const stats = runner.stats ?? { passes: 0, failures };
      const failed = stats.failures;
      console.log(`integration (extension host): ${stats.passes} passed, ${failed} failed`);
      if (process.env.DLLM_TEST_RESULTS) {
        fs.writeFileSync(process.env.DLLM_TEST_RESULTS, JSON.stringify({ passed: stats.passes, failed }));
      }
      if (failed > 0) reject(new Error(`${failed} integration tests failed`));
      else resolve();
    });
  });
}
