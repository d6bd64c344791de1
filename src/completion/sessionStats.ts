// Decoding statistics of the last request and of the whole session, in the shape the stats panel draws.
import type { CommitRule, CompletionResult, EngineStatus } from '../engine/protocol';

export type RequestKind = 'inline' | 'fill';

export interface TokenCell {
  text: string;
  step: number;
  rule: CommitRule;
  confidence: number;
}

export interface RequestSummary {
  id: string;
  kind: RequestKind;
  /** Epoch ms when the result arrived. */
  at: number;
  languageId: string;
  /** File name (no folders) of the document. */
  file: string;
  completion: string;
  cancelled: boolean;
  stopReason: CompletionResult['stopReason'];
  tokens: number;
  /** Model calls (denoising steps) used. */
  steps: number;
  lladaSteps: number;
  fastDllmSteps?: number;
  savedVsLladaPct: number;
  savedVsFastDllmPct?: number;
  tokensPerStep: number;
  ms: number;
  timeToFirstCommitMs: number;
  policy: string;
  cache: string;
  executionProvider: string;
  canvasLength: number;
  commitsPerStep: number[];
  tokenMap: TokenCell[];
  /** Inline completions: the answer's confidence (src/completion/pipeline.ts), once judged. */
  confidence?: number;
  /** Inline completions: why the confidence gate held the answer back (absent when shown). */
  heldBackReason?: string;
  /** Fill All: the joint decode per region, and what filling them one after another costs (measured later). */
  fillAll?: FillAllSummary;
}

export interface FillAllSummary {
  regions: { text: string; steps: number; doneAtStep: number; tokenMap: TokenCell[] }[];
  /** Decodes run (groups of regions that fit the window together). */
  groups: number;
  fullPasses: number;
  sequentialSteps?: number;
  sequentialMs?: number;
}

export interface SessionTotals {
  requests: number;
  cancelled: number;
  inline: number;
  fill: number;
  tokens: number;
  steps: number;
  lladaSteps: number;
  /** Steps saved over all finished requests against llada: 1 − Σsteps / Σllada. */
  savedVsLladaPct: number;
  /** The same against fast-dllm, over the requests where it was measured (undefined if none). */
  savedVsFastDllmPct?: number;
  fastDllmMeasured: number;
  tokensPerStep: number;
  meanMs: number;
  /** Commits per rule over all finished requests. */
  ruleCounts: Partial<Record<CommitRule, number>>;
}

export interface StatsSnapshot {
  last: RequestSummary | undefined;
  session: SessionTotals;
  history: RequestSummary[];
  engine: EngineStatus | undefined;
  /** Whether the fast-dllm baseline is being measured for new requests. */
  measuringBaselines: boolean;
}

const pct = (used: number, baseline: number): number => (baseline > 0 ? Math.round((1 - used / baseline) * 1000) / 10 : 0);

export function summarize(result: CompletionResult, kind: RequestKind, languageId: string, file: string, at = Date.now()): RequestSummary {
  const m = result.metrics;
  return {
    id: result.requestId,
    kind,
    at,
    languageId,
    file,
    completion: result.completion,
    cancelled: result.cancelled,
    stopReason: result.stopReason,
    tokens: m.tokens,
    steps: m.nfe,
    lladaSteps: m.lladaNfe,
    fastDllmSteps: m.fastDllmNfe,
    savedVsLladaPct: m.stepsSavedVsLladaPct,
    savedVsFastDllmPct: m.stepsSavedVsFastDllmPct,
    tokensPerStep: m.tokensPerStep,
    ms: m.ms,
    timeToFirstCommitMs: m.timeToFirstCommitMs,
    policy: m.policy,
    cache: m.cache,
    executionProvider: m.executionProvider,
    canvasLength: m.canvasLength,
    commitsPerStep: [...result.commitsPerStep],
    // In canvas order, so the map reads as the text; end padding has text ''.
    tokenMap: cells(result.fill ? result.fill.holes.flatMap((h) => h.trace) : result.trace),
    ...(result.fill ? {
      completion: result.fill.holes.map((h) => h.text).join('\n…\n'),
      fillAll: {
        regions: result.fill.holes.map((h) => ({ text: h.text, steps: h.steps, doneAtStep: h.doneAtStep, tokenMap: cells(h.trace) })),
        groups: result.fill.groups, fullPasses: result.fill.fullPasses,
      },
    } : {}),
  };
}

const cells = (trace: CompletionResult['trace']): TokenCell[] => [...trace].sort((a, b) => a.index - b.index)
  .map((t) => ({ text: t.text, step: t.step, rule: t.rule, confidence: t.confidence }));

