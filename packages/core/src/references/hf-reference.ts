/**
 * `hf://` references: files in Hugging Face Hub repos at a fixed commit,
 * `hf://[datasets/|spaces/]<owner>/<name>@<revision>/<path>`. Read with the real
 * `@huggingface/hub` client from `HF_ENDPOINT` (default the public Hub) with `HF_TOKEN`, which is
 * sent as a credential and never recorded.
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { RepoDesignation } from '@huggingface/hub';
import { hashChunks } from '../blobs/copy-and-hash.js';
import { QuiverError } from '../contract/errors.js';
import type { ReferenceHandler } from './reference-handler.js';
import { retryingFetch } from './retrying-fetch.js';

/** A parsed `hf://` URI. */
export interface HfLocation {
  repo: RepoDesignation & { type: 'model' | 'dataset' | 'space' };
  revision: string;
  path: string;
}

const REPO_TYPES = { datasets: 'dataset', spaces: 'space' } as const;

/** The canonical `hf://` URI of a file (path segments percent-encoded). */
export function formatHfUri(location: {
  repo: string;
  revision: string;
  path: string;
  type?: 'model' | 'dataset' | 'space';
}): string {
  const prefix = location.type === 'dataset' ? 'datasets/' : location.type === 'space' ? 'spaces/' : '';
  const path = location.path.split('/').map(encodeURIComponent).join('/');
  return `hf://${prefix}${location.repo}@${encodeURIComponent(location.revision)}/${path}`;
}

/** Parses `hf://[datasets/|spaces/]owner/name@revision/path`; `E_INVALID_REF` says what is wrong. */
export function parseHfUri(uri: string): HfLocation {
  const invalid = (why: string): QuiverError =>
    new QuiverError(
      'E_INVALID_REF',
      `'${uri}' is not an hf:// reference (${why}); expected hf://<owner>/<name>@<revision>/<path>.`,
    );
  if (!uri.startsWith('hf://')) throw invalid('it does not start with hf://');
  const rest = uri.slice('hf://'.length);
  const at = rest.indexOf('@');
  if (at < 0) throw invalid('no @<revision>');
  let repoPart = rest.slice(0, at);
  let type: 'model' | 'dataset' | 'space' = 'model';
  for (const [prefix, kind] of Object.entries(REPO_TYPES)) {
    if (repoPart.startsWith(`${prefix}/`)) {
      type = kind;
      repoPart = repoPart.slice(prefix.length + 1);
    }
  }
  const slash = rest.indexOf('/', at);
  if (slash < 0) throw invalid('no file path after the revision');
  let revision: string;
  let path: string;
  try {
    revision = decodeURIComponent(rest.slice(at + 1, slash));
    path = rest
      .slice(slash + 1)
      .split('/')
      .map(decodeURIComponent)
      .join('/');
  } catch {
    throw invalid('a malformed %-escape');
  }
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(repoPart)) throw invalid(`'${repoPart}' is not a repo name`);
  if (!revision || !path) throw invalid('empty revision or path');
  return { repo: { type, name: repoPart }, revision, path };
}

/** Where the Hub is and the credential to use: `HF_ENDPOINT` and `HF_TOKEN` by default. */
export function hubConnection(options: { hubUrl?: string; token?: string } = {}): {
  hubUrl: string;
  accessToken?: string;
} {
  const hubUrl = (options.hubUrl ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const accessToken = options.token ?? process.env.HF_TOKEN;
  return { hubUrl, ...(accessToken ? { accessToken } : {}) };
}

/** The HTTP status of an `@huggingface/hub` error (`HubApiError.statusCode`), if it is one. */
function hubStatus(error: unknown): number | undefined {
  const candidate = error as { statusCode?: unknown; url?: unknown } | null;
  return error instanceof Error &&
    typeof candidate?.statusCode === 'number' &&
    typeof candidate.url === 'string'
    ? candidate.statusCode
    : undefined;
}

/** A Hub error as a QuiverError that names the status and what to do, never the token (scrubbed). */
export function hubError(error: unknown, what: string, token = process.env.HF_TOKEN): QuiverError {
  if (error instanceof QuiverError) return error;
  const status = hubStatus(error);
  const server = (error as Error)?.message ?? String(error);
  const said = token ? server.split(token).join('<token>') : server;
  const [code, advice] =
    status === 401
      ? (['E_HUB_UNAUTHORIZED', 'set HF_TOKEN (or the token option) to a valid token'] as const)
      : status === 403
        ? ([
            'E_HUB_FORBIDDEN',
            'the token lacks the permission: use a token with write access to the repo',
          ] as const)
        : status === 404
          ? (['E_HUB_NOT_FOUND', 'check the repo name, the revision and HF_ENDPOINT'] as const)
          : status === 409
            ? ([
                'E_HUB_CONFLICT',
                'the repo changed meanwhile or already exists; retry or choose another name',
              ] as const)
            : (['E_HUB_FAILED', 'check the connection to the Hub and retry'] as const);
  return new QuiverError(code, `${what} failed${status ? ` (HTTP ${status})` : ''}: ${said}; ${advice}.`, {
    cause: error,
    details: { ...(status ? { status } : {}) },
  });
}

async function open(location: HfLocation, uri: string): Promise<Readable> {
  const connection = hubConnection();
  let blob: Blob | null;
  try {
    // Loaded on first use: most programs never read an hf:// reference.
    const { downloadFile } = await import('@huggingface/hub');
    blob = await downloadFile({
      repo: location.repo,
      path: location.path,
      revision: location.revision,
      ...connection,
      xet: false,
      fetch: retryingFetch(),
    });
  } catch (error) {
    throw hubError(error, `Reading ${uri}`);
  }
  if (!blob)
    throw new QuiverError(
      'E_REFERENCE_FAILED',
      `${uri} does not exist on ${connection.hubUrl}; the file or revision is gone.`,
    );
  return Readable.fromWeb(blob.stream() as WebReadableStream<Uint8Array>);
}

/** The `hf` scheme: downloads through `@huggingface/hub`; describing reads and hashes the file once. */
export const hfReferenceHandler: ReferenceHandler = {
  schemes: ['hf'],
  // `hf://gpt2@main/config.json`: before '@' is the repo, not a user (a `:password` is still refused).
  userPartIsNotCredential: true,
  async describe(url) {
    return hashChunks(await open(parseHfUri(url.href), url.href));
  },
  async download(url, target) {
    await pipeline(await open(parseHfUri(url.href), url.href), createWriteStream(target, { flags: 'wx' }));
  },
};
