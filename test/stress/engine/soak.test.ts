// Soak: 10,000 small completions through EngineClient and the real worker process (what the editor uses), with flat
// memory in the extension-host side and in the worker. DLLM_SOAK_COMPLETIONS overrides the count (development only).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, test } from 'node:test';
import type { CompletionRequest } from '../../../src/engine/protocol';
import { assertFigure, mb, ms, percentile, recordFigure } from '../support/figures';
import { HAVE_PROC, inetSocketsOf, rssOf } from '../support/proc';
import { SHORT_PROMPTS, clientBookkeeping, disposeClients, makeClient, skipWithoutModel } from './helpers';

const COUNT = Number(process.env.DLLM_SOAK_COMPLETIONS || 10_000);
/**
 * Completions before the start measurement. RSS climbs over the first ~2,000 while V8 touches the pages of its young
 * generation and malloc settles (test/stress/run.mjs starts this process with that generation at full size, as it is
 * in a busy extension host); "after load" in the figures is the RSS right after the first completion.
 */
const WARMUP = 2000;
/** Growth allowed between the end of the warm-up and the end of the soak (after GC where we can force it). */
const MAX_GROWTH = 50 * 1024 * 1024;
/**
 * Growth allowed over the last quarter, above the highest RSS measured before it: flat. (RSS first climbs for a few
 * thousand completions while V8 and malloc settle on their working sizes, with the JS heap flat, then stays put or
 * moves up and down as pages are returned; a leak would keep setting new highs.)
 */
const MAX_LAST_QUARTER_GROWTH = 5 * 1024 * 1024;

after(disposeClients);

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) { g(); g(); }
}

