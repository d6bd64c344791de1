// Replay benchmark: typing replayed through held-out files. At positions where people pause (after a line's
// indentation; after a word or operator and its space, or after `.` / `(`), the file before the cursor is the
// prefix and the file after the cursor's line is the suffix: the rest of the line is what is being typed, so it is
// the answer to compare with, not context. Each position runs the editor's pipeline (src/completion/pipeline.ts).
import { type CompletionOutcome, firstLineProbabilities } from '../completion/pipeline';
import type { CompletionResult } from '../engine/protocol';

export type ReplayLanguage = 'typescript' | 'javascript' | 'python';
export type PauseKind = 'indent' | 'word';

export interface ReplayTask {
  task_id: string;
  prefix: string;
  suffix: string;
  language: ReplayLanguage;
  prefix_is_file_start: boolean;
  suffix_is_file_end: boolean;
  /** The rest of the cursor's line in the file: what the user types next. */
  truth: string;
  kind: PauseKind;
  /** package/path:line of the position. */
  source: string;
}

export interface SourceFile {
  /** package/path, for the task's `source`. */
  name: string;
  text: string;
  language: ReplayLanguage;
}

/** Characters kept on each side: more than the context window reads (src/completion/contextWindow.ts). */
export const REPLAY_PREFIX_CHARS = 2500;
export const REPLAY_SUFFIX_CHARS = 1000;

export function languageOfPath(path: string): ReplayLanguage | undefined {
  if (/\.(ts|mts|cts)$/.test(path) && !/\.d\.[mc]?ts$/.test(path)) return 'typescript';
  if (/\.(js|mjs|cjs)$/.test(path) && !/\.min\.js$/.test(path)) return 'javascript';
  if (/\.py$/.test(path)) return 'python';
  return undefined;
}

/** Deterministic PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PausePosition {
  line: number;
  column: number;
  kind: PauseKind;
}

/** Where people pause in a line: after its indentation, and after a word or operator (plus its space) or `.` / `(`. */
export function pausePositions(lineText: string, line: number): PausePosition[] {
  if (!/\S/.test(lineText)) return [];
  const out: PausePosition[] = [];
  const indent = lineText.length - lineText.trimStart().length;
  out.push({ line, column: indent, kind: 'indent' });
  for (let c = indent + 1; c < lineText.length; c++) {
    const before = lineText[c - 1];
    const afterWordOrOperator = before === ' ' && lineText[c - 2] !== ' ' && lineText[c] !== ' ';
    if ((afterWordOrOperator || before === '.' || before === '(') && /\S/.test(lineText.slice(c))) {
      out.push({ line, column: c, kind: 'word' });
    }
  }
  return out;
}

/** A file is usable when it looks hand-written: no minified or generated very long lines. */
export const looksHandWritten = (text: string): boolean => text.split('\n').every((l) => l.length <= 400) && /\S/.test(text);

