// Text ↔ token ids through @huggingface/tokenizers, with the checks that tie a tokenizer to its model.
import fs from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { EngineError } from './errors';
import type { ModelConfig } from './modelConfig';

/** Private Use Area character used in special-token names; removed from user text so it can never form one. */
const SPECIAL_MARK = /\uE000/g;

export class TextTokenizer {
  /** Highest id + 1 over the vocabulary and added tokens. */
  readonly vocabSize: number;
  private readonly textCache = new Map<number, string>();

  private constructor(
    private readonly tokenizer: Tokenizer,
    vocabSize: number,
    /** Special-token strings, longest first, and their ids: never produced from user text. */
    private readonly specialStrings: readonly string[],
    private readonly specialIds: ReadonlySet<number>,
  ) {
    this.vocabSize = vocabSize;
  }

  /** Loads tokenizer.json; MODEL_CORRUPT if unreadable, VOCAB_MISMATCH if it does not fit the model config. */
  static load(file: string, config: ModelConfig): TextTokenizer {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new EngineError('MODEL_CORRUPT', `${file} is not a readable tokenizer: ${(err as Error).message}`);
    }
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(json as object, {});
    } catch (err) {
      throw new EngineError('MODEL_CORRUPT', `${file} could not be loaded as a tokenizer: ${(err as Error).message}`);
    }
    let maxId = -1;
    for (const id of tokenizer.get_vocab(true).values()) maxId = Math.max(maxId, id);
    const vocabSize = maxId + 1;
    // Format 2 allows an embedding padded beyond the tokenizer (Qwen2.5: 151,936 rows, 151,665 ids); the graph never
    // predicts the padding rows, and checkId catches one that does.
    const fits = config.formatVersion >= 2 ? vocabSize <= config.vocabSize : vocabSize === config.vocabSize;
    if (!fits) {
      throw new EngineError('VOCAB_MISMATCH',
        `Tokenizer and model disagree: tokenizer.json has ${vocabSize} token ids, config.json says vocab_size ` +
        `${config.vocabSize}${config.formatVersion >= 2 ? ' (it may be larger, never smaller)' : ''}. The model folder mixes files from different models.`);
    }
    const specials = tokenizer.get_added_tokens_decoder();
    for (const [what, id] of [['mask', config.maskId], ['pad', config.padId], ['bos', config.bosId]] as const) {
      if (id >= 0 && !specials.has(id)) {
        throw new EngineError('VOCAB_MISMATCH',
          `Tokenizer and model disagree: config.json's ${what} id ${id} is not a special token of tokenizer.json.`);
      }
    }
    const added = (json as { added_tokens?: Array<{ id: number; content: string; special?: boolean }> }).added_tokens ?? [];
    const special = added.filter((t) => t.special !== false);
    const strings = [...new Set([...config.specialTokens, ...special.map((t) => t.content)])].filter((t) => t.length > 1);
    const ids = new Set([...special.map((t) => t.id), config.maskId, config.padId, config.bosId, ...config.endIds].filter((id) => id >= 0));
    return new TextTokenizer(tokenizer, vocabSize, strings.sort((a, b) => b.length - a.length), ids);
  }

  /**
   * User text → ids. A special token written as plain text in the user's file (`<|endoftext|>`, `<|mask|>`) is
   * encoded as ordinary text, never as the special id: the text is split at every occurrence and each occurrence is
   * encoded in two halves (recursively, since a half may hold a shorter special string). Special-token marker
   * characters (Private Use Area) are stripped first.
   */
  encode(text: string): number[] {
    const clean = text.replace(SPECIAL_MARK, '');
    if (clean.length === 0) return [];
    const ids = this.encodeEscaped(clean);
    // Defence in depth: nothing special may remain (a tokenizer normaliser could still form one).
    return ids.filter((id) => !this.specialIds.has(id));
  }

  private encodeEscaped(text: string): number[] {
    if (text.length === 0) return [];
    for (const special of this.specialStrings) {
      const at = text.indexOf(special);
      if (at < 0) continue;
      const half = Math.max(1, special.length >> 1);
      return [
        ...this.encodeEscaped(text.slice(0, at)),
        ...this.encodeEscaped(special.slice(0, half)),
        ...this.encodeEscaped(special.slice(half)),
        ...this.encodeEscaped(text.slice(at + special.length)),
      ];
    }
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** Ids → text (special tokens dropped). Empty input gives "". */
  decode(ids: readonly number[]): string {
    if (ids.length === 0) return '';
    return this.tokenizer.decode([...ids], { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  /** Text of one token (memoised); for step events. */
  tokenText(id: number): string {
    let text = this.textCache.get(id);
    if (text === undefined) {
      text = this.decode([id]);
      this.textCache.set(id, text);
    }
    return text;
  }

  /** Throws VOCAB_MISMATCH if the model produced an id the tokenizer cannot decode. */
  checkId(id: number): void {
    if (!(id >= 0 && id < this.vocabSize)) {
      throw new EngineError('VOCAB_MISMATCH',
        `The model produced token id ${id}, outside the tokenizer's ${this.vocabSize} ids.`);
    }
  }
}
