/**
 * A whole-word WordPiece tokenizer built from training text, written as the Hugging Face
 * `tokenizer.json` + `tokenizer_config.json` pair that transformers.js (and Python `tokenizers`)
 * load, with a JS `encode` that yields the ids transformers.js's tokenizer yields.
 *
 * `encode` follows `@huggingface/tokenizers` 0.2 (what transformers.js 4.3 runs) step by step:
 * split on the special tokens (longest match, not normalised), BertNormalizer (clean text, space
 * around CJK, lowercase and strip accents), BertPreTokenizer (whitespace and punctuation), WordPiece
 * (greedy longest match, `##` continuations, `[UNK]` for a word that does not split), then
 * BertProcessing (`[CLS] … [SEP]`) and, as the text-classification pipeline asks
 * (`truncation: true`), truncation to `model_max_length` — which cuts the `[SEP]` off too.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuiverError } from '@quiver/core';

/** Options of {@link buildTokenizer}. */
export interface BuildTokenizerOptions {
  /** Lowercase and strip accents (BERT "uncased"). Default true. */
  lowercase?: boolean;
  /**
   * Largest vocabulary, special tokens included: the most frequent words are kept (ties in
   * alphabetical order). Default: every word of the texts.
   */
  maxVocabulary?: number;
  /** Words seen fewer times than this are left out (they become `[UNK]`). Default 1. */
  minFrequency?: number;
  /**
   * `model_max_length`: longer inputs are truncated to this many tokens (special tokens
   * included) by transformers.js pipelines and by `encode`. Default 128.
   */
  maxLength?: number;
}

/** The two files of a tokenizer, as JSON values. */
export interface TokenizerFiles {
  'tokenizer.json': TokenizerJson;
  'tokenizer_config.json': TokenizerConfigJson;
}

/** The subset of Hugging Face's `tokenizer.json` this module writes and reads. */
export interface TokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: AddedTokenJson[];
  normalizer: {
    type: 'BertNormalizer';
    clean_text: boolean;
    handle_chinese_chars: boolean;
    strip_accents: boolean | null;
    lowercase: boolean;
  };
  pre_tokenizer: { type: 'BertPreTokenizer' };
  post_processor: { type: 'BertProcessing'; sep: [string, number]; cls: [string, number] };
  decoder: { type: 'WordPiece'; prefix: string; cleanup: boolean };
  model: {
    type: 'WordPiece';
    unk_token: string;
    continuing_subword_prefix: string;
    max_input_chars_per_word: number;
    vocab: Record<string, number>;
  };
}

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** `tokenizer_config.json` as written here (transformers.js reads the special tokens and `model_max_length`). */
export interface TokenizerConfigJson {
  tokenizer_class: string;
  do_lower_case: boolean;
  strip_accents: boolean | null;
  tokenize_chinese_chars: boolean;
  clean_up_tokenization_spaces: boolean;
  model_max_length: number;
  padding_side: 'right';
  truncation_side: 'right';
  pad_token: string;
  unk_token: string;
  cls_token: string;
  sep_token: string;
  added_tokens_decoder: Record<string, Omit<AddedTokenJson, 'id'>>;
  [key: string]: unknown;
}

/** The special tokens, with the ids every tokenizer built here gives them. */
export const SPECIAL_TOKENS = { pad: '[PAD]', unk: '[UNK]', cls: '[CLS]', sep: '[SEP]' } as const;
const SPECIAL_ORDER = [SPECIAL_TOKENS.pad, SPECIAL_TOKENS.unk, SPECIAL_TOKENS.cls, SPECIAL_TOKENS.sep];

const DEFAULT_MAX_LENGTH = 128;
const MAX_INPUT_CHARS_PER_WORD = 100;
const SUBWORD_PREFIX = '##';

// The character classes of @huggingface/tokenizers 0.2 (src/static/constants.ts, BertPreTokenizer).
const PUNCTUATION = '\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E';
const PRE_TOKEN_PATTERN = new RegExp(`[^\\s${PUNCTUATION}]+|[${PUNCTUATION}]`, 'gu');

function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function isControl(char: string): boolean {
  if (char === '\t' || char === '\n' || char === '\r') return false;
  // As written upstream (the anchors bind to the first and last alternative only).
  return /^\p{Cc}|\p{Cf}|\p{Co}|\p{Cs}$/u.test(char);
}

