import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { fetch } from 'undici';
import { hashChunks } from '../blobs/copy-and-hash.js';
import { QuiverError } from '../contract/errors.js';
import { type ReferenceHandler, redactUri } from './reference-handler.js';

async function get(uri: URL): Promise<Readable> {
  // Messages show the URL redacted: referenceHandlerFor refuses URLs with credentials, and this
  // handler never repeats any it is handed directly.
  const shown = redactUri(uri.href);
  const response = await fetch(uri, { redirect: 'follow' }).catch((error: unknown) => {
    const reason = String((error as Error)?.message ?? error)
      .split(uri.href)
      .join(shown);
    throw new QuiverError('E_REFERENCE_FAILED', `Cannot reach ${shown}: ${reason}`, {
      ...(uri.username || uri.password ? {} : { cause: error }),
    });
  });
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new QuiverError(
      'E_REFERENCE_FAILED',
      `GET ${shown} answered HTTP ${response.status}; check the URL and its access.`,
      {
        details: { status: response.status },
      },
    );
  }
  return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
}

/** `http://` and `https://` references, read once to record size and sha256. */
export const httpReferenceHandler: ReferenceHandler = {
  schemes: ['http', 'https'],
  async describe(uri) {
    return hashChunks(await get(uri));
  },
  async download(uri, target) {
    await pipeline(await get(uri), createWriteStream(target, { flags: 'wx' }));
  },
};
