// No network at runtime: test/stress/run.mjs loads support/noNetwork.js into every engine test process and, through
// execArgv, into every engine worker they start. It blocks and logs any TCP/UDP connection, DNS lookup or fetch; after
// the engine tests the runner checks that the log holds nothing but this file's self-test.
import assert from 'node:assert/strict';
import dns from 'node:dns';
import net from 'node:net';
import { test } from 'node:test';
import { SELF_TEST_TARGET, networkAttempts } from '../support/noNetwork';

const guarded = Boolean((globalThis as { __dllmNetworkGuard?: boolean }).__dllmNetworkGuard);

test('no network: the guard is loaded, and blocks and records connections, DNS and fetch', { skip: guarded ? false : 'run through test/stress/run.mjs (node --require noNetwork)' }, async () => {
  const [host, port] = SELF_TEST_TARGET.split(':');
  assert.throws(() => net.connect(Number(port), host), /network access blocked/);
  await assert.rejects(dns.promises.lookup('example.com'), /network access blocked/);
  await assert.rejects(fetch('https://example.com/'), /network access blocked/);
  const mine = networkAttempts().filter((a) => a.pid === process.pid);
  assert.ok(mine.some((a) => a.kind === 'tcp' && a.target === SELF_TEST_TARGET));
  assert.ok(mine.some((a) => a.kind.startsWith('dns') && a.target === 'example.com'));
  assert.ok(mine.some((a) => a.kind === 'fetch'));
});