/** `perLanguage` positions per language, drawn with a fixed seed: a file at random, a pause kind, a position. */
export function sampleReplayTasks(files: SourceFile[], perLanguage: number, seed: number): ReplayTask[] {
  const random = seededRandom(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const tasks: ReplayTask[] = [];
  for (const language of ['typescript', 'javascript', 'python'] as const) {
    const pool = files.filter((f) => f.language === language && looksHandWritten(f.text))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const seen = new Set<string>();
    for (let attempt = 0; tasks.filter((t) => t.language === language).length < perLanguage && attempt < perLanguage * 50; attempt++) {
      if (pool.length === 0) break;
      const file = pick(pool);
      const text = file.text.replace(/\r\n?/g, '\n');
      const lines = text.split('\n');
      const kind: PauseKind = random() < 0.5 ? 'indent' : 'word';
      const lineNo = Math.floor(random() * lines.length);
      const candidates = pausePositions(lines[lineNo], lineNo).filter((p) => p.kind === kind);
      if (candidates.length === 0) continue;
      const position = pick(candidates);
      const key = `${file.name}:${position.line}:${position.column}`;
      if (seen.has(key)) continue;
      seen.add(key);
      tasks.push(replayTask(file.name, text, lines, position, language, tasks.filter((t) => t.language === language).length));
    }
  }
  return tasks;
}

function replayTask(name: string, text: string, lines: string[], p: PausePosition, language: ReplayLanguage, n: number): ReplayTask {
  const lineStart = lines.slice(0, p.line).reduce((s, l) => s + l.length + 1, 0);
  const cursor = lineStart + p.column;
  const lineEnd = lineStart + lines[p.line].length;
  let prefix = text.slice(0, cursor);
  let prefixIsFileStart = true;
  if (prefix.length > REPLAY_PREFIX_CHARS) {
    const cut = prefix.indexOf('\n', prefix.length - REPLAY_PREFIX_CHARS);
    prefix = prefix.slice(cut >= 0 && cut < lineStart ? cut + 1 : prefix.length - REPLAY_PREFIX_CHARS);
    prefixIsFileStart = false;
  }
  let suffix = text.slice(lineEnd);
  let suffixIsFileEnd = true;
  if (suffix.length > REPLAY_SUFFIX_CHARS) {
    const cut = suffix.lastIndexOf('\n', REPLAY_SUFFIX_CHARS);
    suffix = suffix.slice(0, cut > 0 ? cut + 1 : REPLAY_SUFFIX_CHARS);
    suffixIsFileEnd = false;
  }
  return {
    task_id: `replay/${language}/${n}`, prefix, suffix, language,
    prefix_is_file_start: prefixIsFileStart, suffix_is_file_end: suffixIsFileEnd,
    truth: lines[p.line].slice(p.column), kind: p.kind, source: `${name}:${p.line + 1}`,
  };
}

// ---- scoring ----

const nonSpace = (s: string): number => s.replace(/\s/g, '').length;

export interface ReplayScore {
  /** The answer is not empty (what an explicit trigger would show). */
  answered: boolean;
  exact: boolean;
  /** Exact, or a correct start of the rest of the line with 3 or more non-space characters. */
  useful: boolean;
  /** Characters the suggestion types for the user when useful (the correct start), else 0. */
  savedChars: number;
  /** Characters the user types on this line without help (the rest of the line, trailing spaces dropped). */
  typedChars: number;
}

/** Compares a suggestion with the rest of the line. Only the suggestion's first line counts. */
export function scoreSuggestion(text: string, truth: string): ReplayScore {
  const target = truth.trimEnd();
  const first = text.split('\n')[0].trimEnd();
  let common = 0;
  while (common < first.length && common < target.length && first[common] === target[common]) common++;
  const exact = text !== '' && first === target && target !== '';
  const useful = exact || nonSpace(target.slice(0, common)) >= 3;
  return { answered: text !== '', exact, useful, savedChars: useful ? (exact ? target.length : common) : 0, typedChars: target.length };
}

export interface ReplayRecord {
  task_id: string;
  language: ReplayLanguage;
  kind: PauseKind;
  policy: string;
  text: string;
  confidence: number;
  /** The minimum committed probability over the same tokens (to compare aggregates). */
  minProbability: number;
  nfe: number;
  ms: number;
  score: ReplayScore;
  /** The engine's own answer was empty or blank (before the post-filters): the empty-answer trap. */
  engineEmpty?: boolean;
}

export function replayRecord(task: ReplayTask, policy: string, outcome: CompletionOutcome & { result?: CompletionResult }): ReplayRecord {
  const probabilities = outcome.result ? firstLineProbabilities(outcome.result, outcome.text) : [];
  return {
    task_id: task.task_id, language: task.language, kind: task.kind, policy, text: outcome.text,
    confidence: outcome.confidence, minProbability: probabilities.length ? Math.min(...probabilities) : 0,
    nfe: outcome.nfe, ms: outcome.ms, score: scoreSuggestion(outcome.text, task.truth),
    engineEmpty: outcome.result ? outcome.result.completion.trim() === '' : outcome.text === '',
  };
}

export interface ReplayMetrics {
  tasks: number;
  shownPct: number;
  exactPct: number;
  usefulPct: number;
  /** Useful among shown (undefined when nothing is shown). */
  usefulAmongShownPct: number | undefined;
  savedPer100: number;
  /** Nothing to show: the engine answered nothing, or the post-filters dropped its answer. */
  emptyPct: number;
  /** Of those, the engine answered nothing (the rest were dropped by the post-filters as not fitting the code). */
  engineEmptyPct: number;
  meanNfe: number;
  p50Ms: number;
  p95Ms: number;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

function percentile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Metrics at a gate: a suggestion is shown when it is not empty and its score under `confidenceOf` reaches the gate. */
export function replayMetrics(records: ReplayRecord[], gate: number, confidenceOf: (r: ReplayRecord) => number = (r) => r.confidence): ReplayMetrics {
  const n = records.length;
  const shown = records.filter((r) => r.score.answered && confidenceOf(r) >= gate);
  const pct = (k: number, of = n) => (of > 0 ? round1((100 * k) / of) : 0);
  const usefulShown = shown.filter((r) => r.score.useful).length;
  const typed = records.reduce((s, r) => s + r.score.typedChars, 0);
  const saved = shown.reduce((s, r) => s + r.score.savedChars, 0);
  // The truth is never empty in the replay set (every position has something left on its line).
  const truthNotEmpty = records.filter((r) => r.score.typedChars > 0);
  return {
    tasks: n,
    shownPct: pct(shown.length),
    exactPct: pct(shown.filter((r) => r.score.exact).length),
    usefulPct: pct(usefulShown),
    usefulAmongShownPct: shown.length ? pct(usefulShown, shown.length) : undefined,
    savedPer100: typed > 0 ? round1((100 * saved) / typed) : 0,
    emptyPct: pct(truthNotEmpty.filter((r) => !r.score.answered).length, truthNotEmpty.length),
    engineEmptyPct: pct(truthNotEmpty.filter((r) => !r.score.answered && (r.engineEmpty ?? true)).length, truthNotEmpty.length),
    meanNfe: n ? round1(records.reduce((s, r) => s + r.nfe, 0) / n) : 0,
    p50Ms: Math.round(percentile(records.map((r) => r.ms), 0.5)),
    p95Ms: Math.round(percentile(records.map((r) => r.ms), 0.95)),
  };
}

export const GATE_THRESHOLDS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

export interface ReplayReport {
  command: string;
  date: string;
  model: string;
  tasksFile: string;
  gate: number;
  policies: string[];
  /** The provider that ran the decodes, and why it is not the one asked for (null when it is; absent in older reports). */
  executionProvider?: string;
  fallbackReason?: string | null;
  /** Per policy, per language (and 'all'): metrics ungated (gate 0) and at the gate. */
  table: { policy: string; language: string; ungated: ReplayMetrics; gated: ReplayMetrics }[];
  /** Per policy, all languages: shown rate and useful among shown at each threshold, for both aggregates. */
  curves: { policy: string; aggregate: 'geometric-mean' | 'min'; points: { gate: number; shownPct: number; usefulAmongShownPct: number | undefined }[] }[];
  records: ReplayRecord[];
}

export function replayReport(records: ReplayRecord[], meta: Omit<ReplayReport, 'table' | 'curves' | 'records'>): ReplayReport {
  const table: ReplayReport['table'] = [];
  const curves: ReplayReport['curves'] = [];
  for (const policy of meta.policies) {
    const mine = records.filter((r) => r.policy === policy);
    for (const language of ['typescript', 'javascript', 'python', 'all']) {
      const subset = language === 'all' ? mine : mine.filter((r) => r.language === language);
      if (subset.length === 0) continue;
      table.push({ policy, language, ungated: replayMetrics(subset, 0), gated: replayMetrics(subset, meta.gate) });
    }
    for (const aggregate of ['geometric-mean', 'min'] as const) {
      const confidenceOf = aggregate === 'min' ? (r: ReplayRecord) => r.minProbability : (r: ReplayRecord) => r.confidence;
      curves.push({
        policy, aggregate, points: GATE_THRESHOLDS.map((gate) => {
          const m = replayMetrics(mine, gate, confidenceOf);
          return { gate, shownPct: m.shownPct, usefulAmongShownPct: m.usefulAmongShownPct };
        }),
      });
    }
  }
  return { ...meta, table, curves, records };
}

const cell = (x: number | undefined, suffix = ''): string => (x === undefined ? '—' : `${x}${suffix}`);

export function replayMarkdown(report: ReplayReport): string {
  const lines: string[] = [];
  lines.push(`Measured ${report.date} with \`${report.command}\` on ${report.model}, ` +
    `${report.records.length / Math.max(1, report.policies.length)} positions from \`${report.tasksFile}\`. ` +
    `Gate: dllm.minConfidence ${report.gate}. "Ungated" columns are the same answers with the gate off. Empty answers: ` +
    'nothing to show with the gate off, because the engine answered nothing (in brackets) or the post-filters dropped ' +
    'an answer that did not fit the code around it.');
  lines.push('');
  lines.push('| policy | language | shown | exact | useful | useful among shown (ungated → gated) | chars saved / 100 typed (ungated → gated) | empty answers (engine empty) | NFE | p50 ms | p95 ms |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of report.table) {
    const g = row.gated;
    const u = row.ungated;
    lines.push(`| ${row.policy} | ${row.language} | ${g.shownPct}% | ${g.exactPct}% | ${g.usefulPct}% | ` +
      `${cell(u.usefulAmongShownPct, '%')} → ${cell(g.usefulAmongShownPct, '%')} | ${u.savedPer100} → ${g.savedPer100} | ` +
      `${g.emptyPct}% (${g.engineEmptyPct}%) | ${g.meanNfe} | ${g.p50Ms} | ${g.p95Ms} |`);
  }
  lines.push('');
  lines.push('Gate curve (all languages): shown rate / useful among shown at each dllm.minConfidence.');
  lines.push('');
  lines.push(`| policy | aggregate | ${GATE_THRESHOLDS.map((t) => `≥ ${t}`).join(' | ')} |`);
  lines.push(`| --- | --- | ${GATE_THRESHOLDS.map(() => '---:').join(' | ')} |`);
  for (const curve of report.curves) {
    lines.push(`| ${curve.policy} | ${curve.aggregate} | ${curve.points.map((p) => `${p.shownPct}% / ${cell(p.usefulAmongShownPct, '%')}`).join(' | ')} |`);
  }
  return lines.join('\n');
}

/** A small SVG of the gate curves (shown rate on x, useful among shown on y), one line per policy. */
export function gateCurveSvg(report: ReplayReport, aggregate: 'geometric-mean' | 'min' = 'geometric-mean'): string {
  const W = 560;
  const H = 360;
  const L = 60;
  const B = 50;
  const T = 20;
  const R = 150;
  const x = (pct: number) => L + ((W - L - R) * pct) / 100;
  const y = (pct: number) => H - B - ((H - B - T) * pct) / 100;
  const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  for (let v = 0; v <= 100; v += 20) {
    parts.push(`<line x1="${x(0)}" y1="${y(v)}" x2="${x(100)}" y2="${y(v)}" stroke="#ddd"/><text x="${L - 8}" y="${y(v) + 4}" text-anchor="end">${v}%</text>`);
    parts.push(`<line x1="${x(v)}" y1="${y(0)}" x2="${x(v)}" y2="${y(100)}" stroke="#eee"/><text x="${x(v)}" y="${H - B + 16}" text-anchor="middle">${v}%</text>`);
  }
  parts.push(`<text x="${(x(0) + x(100)) / 2}" y="${H - 10}" text-anchor="middle">shown rate</text>`);
  parts.push(`<text transform="translate(16 ${(y(0) + y(100)) / 2}) rotate(-90)" text-anchor="middle">useful among shown</text>`);
  report.curves.filter((c) => c.aggregate === aggregate).forEach((curve, i) => {
    const color = colors[i % colors.length];
    const pts = curve.points.filter((p) => p.usefulAmongShownPct !== undefined);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${x(p.shownPct).toFixed(1)},${y(p.usefulAmongShownPct!).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) {
      const at = p.gate === report.gate;
      parts.push(`<circle cx="${x(p.shownPct).toFixed(1)}" cy="${y(p.usefulAmongShownPct!).toFixed(1)}" r="${at ? 5 : 2.5}" fill="${at ? 'white' : color}" stroke="${color}" stroke-width="2"><title>${curve.policy} ≥ ${p.gate}: shown ${p.shownPct}%, useful among shown ${p.usefulAmongShownPct}%</title></circle>`);
    }
    parts.push(`<text x="${W - R + 12}" y="${T + 16 + i * 18}" fill="${color}">${curve.policy}</text>`);
  });
  parts.push(`<text x="${W - R + 12}" y="${T + 16 + 6 * 18}" fill="#555">○ = gate ${report.gate}</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
