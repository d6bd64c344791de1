// Completion cache with "typed along" reuse: a completion made at some cursor context is served again, minus what
// the user has typed since, as long as everything typed matches it. Anchors compare text (the end of the prefix
// and the start of the suffix), not offsets, so edits far away do not matter and a changed context never matches.
import type { FittedContext } from './contextWindow';

/** Characters of context compared on each side. */
const ANCHOR_CHARS = 400;
/** Longest typed-along stretch that is still reused. */
const MAX_TYPED = 512;

export interface ContextAnchor {
  docKey: string;
  /** Request variant (policy, shape, canvas…): a completion is only reused for the same kind of request. */
  variant: string;
  prefixTail: string;
  suffixHead: string;
  /** The whole prefix up to the document start is in prefixTail. */
  prefixTailIsFileStart: boolean;
  /** The whole suffix up to the document end is in suffixHead. */
  suffixHeadIsFileEnd: boolean;
}

export function makeAnchor(docKey: string, variant: string, ctx: FittedContext): ContextAnchor {
  const prefixTail = ctx.prefix.slice(-ANCHOR_CHARS);
  const suffixHead = ctx.suffix.slice(0, ANCHOR_CHARS);
  return {
    docKey,
    variant,
    prefixTail,
    suffixHead,
    prefixTailIsFileStart: ctx.prefixIsFileStart && prefixTail.length === ctx.prefix.length,
    suffixHeadIsFileEnd: ctx.suffixIsFileEnd && suffixHead.length === ctx.suffix.length,
  };
}

function suffixMatches(anchor: ContextAnchor, ctx: FittedContext): boolean {
  if (anchor.suffixHeadIsFileEnd) return ctx.suffixIsFileEnd && ctx.suffix === anchor.suffixHead;
  return ctx.suffix.startsWith(anchor.suffixHead);
}

/** The prefix, cut at `end`, ends with the anchor's tail (and starts there too if the tail reached the file start). */
function prefixMatches(anchor: ContextAnchor, prefix: string, end: number, prefixIsFileStart: boolean): boolean {
  const tail = anchor.prefixTail;
  if (anchor.prefixTailIsFileStart && (!prefixIsFileStart || end !== tail.length)) return false;
  return end >= tail.length && regionEquals(prefix, end - tail.length, tail, tail.length);
}

/**
 * If the cursor context is the anchor's context plus some typed text that is a prefix of `expected`, returns that
 * typed text ('' when nothing was typed); otherwise undefined.
 */
export function typedAlong(anchor: ContextAnchor, docKey: string, variant: string, ctx: FittedContext, expected: string): string | undefined {
  if (anchor.docKey !== docKey || anchor.variant !== variant || !suffixMatches(anchor, ctx)) return undefined;
  const end = ctx.prefix.length;
  for (let t = Math.min(expected.length, MAX_TYPED, end); t >= 0; t--) {
    // The last t characters of the prefix must be expected's first t.
    if (!regionEquals(ctx.prefix, end - t, expected, t)) continue;
    if (prefixMatches(anchor, ctx.prefix, end - t, ctx.prefixIsFileStart)) return expected.slice(0, t);
  }
  return undefined;
}

/**
 * a.slice(from, from + n) === b.slice(0, n), without building the strings (this runs on every keystroke). Compares
 * from the end: the character just typed rejects most candidates first.
 */
function regionEquals(a: string, from: number, b: string, n: number): boolean {
  for (let i = n - 1; i >= 0; i--) if (a.charCodeAt(from + i) !== b.charCodeAt(i)) return false;
  return true;
}

export interface CachedCompletion<T> {
  anchor: ContextAnchor;
  /** The completion as shown (post-filtered). */
  text: string;
  /** Whatever the caller wants back with it (e.g. the request id for stats). */
  data: T;
}

export interface CacheHit<T> {
  entry: CachedCompletion<T>;
  typed: string;
  /** What is left to show: entry.text minus typed. Empty only for an empty entry. */
  remainder: string;
}

/** Least-recently-used cache of shown completions. */
export class CompletionCache<T = undefined> {
  private readonly entries: CachedCompletion<T>[] = [];

  constructor(private readonly capacity = 100) {}

  get size(): number {
    return this.entries.length;
  }

  /** An empty text records "nothing to suggest here", so the same context is not decoded again. */
  put(anchor: ContextAnchor, text: string, data: T): void {
    const same = this.entries.findIndex((e) => sameAnchor(e.anchor, anchor));
    if (same >= 0) this.entries.splice(same, 1);
    this.entries.push({ anchor, text, data });
    if (this.entries.length > this.capacity) this.entries.shift();
  }

  /**
   * The most recent entry the context types along with something left to show, or an empty entry for exactly this
   * context (remainder '').
   */
  get(docKey: string, variant: string, ctx: FittedContext): CacheHit<T> | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i];
      const typed = typedAlong(entry.anchor, docKey, variant, ctx, entry.text);
      if (typed === undefined || (entry.text !== '' && typed.length >= entry.text.length)) continue;
      this.entries.splice(i, 1);
      this.entries.push(entry);
      return { entry, typed, remainder: entry.text.slice(typed.length) };
    }
    return undefined;
  }

  clear(): void {
    this.entries.length = 0;
  }

  deleteDocument(docKey: string): void {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i].anchor.docKey === docKey) this.entries.splice(i, 1);
  }
}

const sameAnchor = (a: ContextAnchor, b: ContextAnchor): boolean =>
  a.docKey === b.docKey && a.variant === b.variant && a.prefixTail === b.prefixTail && a.suffixHead === b.suffixHead
  && a.prefixTailIsFileStart === b.prefixTailIsFileStart && a.suffixHeadIsFileEnd === b.suffixHeadIsFileEnd;
