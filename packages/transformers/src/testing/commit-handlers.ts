/**
 * The two API steps of an upload around the LFS transfer:
 * - `POST /api/{type}s/{repo}/preupload/{rev}`: which files go through LFS;
 * - `POST /api/{type}s/{repo}/commit/{rev}`: the NDJSON commit, a `header` line then one line
 *   per operation (`file` inline base64/utf-8, `lfsFile` by sha256, `deletedFile`,
 *   `deletedFolder`), with `?create_pr=1` opening a pull request (`refs/pr/N`).
 */

import { lfsPatterns } from './git-objects.js';
import { decideUploadMode, type Handler } from './hub-context.js';
import { badRequest, revisionNotFound } from './hub-errors.js';
import { json, readBody, readJson } from './hub-http.js';
import type { CommitOperation } from './repo-store.js';

const preupload: Handler = async ({ store, access, settings }, { route, request, caller }) => {
  const repo = access.requireWrite(caller, store.get(route.repo?.key ?? ''));
  const revision = route.revision as string;
  if (!repo.refs.has(revision)) throw revisionNotFound(revision);
  const head = store.resolve(repo, revision);
  const body = await readJson(request, settings.maxJsonBodySize);
  if (!Array.isArray(body.files)) throw badRequest('Missing files');
  let gitattributes = typeof body.gitAttributes === 'string' ? body.gitAttributes : undefined;
  if (gitattributes === undefined) {
    const current = head.files.get('.gitattributes');
    gitattributes = current ? (store.content(repo, current)?.toBuffer().toString('utf8') ?? '') : '';
  }
  const patterns = lfsPatterns(gitattributes);
  const files = (body.files as unknown[]).map((value) => {
    const file = (value ?? {}) as { path?: unknown; size?: unknown; sample?: unknown };
    if (typeof file.path !== 'string' || typeof file.size !== 'number' || typeof file.sample !== 'string') {
      throw badRequest('Each file needs a path, a size and a base64 sample');
    }
    const sample = Buffer.from(file.sample, 'base64');
    const uploadMode = decideUploadMode(
      settings,
      { repo: repo.key, path: file.path, size: file.size, sample },
      patterns,
    );
    const existing = head.files.get(file.path);
    return {
      path: file.path,
      uploadMode,
      shouldIgnore: false,
      ...(uploadMode === 'regular' && existing && !existing.lfs && { oid: existing.oid }),
    };
  });
  return json({ files, commitOid: head.oid });
};

const commit: Handler = async ({ store, access, settings, baseUrl }, { route, request, url, caller }) => {
  const repo = access.requireWrite(caller, store.get(route.repo?.key ?? ''));
  const lines = (await readBody(request, settings.maxJsonBodySize))
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(parseLine);
  const [header, ...rest] = lines;
  if (header?.key !== 'header') throw badRequest('The first line must be the header');
  const { summary, description, parentCommit } = header.value as Record<string, unknown>;
  if (typeof summary !== 'string' || summary.trim() === '') throw badRequest('The commit needs a summary');
  const result = store.commit(repo, {
    branch: route.revision as string,
    pullRequest: url.searchParams.get('create_pr') === '1',
    ...(typeof parentCommit === 'string' && { parentCommit }),
    summary,
    ...(typeof description === 'string' && { description }),
    author: caller.anonymous ? '' : caller.user,
    operations: rest.map(toOperation),
  });
  return json({
    success: true,
    commitOid: result.commit.oid,
    commitUrl: `${baseUrl}/${repo.key}/commit/${result.commit.oid}`,
    hookOutput: '',
    ...(result.pullRequest !== undefined && {
      pullRequestUrl: `${baseUrl}/${repo.key}/discussions/${result.pullRequest}`,
    }),
  });
};

function parseLine(line: string): { key: string; value: unknown } {
  try {
    const parsed = JSON.parse(line) as { key?: unknown; value?: unknown };
    if (typeof parsed.key === 'string' && typeof parsed.value === 'object' && parsed.value !== null) {
      return { key: parsed.key, value: parsed.value };
    }
  } catch {
    // Reported below.
  }
  throw badRequest(`Invalid NDJSON line: ${line.slice(0, 200)}`);
}

function toOperation({ key, value }: { key: string; value: unknown }): CommitOperation {
  const fields = value as {
    path?: unknown;
    content?: unknown;
    encoding?: unknown;
    oldPath?: unknown;
    oid?: unknown;
    algo?: unknown;
    size?: unknown;
  };
  if (typeof fields.path !== 'string') throw badRequest(`A ${key} line needs a path`);
  const path = fields.path;
  const copy =
    typeof fields.oldPath === 'string' ? { kind: 'copy' as const, path, from: fields.oldPath } : undefined;
  switch (key) {
    case 'file':
      if (typeof fields.content !== 'string') {
        if (copy) return copy;
        throw badRequest(`File ${path} has no content`);
      }
      return {
        kind: 'file',
        path,
        content: Buffer.from(fields.content, fields.encoding === 'base64' ? 'base64' : 'utf8'),
      };
    case 'lfsFile':
      if (fields.oid === undefined && copy) return copy;
      if (
        typeof fields.oid !== 'string' ||
        !/^[0-9a-f]{64}$/.test(fields.oid) ||
        (fields.algo ?? 'sha256') !== 'sha256'
      ) {
        throw badRequest(`LFS file ${path} needs a sha256 oid`);
      }
      return {
        kind: 'lfsFile',
        path,
        oid: fields.oid,
        ...(typeof fields.size === 'number' && { size: fields.size }),
      };
    case 'deletedFile':
      return { kind: 'deleteFile', path };
    case 'deletedFolder':
      return { kind: 'deleteFolder', path };
    default:
      throw badRequest(`Unknown operation: ${key}`);
  }
}

export const commitHandlers = { preupload, commit } satisfies Record<string, Handler>;
