/** A checkpoint hook that stores the tokenizer (and the labels) with every TF.js checkpoint. */
import { QuiverError } from '@quiver/core';
import type { CheckpointHook } from '@quiver/tfjs';
import type { TokenizerSource } from './export.js';
import { WordPieceTokenizer } from './tokenizer.js';

function contentsOf(tokenizer: TokenizerSource): { json: string; config: string } {
  if (tokenizer instanceof WordPieceTokenizer) {
    const contents = tokenizer.fileContents();
    return { json: contents['tokenizer.json'], config: contents['tokenizer_config.json'] };
  }
  if (!tokenizer || typeof tokenizer !== 'object' || !('tokenizer.json' in tokenizer))
    throw new QuiverError(
      'E_INVALID_OPTION',
      "tokenizerFiles(tokenizer): pass a tokenizer from buildTokenizer() or { 'tokenizer.json', 'tokenizer_config.json' }.",
      { details: { option: 'tokenizer' } },
    );
  const text = (value: unknown): string =>
    typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return { json: text(tokenizer['tokenizer.json']), config: text(tokenizer['tokenizer_config.json']) };
}

/**
 * A `CheckpointHook` that adds `tokenizer.json` and `tokenizer_config.json` to every checkpoint
 * and, given `labels`, records them as `metadata.labels` — so that
 * `exportForTransformersJs(ref, dir)` and `loadPipeline(task, ref)` need nothing else.
 *
 * @example
 * checkpointCallback(run, model, { hooks: [tokenizerFiles(tokenizer, ['negative', 'neutral', 'positive'])] });
 */
export function tokenizerFiles(tokenizer: TokenizerSource, labels?: readonly string[]): CheckpointHook {
  const { json, config } = contentsOf(tokenizer);
  if (
    labels !== undefined &&
    (!Array.isArray(labels) || labels.some((label) => typeof label !== 'string' || label.length === 0))
  )
    throw new QuiverError(
      'E_INVALID_OPTION',
      'tokenizerFiles(tokenizer, labels): labels must be non-empty strings.',
      {
        details: { option: 'labels' },
      },
    );
  const vocabularySize = tokenizer instanceof WordPieceTokenizer ? tokenizer.vocabularySize : undefined;
  return {
    name: 'tokenizer',
    beforeCommit({ draft, metadata }) {
      draft.addBytes('tokenizer.json', json);
      draft.addBytes('tokenizer_config.json', config);
      if (labels !== undefined) metadata.labels = [...labels];
      metadata.tokenizer = {
        type: 'WordPiece',
        files: ['tokenizer.json', 'tokenizer_config.json'],
        ...(vocabularySize !== undefined ? { vocabularySize } : {}),
      };
    },
  };
}
