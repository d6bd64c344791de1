// Runs the bundled model in the test process (same engine, same model files as the installed VSIX) to pick code
// contexts where it answers visibly: the UI tests must not depend on what one checkpoint happens to say, only on
// deterministic properties ("the editor shows what the engine decodes for this request").
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_SETTINGS } from '../../src/config';
import { chooseCompletionShape } from '../../src/completion/completionShape';
import { MODEL_WINDOW_TOKENS, fitContext } from '../../src/completion/contextWindow';
import { fillPrompt, fillReplacement, findFillTarget } from '../../src/completion/placeholder';
import { applyPostFilters } from '../../src/completion/postFilters';
import { Engine } from '../../src/engine/engine';
import type { CompletionRequest, PolicyName } from '../../src/engine/protocol';
import { REPO_ROOT } from '../support/repoRoot';

export const MODEL_DIR = path.join(REPO_ROOT, 'models', 'dllm-code-small');

export interface CodeContext {
  name: string;
  /** File name to write into the workspace. */
  file: string;
  prefix: string;
  suffix: string;
}

export interface GhostProbe extends CodeContext {
  policy: PolicyName;
  /** Distinct non-empty texts the ghost text shows while decoding, in order (post-filtered stable prefixes). */
  growth: string[];
  /** The completion as shown at the end. */
  final: string;
}

export interface FillProbe extends CodeContext {
  policy: PolicyName;
  /** 1-based line and column of the placeholder. */
  line: number;
  column: number;
  answer: string;
  /** The whole file after the fill. */
  expected: string;
}

const EXT = { javascript: 'js', typescript: 'ts', python: 'py' } as const;

function request(id: string, policy: PolicyName, prefix: string, suffix: string, maxNewTokens: number, singleLine: boolean): CompletionRequest {
  const s = DEFAULT_SETTINGS;
  return {
    id, prefix, suffix, maxNewTokens, policy, singleLine, prefixIsFileStart: true, emitSteps: true,
    thresholds: { tau: s.threshold, clusterTau: s.clusterThreshold, temporalK: s.temporalSteps, temporalTau: s.temporalThreshold },
    options: { stopWhenAnswerFinal: true },
  };
}

/** Growth states (distinct stable prefixes) a probed context needs, and the count that ends the search early. */
const MIN_GROWTH_STATES = 3;
const PLENTY_GROWTH_STATES = 6;
/** A final ghost text shorter than this decodes too fast for the sampled screen to see it grow. */
const MIN_FINAL_CHARS = 10;

const LANGUAGE_BY_EXTENSION: Readonly<Record<string, string>> = { '.ts': 'typescript', '.js': 'javascript', '.py': 'python' };
const languageOf = (file: string): string | undefined => LANGUAGE_BY_EXTENSION[file.slice(file.lastIndexOf('.'))];

/** Hand-written contexts like a user's, then held-out TS/JS infill tasks. */
export function ghostCandidates(max = 25): CodeContext[] {
  const own: CodeContext[] = [
    { name: 'js loop', file: 'ghost-demo.js', prefix: 'function sum(items) {\n  let total = 0;\n  for (const x of items) {\n    total += ', suffix: '\n  }\n  return total;\n}\n' },
    { name: 'py while', file: 'ghost_demo.py', prefix: 'def fibonacci(n):\n    numbers = [0, 1]\n    while len(numbers) < n:\n        numbers.append(', suffix: '\n    return numbers[:n]\n' },
    { name: 'ts return', file: 'ghost-demo.ts', prefix: 'export function clamp(value: number, low: number, high: number): number {\n  return ', suffix: '\n}\n' },
  ];
  const file = path.join(REPO_ROOT, 'models', 'eval', 'tsjs-infill.jsonl');
  if (fs.existsSync(file)) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
      if (own.length >= max) break;
      const t = JSON.parse(line) as { task_id: string; prefix: string; suffix: string; language?: string };
      const ext = EXT[(t.language ?? 'javascript') as keyof typeof EXT] ?? 'js';
      own.push({ name: t.task_id, file: `ghost-demo.${ext}`, prefix: t.prefix, suffix: t.suffix });
    }
  }
  return own;
}

export class ModelProbe {
  private readonly engine = new Engine({ modelDir: MODEL_DIR, executionProvider: 'cpu' });
  private n = 0;

