// Mocha root hooks for the e2e layer (loaded by test/e2e/run.mjs before the test files).
import { closeBrowser } from './helpers';

export const mochaHooks = {
  async afterAll(): Promise<void> {
    await closeBrowser();
  },
};
