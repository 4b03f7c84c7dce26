import { describe, expect, it } from 'vitest';
import { isQuiverError, type QuiverError } from '../contract/errors.js';
import { referenceHandlerFor } from './index.js';
import { redactUri } from './reference-handler.js';

const errorOf = (uri: string): QuiverError => {
  try {
    referenceHandlerFor(uri);
  } catch (error) {
    if (isQuiverError(error)) return error;
    throw error;
  }
  throw new Error(`referenceHandlerFor('${uri}') accepted it`);
};

describe('referenceHandlerFor: credentials in the URL', () => {
  it.each([
    ['http://user:secret@example.com/data.csv', 'http://***@example.com/data.csv'],
    ['https://secret@example.com/data.csv', 'https://***@example.com/data.csv'],
    ['https://:secret@example.com/data.csv', 'https://***@example.com/data.csv'],
    ['https://user:secret@example.com/data.csv?sig=abc', 'https://***@example.com/data.csv?…'],
    ['hf://gpt2:secret@main/config.json', 'hf://***@main/config.json'],
  ])('refuses %s without repeating the credential', (uri, shown) => {
    const error = errorOf(uri);
    expect(error.code).toBe('E_INVALID_REF');
    expect(error.message).toContain(shown);
    expect(error.message).toContain('headers or environment variables');
    expect(error.message).toContain('not in the URL');
    const everything = `${error.message} ${JSON.stringify(error.details)} ${String(error.cause ?? '')}`;
    expect(everything).not.toContain('secret');
    expect(error.details).toEqual({ uri: shown });
  });

  it('keeps the credential out of the not-a-URI error too', () => {
    const error = errorOf('http://user:secret@[bad-host/x');
    expect(error.code).toBe('E_REFERENCE_SCHEME');
    expect(`${error.message} ${String((error.cause as Error | undefined)?.message)}`).not.toContain('secret');
    expect(JSON.stringify(error.cause ?? {})).not.toContain('secret');
  });

  it.each([
    'https://example.com/data.csv',
    'http://127.0.0.1:8080/a@b',
    'file:///data/train.csv',
    'hf://gpt2@main/config.json',
    'hf://openai/whisper@abc123/config.json',
  ])('accepts %s', (uri) => {
    expect(referenceHandlerFor(uri).url.href).toBe(new URL(uri).href);
  });
});

describe('redactUri', () => {
  it('replaces user and password, and leaves the query out', () => {
    expect(redactUri('https://a:b@h/p?token=t#x')).toBe('https://***@h/p?…');
    expect(redactUri('https://h/p')).toBe('https://h/p');
  });
});
