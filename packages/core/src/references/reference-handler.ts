import { QuiverError } from '../errors.js';

/** What a handler learns about a referenced object without copying it into the store. */
export interface ReferenceDescription {
  sha256: string;
  size: number;
}

/**
 * Handles one URI scheme for `addReference` (`file`, `http`, `https`; later `s3`, `gs`, `hf`).
 * Register more with {@link registerReferenceHandler}.
 */
export interface ReferenceHandler {
  readonly schemes: readonly string[];
  /** Reads the object once to record its size and sha256. */
  describe(uri: URL): Promise<ReferenceDescription>;
  /** Writes the object's bytes to `target` (the caller verifies the digest). */
  download(uri: URL, target: string): Promise<void>;
}

const handlers = new Map<string, ReferenceHandler>();

/** Makes a handler available for its schemes, replacing any previous one. */
export function registerReferenceHandler(handler: ReferenceHandler): void {
  for (const scheme of handler.schemes) handlers.set(scheme.toLowerCase(), handler);
}

/** The handler for a URI, or a typed error listing the schemes that are supported. */
export function referenceHandlerFor(uri: string): { url: URL; handler: ReferenceHandler } {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (error) {
    throw new QuiverError(
      'E_REFERENCE_SCHEME',
      `'${uri}' is not a URI; give one such as file:///data/train.csv or https://host/file.`,
      { cause: error },
    );
  }
  const scheme = url.protocol.replace(/:$/, '').toLowerCase();
  const handler = handlers.get(scheme);
  if (!handler) {
    throw new QuiverError(
      'E_REFERENCE_SCHEME',
      `No reference handler for '${scheme}:' URIs. Supported: ${[...handlers.keys()].join(', ')}. Register one with registerReferenceHandler().`,
      { details: { scheme } },
    );
  }
  return { url, handler };
}
