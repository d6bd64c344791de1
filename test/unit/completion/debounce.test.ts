import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdaptiveDebouncer, MAX_DEBOUNCE_MS, sleepUnlessCancelled } from '../../../src/completion/debounce';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}
const neutral = { charBefore: '=', atLineEnd: false };

test('first request waits the base delay; 0 turns debouncing off', () => {
  assert.equal(new AdaptiveDebouncer(clock().now).delayFor(150, neutral), 150);
  assert.equal(new AdaptiveDebouncer(clock().now).delayFor(0, neutral), 0);
});

test('a fast steady typist gets at least the base delay, a slow one waits longer (never past the cap)', () => {
  const c = clock();
  const d = new AdaptiveDebouncer(c.now);
  let delay = 0;
  for (let i = 0; i < 10; i++) { delay = d.delayFor(150, neutral); c.advance(60); }
  assert.equal(delay, 150, 'keys every 60 ms: base delay');
  for (let i = 0; i < 10; i++) { delay = d.delayFor(150, neutral); c.advance(300); }
  assert.ok(delay > 300 && delay <= 450, `keys every 300 ms: waits past the gap, got ${delay}`);
  for (let i = 0; i < 10; i++) { delay = d.delayFor(600, neutral); c.advance(1900); }
  assert.ok(delay <= MAX_DEBOUNCE_MS);
});

test('pauses (gaps over 2 s) do not count as typing rhythm', () => {
  const c = clock();
  const d = new AdaptiveDebouncer(c.now);
  d.delayFor(150, neutral);
  c.advance(5000);
  d.delayFor(150, neutral);
  assert.equal(d.typingGap, undefined);
});

test('shorter at a natural pause, longer mid-word', () => {
  const atPause = new AdaptiveDebouncer(clock().now).delayFor(200, { charBefore: '(', atLineEnd: true });
  const midWord = new AdaptiveDebouncer(clock().now).delayFor(200, { charBefore: 'a', atLineEnd: false });
  assert.ok(atPause < 200 && midWord > 200, `${atPause} / ${midWord}`);
});

test('sleepUnlessCancelled resolves false when the token is cancelled', async () => {
  const listeners: Array<() => void> = [];
  const token = { isCancellationRequested: false, onCancellationRequested: (l: () => void) => { listeners.push(l); return { dispose() {} }; } };
  const pending = sleepUnlessCancelled(10_000, token);
  listeners.forEach((l) => l());
  assert.equal(await pending, false);
  assert.equal(await sleepUnlessCancelled(1), true);
  assert.equal(await sleepUnlessCancelled(5, { ...token, isCancellationRequested: true }), false);
});
