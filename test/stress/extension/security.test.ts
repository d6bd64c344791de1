// Security: the stats webview's CSP (nonce, no remote content) and its message validation; dllm.modelPath only from
// user or machine settings; no network access from the extension or its engine worker while it starts the engine,
// completes, fills and shows the stats panel.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import dns from 'node:dns';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import * as vscode from 'vscode';
import { resolveModelDir } from '../../../src/editor/engineSession';
import { assertFigure } from '../support/figures';
import { inetSocketsOf } from '../support/proc';
import { type Testing, closeAllEditors, completionAt, extension, openAt, scriptEngine, sleep, waitFor } from './helpers';

interface StatsPanelInternals { panel?: vscode.WebviewPanel; onMessage(raw: unknown): void }

suite('stress: security', function () {
  this.timeout(180_000);
  let t: Testing;
  let extensionPath: string;
  let manifest: any;

  suiteSetup(async () => {
    const e = await extension();
    ({ t, extensionPath } = e);
    manifest = e.ext.packageJSON;
  });
  teardown(closeAllEditors);

  test('the stats webview: strict CSP with a fresh nonce, only the extension\'s own media, no remote content', async () => {
    const panelOf = () => (t.stats as unknown as StatsPanelInternals).panel;
    const htmls: string[] = [];
    for (let i = 0; i < 2; i++) {
      t.stats.show();
      const panel = await waitFor(() => panelOf(), 'the stats panel');
      htmls.push(panel.webview.html);
      if (i === 0) assert.equal(panel.webview.options.enableCommandUris ?? false, false, 'no command URIs');
      panel.dispose();
      await waitFor(() => !panelOf(), 'the panel to close');
    }
    const nonces: string[] = [];
    for (const html of htmls) {
      const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1]?.replace(/&quot;/g, '"').replace(/&amp;/g, '&');
      assert.ok(csp, 'a CSP meta tag');
      const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
      assert.deepEqual(directives.get('default-src'), ["'none'"]);
      const script = directives.get('script-src') ?? [];
      assert.equal(script.length, 1, `script-src is one nonce: ${script}`);
      const nonce = /^'nonce-([A-Za-z0-9+/=]{16,})'$/.exec(script[0])?.[1];
      assert.ok(nonce, `script-src nonce: ${script}`);
      nonces.push(nonce);
      assert.ok(!/unsafe-inline|unsafe-eval|\*(?!\.)/.test(csp.replace(/https:\/\/\*\.[\w.-]+/g, '')), `no unsafe sources or wildcards: ${csp}`);
      assert.ok(!/connect-src|frame-src|child-src/.test(csp), 'no connections or frames allowed');
      const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]);
      assert.ok(scripts.length >= 1 && scripts.every((a) => a.includes(`nonce="${nonce}"`)), 'every script carries the nonce');
      assert.ok(!/<script\b[^>]*>[^<\s]/.test(html), 'no inline script bodies');
      const urls = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1].replace(/&amp;/g, '&'));
      for (const u of urls) assert.ok(u.includes('/media/'), `only the extension's media folder: ${u}`);
    }
    assert.notEqual(nonces[0], nonces[1], 'a new nonce each time the panel opens');
    const media = ['stats.js', 'stats.css'].map((f) => fs.readFileSync(path.join(extensionPath, 'media', f), 'utf8')).join('\n');
    const remote = [...media.matchAll(/https?:\/\/[^\s'"`)]+/g)].map((m) => m[0]).filter((u) => u !== 'http://www.w3.org/2000/svg');
    assert.deepEqual(remote, [], 'no remote URLs in the webview code');
    for (const api of ['fetch(', 'XMLHttpRequest', 'WebSocket', 'EventSource', 'eval(', 'new Function', 'innerHTML', 'import(']) {
      assert.ok(!media.includes(api), `the webview code does not use ${api}`);
    }
    assertFigure({ area: 'Security', check: 'stats webview Content-Security-Policy', figure: `default-src 'none'; script-src one nonce (${nonces[0].length} chars, new per open); only media/ URLs; no fetch/eval/innerHTML/remote URLs in media/`,
      bound: 'strict CSP + nonce, no remote content', holds: true });
  });

  test('messages from the webview are validated: anything but the four known shapes is dropped', async () => {
    t.stats.show();
    const panel = await waitFor(() => (t.stats as unknown as StatsPanelInternals).panel, 'the stats panel');
    const internals = t.stats as unknown as StatsPanelInternals;
    // A finished request so that a wrongly accepted "clear" would be visible.
    const script = scriptEngine(t, () => 'x + 1');
    try {
      const { doc, position } = await openAt(`# stats ${Date.now()}\ndef f(x):\n    return <|>\n`);
      await completionAt(t, doc, position);
    } finally {
      script.dispose();
    }
    const before = t.engine.stats.history.length;
    assert.ok(before > 0);
    const commands: string[] = [];
    const original = vscode.commands.executeCommand;
    (vscode.commands as any).executeCommand = (id: string, ...rest: unknown[]) => { commands.push(id); return original.call(vscode.commands, id, ...rest); };
    const hostile: unknown[] = [
      null, undefined, 42, 'clear', ['clear'], {}, { type: 'Clear' }, { type: 'clear', extra: 1 }, { type: 'openSettings', query: 'evil' },
      { type: 'runCommand', command: 'workbench.action.terminal.new' }, { type: 'rendered', requests: -1, lastId: null, lastSteps: null },
      { type: 'rendered', requests: 1, lastId: 'x'.repeat(10_000), lastSteps: 1 }, { type: 'rendered', requests: 1, lastId: { toString: 'x' }, lastSteps: 1 },
      JSON.parse('{"type":"clear","__proto__":{"polluted":true}}'), { type: 'ready', then: 'x' },
    ];
    try {
      for (const m of hostile) internals.onMessage(m);
      await sleep(100);
    } finally {
      (vscode.commands as any).executeCommand = original;
    }
    assert.equal(t.engine.stats.history.length, before, 'no hostile message cleared the stats');
    assert.ok(!commands.includes('workbench.action.openSettings') && !commands.includes('workbench.action.terminal.new'), `no command ran: ${commands}`);
    assert.equal(({} as any).polluted, undefined, 'no prototype pollution');
    // The known shapes still work.
    internals.onMessage({ type: 'clear' });
    assert.equal(t.engine.stats.history.length, 0);
    panel.dispose();
    assertFigure({ area: 'Security', check: 'messages from the webview', figure: `${hostile.length} malformed / unknown / extra-field messages ignored (no clear, no command); valid "clear" still works`,
      bound: 'only whitelisted shapes act', holds: true });
  });

  test('dllm.modelPath: only user or machine settings; a workspace value is ignored and cannot be written', async () => {
    const prop = manifest.contributes.configuration.properties['dllm.modelPath'];
    assert.equal(prop.scope, 'machine');
    assert.ok(manifest.capabilities?.untrustedWorkspaces?.restrictedConfigurations?.includes('dllm.modelPath'), 'restricted in untrusted workspaces');
    // The stress workspace's .vscode/settings.json sets dllm.modelPath; VS Code must not apply it.
    const ws = fs.readFileSync(path.join(process.env.DLLM_STRESS_WORKSPACE ?? '', '.vscode', 'settings.json'), 'utf8');
    assert.match(ws, /dllm\.modelPath/);
    const config = vscode.workspace.getConfiguration('dllm');
    assert.equal(config.get('modelPath'), '', 'the workspace value is not applied');
    assert.equal(config.inspect('modelPath')?.workspaceValue, undefined);
    assert.equal(resolveModelDir(t.settings(), extensionPath), path.join(extensionPath, 'models', 'dllm-code-small'));
    const refused: string[] = [];
    for (const target of [vscode.ConfigurationTarget.Workspace, vscode.ConfigurationTarget.WorkspaceFolder]) {
      const scoped = target === vscode.ConfigurationTarget.WorkspaceFolder
        ? vscode.workspace.getConfiguration('dllm', vscode.workspace.workspaceFolders?.[0]?.uri) : config;
      await assert.rejects(Promise.resolve(scoped.update('modelPath', '/tmp/evil', target)), (e: Error) => { refused.push(e.message.slice(0, 80)); return true; });
    }
    assert.equal(vscode.workspace.getConfiguration('dllm').get('modelPath'), '');
    assertFigure({ area: 'Security', check: 'dllm.modelPath scope', figure: `scope "machine"; the workspace's own value ignored (bundled model used); writing it to Workspace / WorkspaceFolder refused ("${refused[0]}…")`,
      bound: 'user/machine only', holds: true });
  });

  test('no network: no connection, DNS lookup or fetch from the extension or its worker (engine start, completion, fill, stats)', async () => {
    interface Attempt { kind: string; target: string; ours: boolean }
    const attempts: Attempt[] = [];
    const ours = (stack: string) => stack.includes(path.join(extensionPath, 'dist')) || /onnxruntime-node|@huggingface[\\/]tokenizers/.test(stack);
    const note = (kind: string, target: unknown) => {
      const stack = new Error().stack ?? '';
      attempts.push({ kind, target: String(target), ours: ours(stack) });
    };
    const restore: Array<() => void> = [];
    const wrap = <T extends object>(obj: T, name: keyof T & string, kind: string, targetOf: (args: any[]) => unknown) => {
      const original = (obj as any)[name];
      (obj as any)[name] = function (this: unknown, ...args: any[]) { note(kind, targetOf(args)); return original.apply(this, args); };
      restore.push(() => { (obj as any)[name] = original; });
    };
    const hostOf = (args: any[]) => {
      const a = Array.isArray(args[0]) ? args[0] : args; // net.connect passes its normalized [options, callback]
      return typeof a[0] === 'object' && a[0] ? `${a[0].host ?? a[0].path ?? 'localhost'}:${a[0].port ?? ''}` : `${a[1] ?? 'localhost'}:${a[0]}`;
    };
    wrap(net.Socket.prototype, 'connect', 'tcp', hostOf);
    wrap(tls, 'connect', 'tls', hostOf);
    wrap(http, 'request', 'http', (a) => a[0]?.toString?.() ?? a[0]?.host);
    wrap(https, 'request', 'https', (a) => a[0]?.toString?.() ?? a[0]?.host);
    wrap(dns, 'lookup', 'dns', (a) => a[0]);
    wrap(dgram, 'createSocket', 'udp', (a) => JSON.stringify(a[0]));
    if (typeof globalThis.fetch === 'function') wrap(globalThis as any, 'fetch', 'fetch', (a) => a[0]);
    const sockets = new Set<string>();
    let pid: number | undefined;
    let samples = 0;
    await t.engine.restart(); // a fresh worker: spawn and model load happen inside the window
    const client = t.engine.engineClient as unknown as { workerPid?: number };
    // The worker's sockets are sampled every 20 ms from the moment it exists (its spawn, before the model loads).
    const sample = setInterval(() => {
      pid ??= client.workerPid;
      if (!pid) return;
      samples++;
      for (const s of inetSocketsOf(pid)) sockets.add(s);
    }, 20);
    try {
      const { doc, position } = await openAt(`# network ${Date.now()}\ndef area(r):\n    pass\n\nprint(<|>area(2))\n`);
      await completionAt(t, doc, position);
      assert.ok(pid, 'a worker process');
      assert.ok(samples > 0, 'the worker was sampled during the first completion (model load included)');
      await t.fill.run({ uri: doc.uri.toString(), line: 2 });
      t.stats.show();
      await waitFor(() => t.stats.lastRendered, 'the stats panel to render', 20_000);
      await sleep(500);
      // Self-test of the hooks: a loopback connection from this test is seen, and not counted as the extension's.
      net.connect(1, '127.0.0.1').on('error', () => undefined);
      assert.ok(attempts.some((a) => a.kind === 'tcp' && a.target.includes('127.0.0.1') && !a.ours), 'the hooks see connections');
      for (const s of inetSocketsOf(pid)) sockets.add(s);
    } finally {
      clearInterval(sample);
      for (const r of restore.reverse()) r();
      (t.stats as unknown as StatsPanelInternals).panel?.dispose();
    }
    const mine = attempts.filter((a) => a.ours);
    for (const a of mine) console.log(`  network attempt by the extension: ${a.kind} ${a.target}`);
    assertFigure({ area: 'Security', check: 'network attempts in the extension host during engine start + completion + fill + stats panel (JS hooks, attributed by stack) and sockets of the worker (/proc)',
      figure: `${mine.length} by the extension (${attempts.length - 1} by anything else in the host; hook self-test seen); worker sockets: ${sockets.size} (${samples} samples from spawn)`,
      bound: '0 and 0', holds: mine.length === 0 && sockets.size === 0, values: { ours: mine.length, all: attempts.length, workerSockets: sockets.size } });
  });
});