test(`soak: ${COUNT.toLocaleString('en-US')} completions through the engine with flat memory`, { skip: skipWithoutModel }, async () => {
  const client = await makeClient();
  const request = (i: number): CompletionRequest => ({
    id: `soak-${i}`, ...SHORT_PROMPTS[i % SHORT_PROMPTS.length], maxNewTokens: 4,
    policy: i % 2 ? 'r2' : 'fast-dllm', editorKey: `file:///soak/${i % 3}.ts`, options: { stopWhenAnswerFinal: true },
  });
  let steps = 0;
  const run = (i: number) => client.complete(request(i), i % 2 ? () => { steps++; } : undefined);

  const first = await run(0);
  assert.equal(first.cancelled, false);
  const pid = client.workerPid!;
  if (HAVE_PROC && (globalThis as { __dllmNetworkGuard?: boolean }).__dllmNetworkGuard) {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    assert.match(cmdline, /noNetwork/, 'the worker process runs under the network guard too (inherited execArgv)');
  }
  const workerAfterLoad = rssOf(pid);
  gc();
  const hostAfterLoad = process.memoryUsage().rss;
  for (let i = 1; i < WARMUP; i++) await run(i);
  gc();
  const hostStart = process.memoryUsage();
  const workerStart = rssOf(pid);

  const t0 = performance.now();
  const times: number[] = [];
  const sockets = new Set<string>();
  let workerPeak = workerStart;
  /** RSS after 25, 50 and 75 % of the soak. */
  const hostAt: NodeJS.MemoryUsage[] = [];
  const workerAt: number[] = [];
  let cancelled = 0;
  let tokens = 0;
  for (let i = 0; i < COUNT; i++) {
    const s = performance.now();
    const r = await run(WARMUP + i);
    times.push(performance.now() - s);
    if (r.cancelled) cancelled++;
    tokens += r.metrics.tokens;
    if (i % 500 === 0) {
      workerPeak = Math.max(workerPeak, rssOf(pid));
      for (const sock of inetSocketsOf(pid)) sockets.add(sock);
    }
    if (i > 0 && i % Math.floor(COUNT / 4) === 0 && i < COUNT) {
      gc();
      hostAt.push(process.memoryUsage());
      workerAt.push(rssOf(pid));
    }
  }
  const wallMs = performance.now() - t0;
  gc();
  const hostEnd = process.memoryUsage();
  const workerEnd = rssOf(pid);
  const book = clientBookkeeping(client);
  assert.equal(client.workerPid, pid, 'the worker did not restart during the soak');
  assert.equal(cancelled, 0);
  assert.deepEqual({ pending: book.pending, inFlight: book.inFlight }, { pending: 0, inFlight: 0 }, 'no request left behind');
  assert.ok(steps > 0, 'step events arrived');

  const perCompletion = wallMs / COUNT;
  recordFigure({
    area: 'Soak', check: `${COUNT.toLocaleString('en-US')} completions (4-token canvas, fast-dllm/r2) through EngineClient: time per completion`,
    figure: `mean ${ms(perCompletion)}, p99 ${ms(percentile(times, 99))}; ${(wallMs / 1000).toFixed(0)} s in all`, bound: 'report',
    holds: true, values: { count: COUNT, wallMs, meanMs: perCompletion, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), tokens },
  });
  const hostGrowth = hostEnd.rss - hostStart.rss;
  const workerGrowth = workerEnd - workerStart;
  const signed = (n: number) => `${n >= 0 ? '+' : ''}${mb(n)}`;
  const path = (points: number[]) => points.map(mb).join(' → ');
  const workerQ3 = Math.max(workerStart, ...workerAt.slice(0, 3));
  assertFigure({
    area: 'Soak', check: `RSS of the engine worker process at 0, 25, 50, 75, 100 % (0 % = after ${WARMUP.toLocaleString('en-US')} warm-up completions)`,
    figure: HAVE_PROC ? `${path([workerStart, ...workerAt, workerEnd])} (${signed(workerGrowth)}; last quarter above the earlier high ${signed(workerEnd - workerQ3)}; after load ${mb(workerAfterLoad)})` : 'n/a (no /proc)',
    bound: `growth < ${mb(MAX_GROWTH)}, last quarter above the earlier high < ${mb(MAX_LAST_QUARTER_GROWTH)}`,
    holds: !HAVE_PROC || (workerGrowth < MAX_GROWTH && workerEnd - workerQ3 < MAX_LAST_QUARTER_GROWTH),
    values: { workerAfterLoad, workerStart, workerAt: workerAt.join(','), workerEnd, workerPeak, workerGrowth },
  });
  const heapUsedGrowth = hostEnd.heapUsed - hostStart.heapUsed;
  // What the client's JavaScript can hold: its heap plus the native memory of its Buffers and ArrayBuffers. A leak in
  // the client grows it; the client's RSS also moves with the allocator's caching (±15 MB between quarters on
  // 2026-12-04 with a flat heap), so RSS is bounded for gross growth only.
  const live = (m: NodeJS.MemoryUsage) => m.heapUsed + m.external;
  const liveQ3 = Math.max(live(hostStart), ...hostAt.slice(0, 3).map(live));
  assertFigure({
    area: 'Soak', check: 'memory of the client side (extension-host stand-in) at 0, 25, 50, 75, 100 %, after GC',
    figure: `RSS ${path([hostStart, ...hostAt, hostEnd].map((m) => m.rss))} (${signed(hostGrowth)}; after load ${mb(hostAfterLoad)}); ` +
      `JS heap + external ${path([hostStart, ...hostAt, hostEnd].map(live))} (last quarter above the earlier high ${signed(live(hostEnd) - liveQ3)}); ` +
      `JS heap used ${mb(hostStart.heapUsed)} → ${mb(hostEnd.heapUsed)}`,
    bound: `RSS growth < ${mb(MAX_GROWTH)}, heap + external in the last quarter above the earlier high < ${mb(MAX_LAST_QUARTER_GROWTH)}, heap used + < 5 MB`,
    holds: hostGrowth < MAX_GROWTH && live(hostEnd) - liveQ3 < MAX_LAST_QUARTER_GROWTH && heapUsedGrowth < 5 * 1024 * 1024,
    values: { hostAfterLoad, hostRssStart: hostStart.rss, hostRssEnd: hostEnd.rss, heapStart: hostStart.heapUsed, heapEnd: hostEnd.heapUsed,
      liveStart: live(hostStart), liveEnd: live(hostEnd) },
  });
  assertFigure({
    area: 'Security', check: 'network sockets (TCP/UDP, native code included) held by the engine worker during the soak (/proc)',
    figure: HAVE_PROC ? `${sockets.size}` : 'n/a (no /proc)', bound: '0', holds: sockets.size === 0,
    values: { sockets: [...sockets].join('; ') || null },
  });
});
