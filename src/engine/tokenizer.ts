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

  private constructor(private readonly tokenizer: Tokenizer, vocabSize: number) {
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
    if (vocabSize !== config.vocabSize) {
      throw new EngineError('VOCAB_MISMATCH',
        `Tokenizer and model disagree: tokenizer.json has ${vocabSize} token ids, config.json says vocab_size ` +
        `${config.vocabSize}. The model folder mixes files from different models.`);
    }
    const specials = tokenizer.get_added_tokens_decoder();
    for (const [what, id] of [['mask', config.maskId], ['pad', config.padId], ['bos', config.bosId]] as const) {
      if (!specials.has(id)) {
        throw new EngineError('VOCAB_MISMATCH',
          `Tokenizer and model disagree: config.json's ${what} id ${id} is not a special token of tokenizer.json.`);
      }
    }
    return new TextTokenizer(tokenizer, vocabSize);
  }

  /** User text → ids. Special-token marker characters are stripped first. */
  encode(text: string): number[] {
    const clean = text.replace(SPECIAL_MARK, '');
    if (clean.length === 0) return [];
    return this.tokenizer.encode(clean, { add_special_tokens: false }).ids;
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