interface NormalizerSettings {
  cleanText: boolean;
  chineseChars: boolean;
  lowercase: boolean;
  stripAccents: boolean | null;
}

/** BertNormalizer, as transformers.js runs it. */
function normalize(text: string, settings: NormalizerSettings): string {
  let result = text;
  if (settings.cleanText) {
    const output: string[] = [];
    for (const char of result) {
      const cp = char.charCodeAt(0);
      if (cp === 0 || cp === 0xfffd || isControl(char)) continue;
      output.push(/^\s$/.test(char) ? ' ' : char);
    }
    result = output.join('');
  }
  if (settings.chineseChars) {
    const output: string[] = [];
    // Per UTF-16 code unit, as upstream does (astral CJK characters are not spaced).
    for (let index = 0; index < result.length; index++) {
      const char = result[index] as string;
      if (isChineseChar(char.charCodeAt(0))) output.push(' ', char, ' ');
      else output.push(char);
    }
    result = output.join('');
  }
  const stripAccents = (value: string): string => value.normalize('NFD').replace(/\p{Mn}/gu, '');
  if (settings.lowercase) {
    result = result.toLowerCase();
    if (settings.stripAccents !== false) result = stripAccents(result);
  } else if (settings.stripAccents) {
    result = stripAccents(result);
  }
  return result;
}

/** BertPreTokenizer: runs of non-space non-punctuation, and single punctuation characters. */
function preTokenize(text: string): string[] {
  return text.trim().match(PRE_TOKEN_PATTERN) ?? [];
}

/** Splits on the special tokens (longest match at each position), keeping them as sections. */
function splitOnSpecialTokens(text: string, specials: ReadonlySet<string>, longest: number): string[] {
  if (specials.size === 0) return [text];
  const sections: string[] = [];
  let start = 0;
  let index = 0;
  while (index < text.length) {
    let match: string | undefined;
    for (let length = Math.min(longest, text.length - index); length > 0; length--) {
      const candidate = text.slice(index, index + length);
      if (specials.has(candidate)) {
        match = candidate;
        break;
      }
    }
    if (match !== undefined) {
      if (index > start) sections.push(text.slice(start, index));
      sections.push(match);
      index += match.length;
      start = index;
    } else {
      index++;
    }
  }
  if (start < text.length) sections.push(text.slice(start));
  return sections;
}