export class SessionStats {
  private readonly recent: RequestSummary[] = [];
  private totals = emptyTotals();
  private fastDllmSteps = 0;
  private fastDllmBaseline = 0;
  private msSum = 0;
  private listeners = new Set<() => void>();

  constructor(private readonly historyLength = 25) {}

  add(summary: RequestSummary): void {
    this.recent.unshift(summary);
    if (this.recent.length > this.historyLength) this.recent.pop();
    const t = this.totals;
    t.requests++;
    if (summary.cancelled) {
      t.cancelled++;
    } else {
      t[summary.kind]++;
      t.tokens += summary.tokens;
      t.steps += summary.steps;
      t.lladaSteps += summary.lladaSteps;
      this.msSum += summary.ms;
      if (summary.fastDllmSteps !== undefined) {
        t.fastDllmMeasured++;
        this.fastDllmSteps += summary.steps;
        this.fastDllmBaseline += summary.fastDllmSteps;
      }
      for (const cell of summary.tokenMap) t.ruleCounts[cell.rule] = (t.ruleCounts[cell.rule] ?? 0) + 1;
      const finished = t.requests - t.cancelled;
      t.savedVsLladaPct = pct(t.steps, t.lladaSteps);
      t.savedVsFastDllmPct = t.fastDllmMeasured > 0 ? pct(this.fastDllmSteps, this.fastDllmBaseline) : undefined;
      t.tokensPerStep = t.steps > 0 ? Math.round((t.tokens / t.steps) * 100) / 100 : 0;
      t.meanMs = Math.round(this.msSum / finished);
    }
    for (const l of [...this.listeners]) l();
  }

  /** Fills in baselines measured after the fact (llada and fast-dllm runs of the same canvas). */
  updateBaselines(id: string, lladaSteps: number, fastDllmSteps: number | undefined): void {
    const summary = this.recent.find((r) => r.id === id);
    if (!summary || summary.cancelled) return;
    const t = this.totals;
    t.lladaSteps += lladaSteps - summary.lladaSteps;
    summary.lladaSteps = lladaSteps;
    summary.savedVsLladaPct = pct(summary.steps, lladaSteps);
    if (fastDllmSteps !== undefined) {
      if (summary.fastDllmSteps === undefined) {
        t.fastDllmMeasured++;
        this.fastDllmSteps += summary.steps;
      } else {
        this.fastDllmBaseline -= summary.fastDllmSteps;
      }
      this.fastDllmBaseline += fastDllmSteps;
      summary.fastDllmSteps = fastDllmSteps;
      summary.savedVsFastDllmPct = pct(summary.steps, fastDllmSteps);
    }
    t.savedVsLladaPct = pct(t.steps, t.lladaSteps);
    t.savedVsFastDllmPct = t.fastDllmMeasured > 0 ? pct(this.fastDllmSteps, this.fastDllmBaseline) : undefined;
    for (const l of [...this.listeners]) l();
  }

  /** Records the confidence gate's verdict on an inline answer. */
  noteGate(id: string, confidence: number, heldBackReason: string | undefined): void {
    const summary = this.recent.find((r) => r.id === id);
    if (!summary) return;
    summary.confidence = confidence;
    if (heldBackReason) summary.heldBackReason = heldBackReason;
    else delete summary.heldBackReason;
    for (const l of [...this.listeners]) l();
  }

  /** Fill All: what filling the same regions one after another cost (measured in the background). */
  updateSequential(id: string, steps: number, ms: number): void {
    const summary = this.recent.find((r) => r.id === id);
    if (!summary?.fillAll || summary.cancelled) return;
    summary.fillAll.sequentialSteps = steps;
    summary.fillAll.sequentialMs = ms;
    for (const l of [...this.listeners]) l();
  }

  /** The most recent finished (not cancelled) request. */
  get last(): RequestSummary | undefined {
    return this.recent.find((r) => !r.cancelled);
  }

  get history(): RequestSummary[] {
    return [...this.recent];
  }

  get session(): SessionTotals {
    return { ...this.totals, ruleCounts: { ...this.totals.ruleCounts } };
  }

  clear(): void {
    this.recent.length = 0;
    this.totals = emptyTotals();
    this.fastDllmSteps = 0;
    this.fastDllmBaseline = 0;
    this.msSum = 0;
    for (const l of [...this.listeners]) l();
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }
}

function emptyTotals(): SessionTotals {
  return {
    requests: 0, cancelled: 0, inline: 0, fill: 0, tokens: 0, steps: 0, lladaSteps: 0, savedVsLladaPct: 0,
    savedVsFastDllmPct: undefined, fastDllmMeasured: 0, tokensPerStep: 0, meanMs: 0, ruleCounts: {},
  };
}
