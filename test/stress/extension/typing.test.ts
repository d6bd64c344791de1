// Typing load: 200 real browser keystrokes, 30 ms apart, into a Python file in the editor, with the real engine.
// Checks: at most one decode in flight (not asked to stop) at a time; every ghost text the provider serves, and every
// ghost text the editor shows after a keystroke, belongs to the text as it is then; the extension host's event loop
// stays responsive (p99 lag). Run twice: with the default debounce, and with dllm.debounceMs 0 (a decode per keystroke).
import assert from 'node:assert/strict';
import path from 'node:path';
import * as vscode from 'vscode';
import { assertFigure, ms, recordFigure } from '../support/figures';
import { cpuSecondsOf } from '../support/proc';
import { unhealAnswer } from '../../../src/completion/prefixHealing';
import {
  DecodeMonitor, type GhostSample, NotificationSpy, type Testing, closeAllEditors, completionAt, extension, pageCommand,
  lagMonitor, lagMs, scriptEngine, setSetting, sleep, waitFor,
} from './helpers';

/** Served completions a stale-ghost-text row needs before it can hold. */
const MIN_STALE_SAMPLES = 3;
const KEYSTROKES = 200;
const INTERVAL_MS = 30;
const SNIPPET = `def moving_average(values, window):
result = []
for i in range(len(values)):
lo = max(0, i - window + 1)
chunk = values[lo:i + 1]
result.append(sum(chunk) / len(chunk))
return result

def median(values):
ordered = sorted(values)
n = len(ordered)
mid = n // 2
if n % 2:
return ordered[mid]
return (ordered[mid - 1] + ordered[mid]) / 2
`;
const TEXT = SNIPPET.slice(0, KEYSTROKES);
/**
 * p99 event-loop lag of the extension host must stay under this while typing. On the 2-core CI machine the host lags
 * 20-50 ms at p99 with dLLM turned off when other work shares the cores (the baseline test measures it each run).
 */
const MAX_P99_LAG_MS = 100;
/** p99 lag while typing with dLLM off, measured by the baseline test. */
let baselineP99: number | undefined;

interface ProviderCall { version: number; prefix: string; text?: string; requestId?: string; returnedVersion?: number }

const lastLine = (s: string) => s.slice(s.lastIndexOf('\n') + 1);
const firstLine = (s: string) => s.split('\n')[0];

async function typingRun(t: Testing, label: string, pauses?: { after: string; ms: number }, scripted = false) {
  // The scripted engine answers every request (a tagged line, 300 ms per decode): ghost text after every pause.
  const script = scripted ? scriptEngine(t, (r) => `value  # for ${r.prefix.slice(-12).replace(/\s+/g, ' ')}`, { delayMs: 300, steps: 3 }) : undefined;
  try {
    await typingRunWith(t, label, pauses);
  } finally {
    script?.dispose();
  }
}

/** The workspace's typing.py, focused, with the cursor at its end (where the keystrokes go). */
async function openTypingDocument(): Promise<{ doc: vscode.TextDocument; end: vscode.Position }> {
  const uri = vscode.Uri.file(path.join(process.env.DLLM_STRESS_WORKSPACE ?? '', 'typing.py'));
  const doc = await vscode.workspace.openTextDocument(uri);
  const editor = await vscode.window.showTextDocument(doc);
  const end = doc.positionAt(doc.getText().length);
  editor.selection = new vscode.Selection(end, end);
  await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup');
  return { doc, end };
}