/** transformers.js's `clean_up_tokenization`: no space before punctuation and English contractions. */
function cleanUpTokenization(text: string): string {
  return text
    .replace(/ \./g, '.')
    .replace(/ \?/g, '?')
    .replace(/ !/g, '!')
    .replace(/ ,/g, ',')
    .replace(/ ' /g, "'")
    .replace(/ n't/g, "n't")
    .replace(/ 'm/g, "'m")
    .replace(/ 's/g, "'s")
    .replace(/ 've/g, "'ve")
    .replace(/ 're/g, "'re");
}

function invalidOption(option: string, message: string): QuiverError {
  return new QuiverError('E_INVALID_OPTION', message, { details: { option } });
}

/**
 * A WordPiece tokenizer whose files transformers.js loads and whose {@link encode} gives the
 * same ids. Build one with {@link buildTokenizer}, or read saved files with
 * {@link WordPieceTokenizer.fromFiles}.
 */
export class WordPieceTokenizer {
  /** Token by id. */
  readonly vocabulary: readonly string[];
  readonly lowercase: boolean;
  /** `model_max_length`. */
  readonly maxLength: number;
  readonly padId: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  private readonly ids: Map<string, number>;
  private readonly normalizer: NormalizerSettings;
  private readonly specials: Set<string>;
  private readonly longestSpecial: number;

  private readonly files: TokenizerFiles;

  private constructor(files: TokenizerFiles, source: string) {
    this.files = structuredClone(files);
    const json = this.files['tokenizer.json'];
    const config = this.files['tokenizer_config.json'];
    const problem = WordPieceTokenizer.problemOf(json, config);
    if (problem)
      throw invalidOption(
        'tokenizer',
        `${source} is not a tokenizer this module can encode with: ${problem}. Build one with buildTokenizer().`,
      );
    this.ids = new Map(Object.entries(json.model.vocab));
    for (const token of json.added_tokens) this.ids.set(token.content, token.id);
    const vocabulary: string[] = [];
    for (const [token, id] of this.ids) vocabulary[id] = token;
    this.vocabulary = vocabulary;
    this.lowercase = json.normalizer.lowercase;
    this.normalizer = {
      cleanText: json.normalizer.clean_text,
      chineseChars: json.normalizer.handle_chinese_chars,
      lowercase: json.normalizer.lowercase,
      stripAccents: json.normalizer.strip_accents,
    };
    this.maxLength =
      typeof config.model_max_length === 'number' ? config.model_max_length : Number.POSITIVE_INFINITY;
    const idOf = (token: unknown, what: string): number => {
      const id = typeof token === 'string' ? this.ids.get(token) : undefined;
      if (id === undefined)
        throw invalidOption(
          'tokenizer',
          `${source}: the ${what} token ${String(token)} is not in the vocabulary.`,
        );
      return id;
    };
    this.padId = idOf(config.pad_token, 'pad');
    this.unkId = idOf(json.model.unk_token, 'unknown');
    this.clsId = json.post_processor.cls[1];
    this.sepId = json.post_processor.sep[1];
    // Tokens that are not `normalized` split the raw text (transformers.js's splitter_unnormalized).
    this.specials = new Set(
      json.added_tokens.filter((token) => !token.normalized).map((token) => token.content),
    );
    this.longestSpecial = Math.max(0, ...[...this.specials].map((token) => token.length));
  }

  /** Why the files are not the kind written here, or undefined when they are. */
  private static problemOf(json: TokenizerJson, config: TokenizerConfigJson): string | undefined {
    if (!json || typeof json !== 'object') return 'tokenizer.json is not an object';
    if (!config || typeof config !== 'object') return 'tokenizer_config.json is not an object';
    if (json.model?.type !== 'WordPiece')
      return `the model is ${json.model?.type ?? 'missing'}, not WordPiece`;
    if (json.normalizer?.type !== 'BertNormalizer')
      return `the normalizer is ${json.normalizer?.type ?? 'null'}, not BertNormalizer`;
    if (json.pre_tokenizer?.type !== 'BertPreTokenizer')
      return `the pre-tokenizer is ${json.pre_tokenizer?.type ?? 'null'}, not BertPreTokenizer`;
    if (json.post_processor?.type !== 'BertProcessing')
      return `the post-processor is ${json.post_processor?.type ?? 'null'}, not BertProcessing`;
    if (!Array.isArray(json.added_tokens)) return 'added_tokens is missing';
    if (json.added_tokens.some((token) => token.normalized || token.lstrip || token.rstrip))
      return 'added tokens must be un-normalised, without lstrip/rstrip';
    if (!json.model.vocab || typeof json.model.vocab !== 'object') return 'the WordPiece vocab is missing';
    const special = (pair: unknown): boolean =>
      Array.isArray(pair) && typeof pair[0] === 'string' && Number.isInteger(pair[1]);
    if (!special(json.post_processor.cls) || !special(json.post_processor.sep))
      return 'the post-processor lacks its [CLS]/[SEP] pairs';
    if (json.model.continuing_subword_prefix !== SUBWORD_PREFIX)
      return `the continuing-subword prefix is not '${SUBWORD_PREFIX}'`;
    return undefined;
  }

  /** Reads `tokenizer.json` and `tokenizer_config.json` (as parsed JSON or text). */
  static fromFiles(
    tokenizerJson: TokenizerJson | string,
    tokenizerConfig: TokenizerConfigJson | string,
  ): WordPieceTokenizer {
    const parse = <T>(value: T | string, name: string): T => {
      if (typeof value !== 'string') return value;
      try {
        return JSON.parse(value) as T;
      } catch (error) {
        throw new QuiverError('E_INVALID_OPTION', `${name} is not valid JSON: ${(error as Error).message}`, {
          cause: error,
          details: { option: 'tokenizer' },
        });
      }
    };
    return new WordPieceTokenizer(
      {
        'tokenizer.json': parse(tokenizerJson, 'tokenizer.json'),
        'tokenizer_config.json': parse(tokenizerConfig, 'tokenizer_config.json'),
      },
      'the tokenizer',
    );
  }

  /** @internal Used by {@link buildTokenizer}. */
  static fromBuiltFiles(files: TokenizerFiles): WordPieceTokenizer {
    return new WordPieceTokenizer(files, 'the built tokenizer');
  }

  /** Number of ids (the Embedding's `inputDim` must be at least this). */
  get vocabularySize(): number {
    return this.vocabulary.length;
  }

  /** The pre-tokenized words of a text: normalisation and splitting, no vocabulary lookup. */
  words(text: string): string[] {
    const words: string[] = [];
    for (const section of splitOnSpecialTokens(text, this.specials, this.longestSpecial)) {
      if (section.length === 0) continue;
      if (this.specials.has(section)) {
        words.push(section);
        continue;
      }
      const normalized = normalize(section, this.normalizer);
      if (normalized.length > 0) words.push(...preTokenize(normalized));
    }
    return words;
  }

  /** The tokens of a text, without special tokens and truncation. */
  tokenize(text: string): string[] {
    const tokens: string[] = [];
    for (const word of this.words(text)) {
      if (this.specials.has(word)) tokens.push(word);
      else tokens.push(...this.wordPiece(word));
    }
    return tokens;
  }

  /** WordPiece of one word: greedy longest match with `##` continuations, else `[UNK]`. */
  private wordPiece(word: string): string[] {
    const chars = [...word];
    const unknown = this.vocabulary[this.unkId] as string;
    if (chars.length > MAX_INPUT_CHARS_PER_WORD) return [unknown];
    const pieces: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | undefined;
      while (start < end) {
        const piece = (start > 0 ? SUBWORD_PREFIX : '') + chars.slice(start, end).join('');
        if (this.ids.has(piece)) {
          found = piece;
          break;
        }
        end--;
      }
      if (found === undefined) return [unknown];
      pieces.push(found);
      start = end;
    }
    return pieces;
  }

  /**
   * The ids transformers.js gives `text` (`tokenizer(text, { truncation: true })`, as the
   * text-classification pipeline calls it): `[CLS] … [SEP]`, cut to `maxLength`.
   */
  encode(text: string): number[] {
    const ids = [
      this.clsId,
      ...this.tokenize(text).map((token) => this.ids.get(token) ?? this.unkId),
      this.sepId,
    ];
    return ids.length > this.maxLength ? ids.slice(0, this.maxLength) : ids;
  }

  /**
   * The ids of a batch as the pipeline builds it (`padding: true, truncation: true`): each text
   * encoded, then right-padded with `[PAD]` to the longest (at most `maxLength`).
   */
  encodeBatch(texts: readonly string[]): number[][] {
    const encoded = texts.map((text) => this.encode(text));
    const length = Math.max(0, ...encoded.map((ids) => ids.length));
    return encoded.map((ids) => [...ids, ...new Array<number>(length - ids.length).fill(this.padId)]);
  }

  /**
   * Ids back to text as transformers.js decodes them with `skip_special_tokens: true` (the
   * WordPiece decoder joining `##` pieces, then the clean-up of spaces before punctuation).
   */
  decode(ids: readonly number[]): string {
    const special = new Set([this.padId, this.unkId, this.clsId, this.sepId]);
    const pieces = ids
      .filter((id) => !special.has(id))
      .map((id) => this.vocabulary[id] ?? (this.vocabulary[this.unkId] as string))
      .map((token, index) => {
        const joined =
          index === 0
            ? token
            : token.startsWith(SUBWORD_PREFIX)
              ? token.slice(SUBWORD_PREFIX.length)
              : ` ${token}`;
        return cleanUpTokenization(joined);
      });
    return cleanUpTokenization(pieces.join(''));
  }

  /** The files as JSON values (copies). */
  toJSON(): TokenizerFiles {
    return structuredClone(this.files);
  }

  /** The files as text, by file name. */
  fileContents(): Record<'tokenizer.json' | 'tokenizer_config.json', string> {
    return {
      'tokenizer.json': `${JSON.stringify(this.files['tokenizer.json'], null, 2)}\n`,
      'tokenizer_config.json': `${JSON.stringify(this.files['tokenizer_config.json'], null, 2)}\n`,
    };
  }

  /** Writes `tokenizer.json` and `tokenizer_config.json` into `dir` (created if missing). */
  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    for (const [name, content] of Object.entries(this.fileContents()))
      await writeFile(join(dir, name), content);
  }
}

/**
 * Builds a whole-word WordPiece tokenizer from training texts: `[PAD]`=0, `[UNK]`=1, `[CLS]`=2,
 * `[SEP]`=3, then the words by falling frequency (ties alphabetical). A word not in the
 * vocabulary becomes `[UNK]`.
 *
 * @example
 * const tokenizer = buildTokenizer(texts, { maxVocabulary: 2000, maxLength: 32 });
 * const ids = texts.map((text) => tokenizer.encode(text)); // what transformers.js will feed the model
 */
export function buildTokenizer(
  texts: Iterable<string>,
  options: BuildTokenizerOptions = {},
): WordPieceTokenizer {
  const lowercase = options.lowercase ?? true;
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
  const minFrequency = options.minFrequency ?? 1;
  const maxVocabulary = options.maxVocabulary ?? Number.POSITIVE_INFINITY;
  if (typeof lowercase !== 'boolean') throw invalidOption('lowercase', 'lowercase must be true or false.');
  if (!Number.isSafeInteger(maxLength) || maxLength < 2)
    throw invalidOption(
      'maxLength',
      `maxLength must be a whole number ≥ 2 ([CLS] and [SEP]), got ${maxLength}.`,
    );
  if (!Number.isSafeInteger(minFrequency) || minFrequency < 1)
    throw invalidOption('minFrequency', `minFrequency must be a whole number ≥ 1, got ${minFrequency}.`);
  if (
    maxVocabulary !== Number.POSITIVE_INFINITY &&
    (!Number.isSafeInteger(maxVocabulary) || maxVocabulary <= SPECIAL_ORDER.length)
  )
    throw invalidOption(
      'maxVocabulary',
      `maxVocabulary must be a whole number > ${SPECIAL_ORDER.length} (the special tokens), got ${maxVocabulary}.`,
    );

  const addedTokens: AddedTokenJson[] = SPECIAL_ORDER.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const skeleton = (vocab: Record<string, number>): TokenizerFiles => ({
    'tokenizer.json': {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: addedTokens,
      normalizer: {
        type: 'BertNormalizer',
        clean_text: true,
        handle_chinese_chars: true,
        strip_accents: null,
        lowercase,
      },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'BertProcessing',
        sep: [SPECIAL_TOKENS.sep, SPECIAL_ORDER.indexOf(SPECIAL_TOKENS.sep)],
        cls: [SPECIAL_TOKENS.cls, SPECIAL_ORDER.indexOf(SPECIAL_TOKENS.cls)],
      },
      decoder: { type: 'WordPiece', prefix: SUBWORD_PREFIX, cleanup: true },
      model: {
        type: 'WordPiece',
        unk_token: SPECIAL_TOKENS.unk,
        continuing_subword_prefix: SUBWORD_PREFIX,
        max_input_chars_per_word: MAX_INPUT_CHARS_PER_WORD,
        vocab,
      },
    },
    'tokenizer_config.json': {
      tokenizer_class: 'BertTokenizer',
      do_lower_case: lowercase,
      strip_accents: null,
      tokenize_chinese_chars: true,
      clean_up_tokenization_spaces: true,
      model_max_length: maxLength,
      padding_side: 'right',
      truncation_side: 'right',
      pad_token: SPECIAL_TOKENS.pad,
      unk_token: SPECIAL_TOKENS.unk,
      cls_token: SPECIAL_TOKENS.cls,
      sep_token: SPECIAL_TOKENS.sep,
      added_tokens_decoder: Object.fromEntries(addedTokens.map(({ id, ...token }) => [String(id), token])),
    },
  });
  const specialVocab = Object.fromEntries(SPECIAL_ORDER.map((token, id) => [token, id]));
  // An empty vocabulary gives the normaliser and pre-tokenizer; count the words they produce.
  const splitter = WordPieceTokenizer.fromBuiltFiles(skeleton(specialVocab));
  const counts = new Map<string, number>();
  for (const text of texts) {
    if (typeof text !== 'string')
      throw invalidOption('texts', 'buildTokenizer takes an iterable of strings.');
    for (const word of splitter.words(text)) {
      // Special tokens written in the text, and words WordPiece would refuse, never get an id.
      if (Object.hasOwn(specialVocab, word) || [...word].length > MAX_INPUT_CHARS_PER_WORD) continue;
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  const words = [...counts]
    .filter(([, count]) => count >= minFrequency)
    .sort(([a, countA], [b, countB]) => countB - countA || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, maxVocabulary - SPECIAL_ORDER.length)
    .map(([word]) => word);
  // fromEntries: a word such as `__proto__` becomes an own key like any other.
  const vocab: Record<string, number> = Object.fromEntries([
    ...SPECIAL_ORDER.map((token, id): [string, number] => [token, id]),
    ...words.map((word, index): [string, number] => [word, SPECIAL_ORDER.length + index]),
  ]);
  return WordPieceTokenizer.fromBuiltFiles(skeleton(vocab));
}
