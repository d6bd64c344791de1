// The stats webview's page and message contract (pure: unit-tested without VS Code).
// Strict CSP: nothing but our own stylesheet and one nonce'd script, no inline styles, no remote content.
import { randomBytes } from 'node:crypto';
import type { StatsSnapshot } from './sessionStats';

/** Extension → webview. */
export type ToWebviewMessage = { type: 'state'; snapshot: StatsSnapshot };

/** Webview → extension; anything else is dropped. */
export type FromWebviewMessage =
  | { type: 'ready' }
  | { type: 'clear' }
  | { type: 'openSettings' }
  /** Sent after each render: what the page shows (tests read it). */
  | { type: 'rendered'; requests: number; lastId: string | null; lastSteps: number | null;
    /** Fill All: region token maps shown, and the sequential steps shown (null while not measured). */
    fillAllRegions?: number; sequentialSteps?: number | null };

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 1e9;

export function parseWebviewMessage(raw: unknown): FromWebviewMessage | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'clear':
    case 'openSettings':
      return Object.keys(m).length === 1 ? { type: m.type } : undefined;
    case 'rendered': {
      const lastId = m.lastId === null || (typeof m.lastId === 'string' && m.lastId.length <= 200) ? m.lastId : undefined;
      const lastSteps = m.lastSteps === null || isCount(m.lastSteps) ? m.lastSteps : undefined;
      if (!isCount(m.requests) || lastId === undefined || lastSteps === undefined) return undefined;
      return {
        type: 'rendered', requests: m.requests, lastId, lastSteps,
        ...(isCount(m.fillAllRegions) ? { fillAllRegions: m.fillAllRegions } : {}),
        ...(m.sequentialSteps === null || isCount(m.sequentialSteps) ? { sequentialSteps: m.sequentialSteps } : {}),
      };
    }
    default:
      return undefined;
  }
}

export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, '');
}

export interface StatsPageResources {
  nonce: string;
  /** webview.cspSource */
  cspSource: string;
  scriptUri: string;
  styleUri: string;
}

export function contentSecurityPolicy(r: Pick<StatsPageResources, 'nonce' | 'cspSource'>): string {
  return [
    "default-src 'none'",
    `style-src ${r.cspSource}`,
    `script-src 'nonce-${r.nonce}'`,
    `img-src ${r.cspSource} data:`,
    `font-src ${r.cspSource}`,
  ].join('; ');
}

const escapeAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export function buildStatsHtml(r: StatsPageResources): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(contentSecurityPolicy(r))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttr(r.styleUri)}">
<title>dLLM Decoding Stats</title>
</head>
<body>
<header>
  <h1>dLLM decoding stats</h1>
  <p id="engine" class="muted">No request yet.</p>
</header>
<main id="app">
  <p id="empty" class="muted">Nothing decoded yet in this session. Type in a file to get an inline completion,
  or run <b>dLLM: Fill Block</b> on a placeholder; the numbers appear here.</p>
</main>
<script nonce="${escapeAttr(r.nonce)}" src="${escapeAttr(r.scriptUri)}"></script>
</body>
</html>`;
}