  /** The first context (policies in order) whose ghost text would appear and then grow at least once. */
  async findGrowingGhost(candidates: CodeContext[], policies: PolicyName[]): Promise<{ found?: GhostProbe; tried: string[] }> {
    const tried: string[] = [];
    let best: GhostProbe | undefined;
    for (const policy of policies) {
      for (const c of candidates) {
        const fitted = fitContext(c.prefix, c.suffix, { windowTokens: MODEL_WINDOW_TOKENS, canvasTokens: DEFAULT_SETTINGS.maxNewTokens });
        const shape = chooseCompletionShape(DEFAULT_SETTINGS.completionMode, fitted.prefix, fitted.suffix);
        // The editor's filter context: the probed file is exactly prefix + suffix.
        const filter = (text: string, final: boolean) => applyPostFilters(text, {
          prefix: fitted.prefix, suffix: fitted.suffix, shape, final, languageId: languageOf(c.file),
          prefixIsFileStart: fitted.prefixIsFileStart, suffixIsFileEnd: fitted.suffixIsFileEnd,
        });
        const growth: string[] = [];
        const result = await this.engine.complete(
          request(`probe-${++this.n}`, policy, fitted.prefix, fitted.suffix, DEFAULT_SETTINGS.maxNewTokens, shape === 'singleLine'),
          {
            onStep: (e) => {
              const shown = filter(e.stablePrefix, false);
              if (shown && shown !== growth[growth.length - 1] && shown.length > (growth[growth.length - 1]?.length ?? 0)) growth.push(shown);
            },
          },
        );
        const final = filter(result.completion, true);
        tried.push(`${c.name}@${policy}: ${JSON.stringify(final)} (${growth.length} steps shown)`);
        // The screen is sampled, not stepped: prefer the context whose ghost text grows through the most states.
        if (final.trim().length >= MIN_FINAL_CHARS && growth.length >= MIN_GROWTH_STATES && final.startsWith(growth[0]) &&
          growth.length > (best?.growth.length ?? 0)) {
          best = { ...c, policy, growth, final };
          if (growth.length >= PLENTY_GROWTH_STATES) return { found: best, tried };
        }
      }
      if (best) return { found: best, tried };
    }
    return { tried };
  }

  /** The first placeholder context whose fill gives a non-empty answer. */
  async findFill(candidates: CodeContext[], policies: PolicyName[]): Promise<{ found?: FillProbe; tried: string[] }> {
    const tried: string[] = [];
    for (const policy of policies) {
      for (const c of candidates) {
        const text = c.prefix + c.suffix;
        const target = findFillTarget(text, c.prefix.length);
        if (!target) throw new Error(`${c.name}: no fill target at the cursor`);
        const prompt = fillPrompt(text, target);
        const fitted = fitContext(prompt.prefix, prompt.suffix, { windowTokens: MODEL_WINDOW_TOKENS, canvasTokens: target.canvasTokens });
        const result = await this.engine.complete(request(`probe-${++this.n}`, policy, fitted.prefix, fitted.suffix, target.canvasTokens, false));
        const answer = applyPostFilters(result.completion, { prefix: fitted.prefix, suffix: fitted.suffix, shape: 'multiLine', final: true });
        tried.push(`${c.name}@${policy}: ${JSON.stringify(answer)}`);
        if (answer) {
          const before = c.prefix.split('\n');
          const expected = text.slice(0, target.start) + fillReplacement(target, answer) + text.slice(target.end);
          return { found: { ...c, policy, line: before.length, column: before[before.length - 1].length + 1, answer, expected }, tried };
        }
      }
    }
    return { tried };
  }

  dispose(): Promise<void> {
    return this.engine.dispose();
  }
}

/** Placeholder contexts: the demo workspace's own placeholders first. */
export function fillCandidates(demoWorkspace: string): CodeContext[] {
  const out: CodeContext[] = [];
  for (const file of ['stats.py', 'shapes.ts']) {
    const p = path.join(demoWorkspace, file);
    if (!fs.existsSync(p)) continue;
    const text = fs.readFileSync(p, 'utf8');
    const lines = text.split('\n');
    let offset = 0;
    for (const [i, line] of lines.entries()) {
      const t = line.trim();
      if (t === 'pass' || t === '...' || t === '// fill' || t === '# fill') {
        const at = offset + line.indexOf(t);
        out.push({ name: `${file}:${i + 1}`, file, prefix: text.slice(0, at), suffix: text.slice(at) });
      }
      offset += line.length + 1;
    }
  }
  return out;
}
