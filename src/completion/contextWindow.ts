// Fits the text around the cursor to the model window. The engine truncates exactly (in tokens); this side only cuts
// the document down to a generous character window at line boundaries, so a huge file never crosses to the worker.

export interface ContextBudget {
  /** Total tokens the model attends to (config.json max_length). */
  windowTokens: number;
  /** MASK positions the request adds (maxNewTokens). */
  canvasTokens: number;
  /** Share of the prompt budget for the suffix when both sides are long. */
  suffixShare?: number;
  /** Characters per token used to convert the budget; lower = more text sent (the engine trims the excess). */
  charsPerToken?: number;
}

export const MODEL_WINDOW_TOKENS = 512;
const DEFAULT_SUFFIX_SHARE = 0.25;
/** Code tokenizes at roughly 3 to 4 characters per token; 4.5 leaves slack for the engine's exact cut. */
const DEFAULT_CHARS_PER_TOKEN = 4.5;
/** Reserved for BOS and separators. */
const SPECIAL_TOKENS = 2;

export interface FittedContext {
  prefix: string;
  suffix: string;
  /** The prefix starts at offset 0 of the document. */
  prefixIsFileStart: boolean;
  /** The suffix ends at the end of the document. */
  suffixIsFileEnd: boolean;
}

/** Character budgets for each side, lending one side's unused share to the other. */
export function charBudgets(budget: ContextBudget, prefixLength: number, suffixLength: number): { prefixChars: number; suffixChars: number } {
  const promptTokens = Math.max(0, budget.windowTokens - budget.canvasTokens - SPECIAL_TOKENS);
  const total = Math.floor(promptTokens * (budget.charsPerToken ?? DEFAULT_CHARS_PER_TOKEN));
  const share = budget.suffixShare ?? DEFAULT_SUFFIX_SHARE;
  let suffixChars = Math.min(suffixLength, Math.floor(total * share));
  const prefixChars = Math.min(prefixLength, total - suffixChars);
  suffixChars = Math.min(suffixLength, total - prefixChars);
  return { prefixChars, suffixChars };
}

/**
 * Keeps the end of `prefix` and the start of `suffix` within the budget, cut at line boundaries where possible.
 * `prefixIsFileStart` / `suffixIsFileEnd` say whether the given strings already reach the document's ends.
 */
export function fitContext(
  prefix: string,
  suffix: string,
  budget: ContextBudget,
  ends: { prefixIsFileStart: boolean; suffixIsFileEnd: boolean } = { prefixIsFileStart: true, suffixIsFileEnd: true },
): FittedContext {
  const { prefixChars, suffixChars } = charBudgets(budget, prefix.length, suffix.length);
  let fittedPrefix = prefix;
  if (prefix.length > prefixChars) {
    const cut = prefix.length - prefixChars;
    const nextLine = prefix.indexOf('\n', cut);
    const cursorLineStart = prefix.lastIndexOf('\n') + 1;
    // Start at a line start, unless that would drop the cursor's own line.
    fittedPrefix = nextLine >= 0 && nextLine + 1 <= cursorLineStart ? prefix.slice(nextLine + 1) : prefix.slice(cut);
  }
  let fittedSuffix = suffix;
  if (suffix.length > suffixChars) {
    const lineEnd = suffix.lastIndexOf('\n', suffixChars);
    const cursorLineEnd = suffix.indexOf('\n');
    fittedSuffix = lineEnd >= 0 && lineEnd >= cursorLineEnd ? suffix.slice(0, lineEnd + 1) : suffix.slice(0, suffixChars);
  }
  return {
    prefix: fittedPrefix,
    suffix: fittedSuffix,
    prefixIsFileStart: ends.prefixIsFileStart && fittedPrefix.length === prefix.length,
    suffixIsFileEnd: ends.suffixIsFileEnd && fittedSuffix.length === suffix.length,
  };
}

/** How many characters each side to read from a document before fitting (the most fitContext can keep). */
export function readWindowChars(budget: ContextBudget): number {
  return charBudgets(budget, Number.MAX_SAFE_INTEGER, 0).prefixChars;
}
