import { QuiverError } from '../contract/errors.js';

/** What a handler learns about a referenced object without copying it into the store. */
export interface ReferenceDescription {
  sha256: string;
  size: number;
  /** The URI to record instead of the one given, pinning what was seen (`s3://b/k?versionId=…&etag=…`). */
  uri?: string;
}

/** One object of a reference that names many (an `s3://bucket/prefix/`), as its own entry. */
export interface ExpandedReference extends ReferenceDescription {
  /** The entry's path below the reference's name (the key after the prefix). */
  path: string;
}

/** How a reference is described: `checksum` reads the object for its sha256 where that is optional. */
export interface DescribeOptions {
  checksum?: boolean;
}

/**
 * Handles one URI scheme for `addReference` (`file`, `http`, `https`; later `s3`, `gs`, `hf`).
 * Register more with {@link registerReferenceHandler}.
 */
export interface ReferenceHandler {
  readonly schemes: readonly string[];
  /**
   * Set when the part before `@` in this scheme's authority is not a user name — `hf://gpt2@main/…`,
   * where it is the repo and `@` starts the revision. Otherwise (the default) a URI with `user@` or
   * `user:password@` is refused, since reference URIs are stored and printed. A password is
   * refused whatever this says.
   */
  readonly userPartIsNotCredential?: boolean;
  /** Reads the object once to record its size and sha256 (or, where the scheme allows, its ETag). */
  describe(uri: URL, options?: DescribeOptions): Promise<ReferenceDescription>;
  /**
   * For a URI that names many objects (a prefix): every object, each its own entry; undefined when
   * the URI names one object. More than `maxObjects` is an error, never a truncated list.
   */
  expand?(
    uri: URL,
    options: DescribeOptions & { maxObjects: number },
  ): Promise<ExpandedReference[] | undefined>;
  /**
   * False when the sha256 recorded for this URI stands for something else than the content (an
   * ETag): `download` then checks what was recorded itself and the reader checks only the size.
   */
  contentDigest?(uri: URL): boolean;
  /** Writes the object's bytes to `target` (the caller verifies the digest). */
  download(uri: URL, target: string): Promise<void>;
}

const handlers = new Map<string, ReferenceHandler>();

/** Makes a handler available for its schemes, replacing any previous one. */
export function registerReferenceHandler(handler: ReferenceHandler): void {
  for (const scheme of handler.schemes) handlers.set(scheme.toLowerCase(), handler);
}

/** `uri` with any `user:password@` (or `token@`) replaced by `***@`, and the query left out, for messages. */
export function redactUri(uri: string): string {
  const text = String(uri);
  const withoutQuery = text.replace(/[?#].*$/s, (rest) => (rest.startsWith('?') ? '?…' : rest));
  return withoutQuery.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/]*@/, '$1***@');
}

/**
 * True when a reference URL carries credentials: a password, or a user part — unless the scheme's
 * handler says its user part is not one (`hf://gpt2@main/…` names a repo and a revision).
 */
export function uriHasCredentials(uri: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (url.password !== '') return true;
  const handler = handlers.get(url.protocol.slice(0, -1).toLowerCase());
  return url.username !== '' && handler?.userPartIsNotCredential !== true;
}

function refuseCredentials(uri: string): void {
  if (!uriHasCredentials(uri)) return;
  const shown = redactUri(uri);
  throw new QuiverError(
    'E_INVALID_REF',
    `The reference ${shown} has credentials in its URL (the part before '@'). Reference URLs are stored in the manifest and printed, so put credentials in headers or environment variables (e.g. a token the handler reads, such as HF_TOKEN), not in the URL, and reference the URL without them.`,
    { details: { uri: shown } },
  );
}

/**
 * The handler for a URI, or a typed error listing the schemes that are supported. Every reference
 * goes through here (when it is added, when it is committed, when it is downloaded), so this is
 * also where a URI with credentials in it (`http://user:secret@host/…`, `https://token@host/…`) is
 * refused (`E_INVALID_REF`); the error shows the URI with the credentials replaced by `***`.
 */
export function referenceHandlerFor(uri: string): { url: URL; handler: ReferenceHandler } {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (error) {
    throw new QuiverError(
      'E_REFERENCE_SCHEME',
      `'${redactUri(uri)}' is not a URI; give one such as file:///data/train.csv or https://host/file.`,
      { cause: new Error((error as Error).message.replace(String(uri), redactUri(uri))) },
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
  refuseCredentials(uri);
  return { url, handler };
}
