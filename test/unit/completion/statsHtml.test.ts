import assert from 'node:assert/strict';
import { test } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { buildStatsHtml, contentSecurityPolicy, makeNonce, parseWebviewMessage } from '../../../src/completion/statsHtml';
import { REPO_ROOT } from '../../support/repoRoot';

const resources = { nonce: 'abc123', cspSource: 'https://file+.vscode-resource.vscode-cdn.net', scriptUri: 'https://x/stats.js', styleUri: 'https://x/stats.css' };

test('CSP: nothing by default, scripts only with the nonce, styles and images only from the extension', () => {
  const csp = contentSecurityPolicy(resources);
  assert.match(csp, /^default-src 'none'/);
  assert.match(csp, /script-src 'nonce-abc123'(;|$)/);
  assert.match(csp, new RegExp(`style-src ${resources.cspSource.replace(/[.+]/g, '\\$&')}(;|$)`));
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:\/\/(?!file\+)/);
});

test('the page: CSP meta first, one nonce\'d script, our stylesheet, no inline styles or handlers, nothing remote', () => {
  const html = buildStatsHtml(resources);
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
  assert.equal((html.match(/<script/g) ?? []).length, 1);
  assert.match(html, /<script nonce="abc123" src="https:\/\/x\/stats.js"><\/script>/);
  assert.match(html, /<link rel="stylesheet" href="https:\/\/x\/stats.css">/);
  assert.doesNotMatch(html, /style=|<style|onclick=|onload=/);
});

test('nonces are long and differ', () => {
  const a = makeNonce();
  assert.ok(a.length >= 20 && /^[A-Za-z0-9]+$/.test(a));
  assert.notEqual(a, makeNonce());
});

test('webview messages: only the whitelisted shapes get through', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
  assert.deepEqual(parseWebviewMessage({ type: 'clear' }), { type: 'clear' });
  assert.deepEqual(parseWebviewMessage({ type: 'rendered', requests: 3, lastId: 'inline-1', lastSteps: 7 }),
    { type: 'rendered', requests: 3, lastId: 'inline-1', lastSteps: 7 });
  assert.deepEqual(parseWebviewMessage({ type: 'rendered', requests: 0, lastId: null, lastSteps: null }),
    { type: 'rendered', requests: 0, lastId: null, lastSteps: null });
  for (const bad of [null, 'ready', [], { type: 'runCommand', command: 'x' }, { type: 'ready', extra: 1 },
    { type: 'rendered', requests: -1, lastId: null, lastSteps: null }, { type: 'rendered', requests: 1, lastId: 5, lastSteps: 1 },
    { type: 'rendered', requests: 1.5, lastId: null, lastSteps: null }, { type: '__proto__' }]) {
    assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
  }
});

test('media/stats.js builds DOM from text only and loads nothing remote', () => {
  const js = fs.readFileSync(path.join(REPO_ROOT, 'media', 'stats.js'), 'utf8');
  assert.doesNotMatch(js, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  assert.doesNotMatch(js, /fetch\(|XMLHttpRequest|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  const css = fs.readFileSync(path.join(REPO_ROOT, 'media', 'stats.css'), 'utf8');
  assert.doesNotMatch(css, /@import|url\(/);
});