async function typingRunWith(t: Testing, label: string, pauses?: { after: string; ms: number }) {
  const { doc, end } = await openTypingDocument();
  // Warm up: the model loads on the first request, as it would have long before a user types this fast.
  await completionAt(t, doc, end);

  const calls: ProviderCall[] = [];
  const provider = t.provider as unknown as { provideInlineCompletionItems: typeof t.provider.provideInlineCompletionItems };
  const original = provider.provideInlineCompletionItems;
  provider.provideInlineCompletionItems = async function (this: unknown, document, position, context, token) {
    const call: ProviderCall = { version: document.version, prefix: document.getText(new vscode.Range(new vscode.Position(0, 0), position)) };
    calls.push(call);
    const list = await original.call(t.provider, document, position, context, token);
    const item = list?.items[0];
    if (item) {
      call.text = item.insertText as string;
      call.requestId = t.provider.lastServed?.requestId;
      call.returnedVersion = document.version;
    }
    return list;
  };
  const monitor = new DecodeMonitor(t);
  const requests = new Map<string, { prefix: string; raw: string }>();
  const client = t.engine.engineClient as unknown as { complete: (...a: any[]) => Promise<any> };
  const monitored = client.complete;
  client.complete = (request: any, onStep?: (e: any) => void) => {
    const rec = { prefix: request.prefix as string, raw: '' };
    requests.set(request.id, rec);
    return monitored(request, (e: any) => { rec.raw = e.stablePrefix; onStep?.(e); }).then((r: any) => { rec.raw = r.cancelled ? rec.raw : r.completion; return r; });
  };
  const spy = new NotificationSpy();
  const pid = (t.engine.engineClient as unknown as { workerPid?: number }).workerPid;
  const idle = lagMonitor();
  idle.enable();
  await sleep(2000);
  idle.disable();
  const h = lagMonitor();
  const cpu0 = pid ? cpuSecondsOf(pid) : NaN;
  const host0 = process.cpuUsage();
  const t0 = Date.now();
  let typed: { samples: GhostSample[]; ms: number };
  h.enable();
  try {
    typed = await pageCommand<{ samples: GhostSample[]; ms: number }>('type',
      { text: TEXT, delayMs: INTERVAL_MS, pauseAfter: pauses?.after ?? '', pauseMs: pauses?.ms ?? 0 });
  } finally {
    h.disable();
  }
  const typingMs = Date.now() - t0;
  const workerCpu = pid ? cpuSecondsOf(pid) - cpu0 : NaN;
  const hostCpu = process.cpuUsage(host0);
  // Settle: the last decode finishes, then what the editor shows is read once more.
  await waitFor(() => t.provider.liveDecodes.size === 0, 'the last decode to end', 60_000);
  await sleep(1000);
  const final = await pageCommand<GhostSample>('ghost');
  await pageCommand('screenshot', { name: `stress-typing-${label}` });
  provider.provideInlineCompletionItems = original;
  client.complete = monitored;
  monitor.dispose();
  spy.dispose();

  // What was typed arrived, in order (auto-indent and auto-closed brackets aside).
  const squash = (s: string) => s.replace(/\s+/g, '');
  assert.ok(squash(doc.getText()).includes(squash(TEXT).slice(0, 120)), 'the keystrokes reached the document');

  // Every served ghost text belongs to the document at the call: its decode's prefix, plus text typed along it.
  const served = calls.filter((c) => c.text !== undefined);
  const staleServed = served.filter((c) => {
    const req = c.requestId ? requests.get(c.requestId) : undefined;
    if (!req) return false; // served from a decode that started before this run (warm-up cache)
    const at = c.prefix.lastIndexOf(req.prefix);
    if (at < 0) return true;
    // The request's prefix may lack the whitespace the user typed last (prefix healing): the answer then shows after it.
    const typedAlong = c.prefix.slice(at + req.prefix.length);
    const healings = ['', ' ', /^[\r\n]+/.exec(typedAlong)?.[0] ?? ''];
    return !healings.some((h) => typedAlong.startsWith(h) &&
      (typedAlong.length === h.length || unhealAnswer(req.raw, h).startsWith(typedAlong.slice(h.length))));
  });
  // Every ghost text the editor showed after a keystroke completes the current line as some served text would have.
  const servedLines = served.map((c) => ({ before: lastLine(c.prefix), line: lastLine(c.prefix) + firstLine(c.text!) }));
  const shown = [...typed!.samples, final].filter((s) => s.ghost.trim() !== '' && s.before !== null);
  const staleShown = shown.filter((s) => !servedLines.some((l) => s.before!.startsWith(l.before) && l.line.startsWith(s.before! + firstLine(s.ghost))));
  for (const s of staleShown) console.log(`  stale ghost text? before ${JSON.stringify(s.before)} ghost ${JSON.stringify(s.ghost)}`);
  const decodes = monitor.requests.length;
  const cancelled = monitor.requests.filter((r) => r.cancelled).length;
  const errors = spy.notices.filter((n) => n.level === 'error');
  const lagP99 = lagMs(h.percentile(99));
  const lagMax = lagMs(h.max);
  const idleP99 = lagMs(idle.percentile(99));
  console.log(`  ${label}: ${typed!.samples.length} keystrokes in ${typingMs} ms; provider calls ${calls.length}, served ${served.length}, ` +
    `decodes ${decodes} (${cancelled} cancelled), ghost text seen after ${shown.length} keystrokes; lag p99 ${lagP99.toFixed(1)} ms, max ${lagMax.toFixed(1)} ms`);

  assertFigure({
    area: 'Typing load', check: `${label}: decodes in flight at once (not asked to stop), ${KEYSTROKES} keystrokes at ${INTERVAL_MS} ms`,
    figure: `max ${monitor.maxLive} (held by the client incl. cancelling: max ${monitor.maxHeld}); ${decodes} decodes started, ${cancelled} cancelled; ${calls.length} provider calls`,
    bound: '≤ 1', holds: monitor.maxLive <= 1,
    values: { maxLive: monitor.maxLive, maxHeld: monitor.maxHeld, decodes, cancelled, providerCalls: calls.length },
  });
  // A row holds only on samples: with fewer than MIN_STALE_SAMPLES served completions it says it checked nothing.
  const staleFigure = `${staleServed.length} of ${served.length} served / ${staleShown.length} of ${shown.length} shown`;
  if (served.length >= MIN_STALE_SAMPLES) {
    assertFigure({
      area: 'Typing load', check: `${label}: stale ghost text (served for another text / shown after a keystroke for another text)`,
      figure: staleFigure, bound: `0 (at least ${MIN_STALE_SAMPLES} served)`, holds: staleServed.length === 0 && staleShown.length === 0,
      values: { served: served.length, staleServed: staleServed.length, shown: shown.length, staleShown: staleShown.length },
    });
  } else {
    assert.equal(staleServed.length + staleShown.length, 0, `stale ghost text: ${staleFigure}`);
    recordFigure({
      area: 'Typing load', check: `${label}: stale ghost text (served for another text / shown after a keystroke for another text)`,
      figure: `${staleFigure}: too few samples, not a check (no pause long enough for VS Code to ask)`, bound: 'report', holds: true,
      values: { served: served.length, staleServed: staleServed.length, shown: shown.length, staleShown: staleShown.length },
    });
  }
  assertFigure({
    area: 'Typing load', check: `${label}: extension-host event-loop lag while typing (dLLM off: p99 ${baselineP99 === undefined ? 'n/a' : ms(baselineP99)}; idle just before: p99 ${ms(idleP99)})`,
    figure: `p99 ${ms(lagP99)}, max ${ms(lagMax)}`, bound: `p99 < ${MAX_P99_LAG_MS} ms`, holds: lagP99 < MAX_P99_LAG_MS,
    values: { p99: lagP99, max: lagMax, mean: lagMs(h.mean), idleP99 },
  });
  recordFigure({
    area: 'Typing load', check: `${label}: CPU while typing (${(typingMs / 1000).toFixed(1)} s)`,
    figure: `engine worker ${Number.isFinite(workerCpu) ? `${workerCpu.toFixed(2)} s (${((100 * workerCpu * 1000) / typingMs).toFixed(0)} % of a core)` : 'n/a'}, ` +
      `extension host ${((hostCpu.user + hostCpu.system) / 1e6).toFixed(2)} s`,
    bound: 'report', holds: true, values: { workerCpu, hostCpuUs: hostCpu.user + hostCpu.system, typingMs },
  });
  assert.deepEqual(errors.map((e) => e.message), [], 'no error notification while typing');
  // Leave the file as it was for the next run.
  await vscode.commands.executeCommand('workbench.action.files.revert');
}

