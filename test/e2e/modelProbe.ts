// Runs the bundled model in the test process (same engine, same model files as the installed VSIX) on the e2e tests'
// FIXED contexts, so that the UI tests can check "the editor shows what the engine decodes for this request" without
// hard-coding model text. It never searches for a context the model answers: when the model answers nothing at a
// fixed context, the tests that need an answer report a known failure.
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_SETTINGS } from '../../src/config';
import { chooseCompletionShape } from '../../src/completion/completionShape';
import { MODEL_WINDOW_TOKENS, fitContext } from '../../src/completion/contextWindow';
import { fillPrompt, fillReplacement, findFillTarget } from '../../src/completion/placeholder';
import { endOptions } from '../../src/completion/pipeline';
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
  /** Milliseconds from the first growth state to the last one here (how long the growth lasts on screen at most). */
  growthSpanMs: number;
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
    options: { stopWhenAnswerFinal: true, ...endOptions() }, // as the editor asks (inline and Fill Block)
  };
}

const LANGUAGE_BY_EXTENSION: Readonly<Record<string, string>> = { '.ts': 'typescript', '.js': 'javascript', '.py': 'python' };
const languageOf = (file: string): string | undefined => LANGUAGE_BY_EXTENSION[file.slice(file.lastIndexOf('.'))];

/** What a user types in the demo workspace: a new fib.py, then `if n` on the first line of the body. */
export const FIB_IF_N: CodeContext = {
  name: 'fib.py after `if n`', file: 'fib.py',
  prefix: 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n    if n', suffix: '\n',
};

export class ModelProbe {
  private readonly engine = new Engine({ modelDir: MODEL_DIR, executionProvider: 'cpu' });
  private n = 0;

  /** The ghost text the editor would show at `c` under `policy`: its growth (stable prefixes) and final text. */
  async ghostAt(c: CodeContext, policy: PolicyName): Promise<GhostProbe> {
    const fitted = fitContext(c.prefix, c.suffix, { windowTokens: MODEL_WINDOW_TOKENS, canvasTokens: DEFAULT_SETTINGS.maxNewTokens });
    const shape = chooseCompletionShape(DEFAULT_SETTINGS.completionMode, fitted.prefix, fitted.suffix);
    // The editor's filter context: the file is exactly prefix + suffix.
    const filter = (text: string, final: boolean) => applyPostFilters(text, {
      prefix: fitted.prefix, suffix: fitted.suffix, shape, final, languageId: languageOf(c.file),
      prefixIsFileStart: fitted.prefixIsFileStart, suffixIsFileEnd: fitted.suffixIsFileEnd,
    });
    const growth: string[] = [];
    const grownAt: number[] = [];
    const result = await this.engine.complete(
      request(`probe-${++this.n}`, policy, fitted.prefix, fitted.suffix, DEFAULT_SETTINGS.maxNewTokens, shape === 'singleLine'),
      {
        onStep: (e) => {
          const shown = filter(e.stablePrefix, false);
          if (shown && shown !== growth[growth.length - 1] && shown.length > (growth[growth.length - 1]?.length ?? 0)) {
            growth.push(shown);
            grownAt.push(performance.now());
          }
        },
      },
    );
    const growthSpanMs = grownAt.length ? grownAt[grownAt.length - 1] - grownAt[0] : 0;
    return { ...c, policy, growth, growthSpanMs, final: filter(result.completion, true) };
  }

  /** What Fill Block would write at the placeholder `c` (prefix ends right before it) under `policy`. */
  async fillAt(c: CodeContext, policy: PolicyName): Promise<FillProbe> {
    const text = c.prefix + c.suffix;
    const target = findFillTarget(text, c.prefix.length);
    if (!target) throw new Error(`${c.name}: no fill target at the cursor`);
    const prompt = fillPrompt(text, target);
    const fitted = fitContext(prompt.prefix, prompt.suffix, { windowTokens: MODEL_WINDOW_TOKENS, canvasTokens: target.canvasTokens });
    const result = await this.engine.complete(request(`probe-${++this.n}`, policy, fitted.prefix, fitted.suffix, target.canvasTokens, false));
    const answer = applyPostFilters(result.completion, { prefix: fitted.prefix, suffix: fitted.suffix, shape: 'multiLine', final: true });
    const before = c.prefix.split('\n');
    const expected = answer ? text.slice(0, target.start) + fillReplacement(target, answer) + text.slice(target.end) : text;
    return { ...c, policy, line: before.length, column: before[before.length - 1].length + 1, answer, expected };
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