suite('stress: typing load in a real editor', function () {
  this.timeout(300_000);
  let t: Testing;

  suiteSetup(async () => {
    t = (await extension()).t;
  });

  teardown(async () => {
    await setSetting('debounceMs', undefined);
    await closeAllEditors();
  });

  // The same keystrokes with inline completions off: what the editor and the other extensions cost on their own.
  test('baseline: 200 keystrokes at 30 ms with dllm.enable off', async () => {
    await setSetting('enable', false);
    try {
      await openTypingDocument();
      const calls = t.provider.callCount;
      const h = lagMonitor();
      h.enable();
      try {
        await pageCommand('type', { text: TEXT, delayMs: INTERVAL_MS });
      } finally {
        h.disable();
      }
      const lagP99 = lagMs(h.percentile(99));
      baselineP99 = lagP99;
      recordFigure({
        area: 'Typing load', check: 'baseline, dllm.enable off: extension-host event-loop lag while typing',
        figure: `p99 ${ms(lagP99)}, max ${ms(lagMs(h.max))}; ${t.provider.callCount - calls} provider calls (answered with nothing)`,
        bound: 'report', holds: true, values: { p99: lagP99 },
      });
      await vscode.commands.executeCommand('workbench.action.files.revert');
    } finally {
      await setSetting('enable', undefined);
    }
  });

  test('200 keystrokes at 30 ms, default settings', async () => {
    await typingRun(t, 'default debounce');
  });

  test('200 keystrokes at 30 ms, dllm.debounceMs 0 (a decode per keystroke)', async () => {
    await setSetting('debounceMs', 0);
    await typingRun(t, 'debounce 0');
  });

  // VS Code itself waits for a 50 ms pause before asking for inline completions, so steady typing at 30 ms brings few
  // requests. Pauses at line ends (and after "(" and ":") bring ghost text mid-run, and typing on after it.
  test('200 keystrokes at 30 ms with 400 ms pauses after ":", "(" and line ends', async () => {
    await typingRun(t, 'with pauses', { after: ':(\n', ms: 400 });
  });

  // The bundled model often has nothing to say at a given spot; a scripted engine that always answers puts ghost text
  // on screen after every pause, so the stale-ghost-text check has plenty to look at.
  test('200 keystrokes at 30 ms with 800 ms pauses, a scripted engine that always answers (300 ms decodes)', async () => {
    await typingRun(t, 'with 800 ms pauses, scripted engine', { after: ':(\n', ms: 800 }, true);
  });
});
