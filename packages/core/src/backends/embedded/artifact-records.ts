import { QuiverError } from '../../contract/errors.js';
import type {
  ArtifactRef,
  ArtifactSummary,
  ArtifactVersionInfo,
  JsonObject,
  ManifestEntry,
  Page,
  PageRequest,
} from '../../contract/index.js';
import { assertStoredManifest, isSha256 } from '../../manifest-validation.js';
import { parseStoredJsonObject } from '../../metadata.js';
import { formatArtifactRef } from '../../ref.js';
import type { EmbeddedContext as Store } from './context.js';
import type { Executor } from './database/connection.js';
import { withKey } from './keys.js';
import { decodeCursor, pageOf, pageSize } from './paging.js';

type VersionRow = {
  id: number;
  uid: string;
  entity: string;
  project: string;
  name: string;
  type: string;
  version: number;
  digest: string;
  description: string | null;
  metadata: string;
  size: number;
  file_count: number;
  created_at: string;
  produced_by_run: string | null;
};

/** Committed versions joined with their artifact, ready for {@link toVersionInfos}. */
export function selectVersions(db: Executor) {
  return db
    .selectFrom('artifact_versions as v')
    .innerJoin('artifacts as a', 'a.id', 'v.artifact_id')
    .select([
      'v.id',
      'v.uid',
      'a.entity',
      'a.project',
      'a.name',
      'a.type',
      'v.version',
      'v.digest',
      'v.description',
      'v.metadata',
      'v.size',
      'v.file_count',
      'v.created_at',
      'v.produced_by_run',
    ])
    .where('v.state', '=', 'committed');
}

/** Adds aliases and tags to version rows (two queries, whatever the number of rows). */
export async function toVersionInfos(
  db: Executor,
  rows: readonly VersionRow[],
  options: { lenient?: boolean } = {},
): Promise<ArtifactVersionInfo[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((row) => row.id);
  const aliases = new Map<number, string[]>();
  const tags = new Map<number, string[]>();
  for (let offset = 0; offset < ids.length; offset += 5000) {
    const chunk = ids.slice(offset, offset + 5000);
    for (const row of await db
      .selectFrom('aliases')
      .select(['version_id', 'alias'])
      .where('version_id', 'in', chunk)
      .orderBy('alias')
      .execute()) {
      aliases.set(row.version_id, [...(aliases.get(row.version_id) ?? []), row.alias]);
    }
    for (const row of await db
      .selectFrom('version_tags')
      .select(['version_id', 'tag'])
      .where('version_id', 'in', chunk)
      .orderBy('tag')
      .execute()) {
      tags.set(row.version_id, [...(tags.get(row.version_id) ?? []), row.tag]);
    }
  }
  return rows.map((row) => {
    try {
      return checkedVersion(row, aliases, tags);
    } catch (error) {
      // Listings and deletes still show (and can remove) a version whose record is corrupt.
      if (!options.lenient) throw error;
      return untrustedVersion(row, aliases, tags, (error as Error).message);
    }
  });
}

/** The fields of a version taken from its row as they are (aliases and tags joined in). */
function versionFromRow(
  row: VersionRow,
  aliases: ReadonlyMap<number, string[]>,
  tags: ReadonlyMap<number, string[]>,
  parsed: { metadata: JsonObject; size: number; fileCount: number },
): ArtifactVersionInfo {
  return withKey(
    {
      id: row.uid,
      entity: row.entity,
      project: row.project,
      name: row.name,
      type: row.type,
      version: row.version,
      ref: formatArtifactRef({
        entity: row.entity,
        project: row.project,
        name: row.name,
        version: row.version,
      }),
      digest: row.digest,
      description: row.description,
      ...parsed,
      createdAt: row.created_at,
      producedBy: row.produced_by_run,
      aliases: aliases.get(row.id) ?? [],
      tags: tags.get(row.id) ?? [],
    },
    row.id,
  );
}

/** A version whose record failed {@link checkedVersion}, with `problem` set and nothing parsed. */
function untrustedVersion(
  row: VersionRow,
  aliases: ReadonlyMap<number, string[]>,
  tags: ReadonlyMap<number, string[]>,
  problem: string,
): ArtifactVersionInfo {
  const size = Number(row.size);
  const version = {
    ...versionFromRow(row, aliases, tags, {
      metadata: {},
      size: Number.isSafeInteger(size) && size >= 0 ? size : 0,
      fileCount: Number.isSafeInteger(row.file_count) && row.file_count >= 0 ? row.file_count : 0,
    }),
    problem,
  };
  return withKey(version, row.id);
}

/** Builds a version from its row, refusing values that cannot have been stored by Quiver. */
function checkedVersion(
  row: VersionRow,
  aliases: ReadonlyMap<number, string[]>,
  tags: ReadonlyMap<number, string[]>,
): ArtifactVersionInfo {
  const ref = formatArtifactRef({
    entity: row.entity,
    project: row.project,
    name: row.name,
    version: row.version,
  });
  const corrupt = (what: string): QuiverError =>
    new QuiverError(
      'E_CORRUPT_MANIFEST',
      `The stored record of ${ref} is not trustworthy: ${what}. Run 'quiver verify' and re-log the artifact from its source.`,
      { details: { ref } },
    );
  if (!isSha256(row.digest)) throw corrupt('its digest is not a sha256');
  const size = Number(row.size);
  if (!Number.isSafeInteger(size) || size < 0) throw corrupt(`its size (${String(row.size)}) is impossible`);
  if (!Number.isSafeInteger(row.file_count) || row.file_count < 0)
    throw corrupt(`its file count (${String(row.file_count)}) is impossible`);
  let metadata: JsonObject;
  try {
    metadata = parseStoredJsonObject(row.metadata, 'metadata');
  } catch (error) {
    throw corrupt(`its metadata is not usable (${(error as Error).message})`);
  }
  return versionFromRow(row, aliases, tags, { metadata, size, fileCount: row.file_count });
}

/** Loads one committed version by id. */
export async function versionById(db: Executor, id: number): Promise<ArtifactVersionInfo | undefined> {
  const row = await selectVersions(db).where('v.id', '=', id).executeTakeFirst();
  return row ? (await toVersionInfos(db, [row]))[0] : undefined;
}

/** Resolves a parsed artifact ref to a committed version, or throws `E_NOT_FOUND`. */
export async function resolveArtifactRef(
  store: Store,
  parsed: ArtifactRef,
  db: Executor = store.connection.db,
  options: { lenient?: boolean } = {},
): Promise<ArtifactVersionInfo> {
  const ref = formatArtifactRef(parsed);
  const entity = parsed.entity ?? store.principal.entity;
  let query = selectVersions(db)
    .where('a.entity', '=', entity)
    .where('a.project', '=', parsed.project)
    .where('a.name', '=', parsed.name);
  if (parsed.version !== undefined) {
    query = query.where('v.version', '=', parsed.version);
  } else {
    query = query.innerJoin('aliases as al', (join) =>
      // Joining on the artifact too lets the database use the (artifact_id, alias) key directly.
      join
        .onRef('al.version_id', '=', 'v.id')
        .onRef('al.artifact_id', '=', 'a.id')
        .on('al.alias', '=', parsed.alias ?? 'latest'),
    );
  }
  const row = await query.executeTakeFirst();
  if (!row) {
    const exists = await db
      .selectFrom('artifacts')
      .select('id')
      .where('entity', '=', entity)
      .where('project', '=', parsed.project)
      .where('name', '=', parsed.name)
      .executeTakeFirst();
    const what = exists
      ? parsed.version !== undefined
        ? `version v${parsed.version} does not exist or was deleted`
        : `no version holds the alias '${parsed.alias}'`
      : `there is no artifact '${parsed.name}' in ${entity}/${parsed.project}`;
    throw new QuiverError(
      'E_NOT_FOUND',
      `Cannot resolve '${ref}': ${what}. List versions with 'quiver artifact ls ${parsed.project}/${parsed.name}'.`,
      {
        details: { ref },
      },
    );
  }
  return (await toVersionInfos(db, [row], options))[0]!;
}

/**
 * The entries of a version, sorted by path, checked against the version before anyone uses them:
 * every path, size and digest is validated again with the rules it was accepted under, and the
 * sha256 over the entries must equal the version's digest (`E_CORRUPT_MANIFEST` otherwise), so a
 * row changed in the database can neither escape a download folder nor pass other content off as
 * this version's.
 */
export async function versionEntries(
  db: Executor,
  version: Pick<ArtifactVersionInfo, 'ref' | 'digest' | 'fileCount'> & { key: number },
): Promise<ManifestEntry[]> {
  const rows = await db
    .selectFrom('manifest_entries')
    .selectAll()
    .where('version_id', '=', version.key)
    .orderBy('path')
    .execute();
  const entries = rows.map((row) => ({
    path: row.path,
    sha256: row.sha256,
    size: Number(row.size),
    ...(row.ref_uri !== null ? { ref: row.ref_uri } : {}),
  }));
  if (entries.length === 0) {
    // A deleted version keeps its row but no entries.
    const row = await db
      .selectFrom('artifact_versions')
      .select('state')
      .where('id', '=', version.key)
      .executeTakeFirst();
    if (row?.state === 'deleted') return [];
  }
  assertStoredManifest(entries, version);
  return entries;
}

/** Versions of one artifact, newest first, a page at a time (corrupt ones listed with `problem`). */
export async function listVersions(
  store: Store,
  artifact: { entity: string; project: string; name: string },
  request: PageRequest = {},
): Promise<Page<ArtifactVersionInfo>> {
  const limit = pageSize(request);
  const after = decodeCursor(request.cursor, { v: 'number' });
  return store.connection.readTransaction(async (db) => {
    let query = selectVersions(db)
      .where('a.entity', '=', artifact.entity)
      .where('a.project', '=', artifact.project)
      .where('a.name', '=', artifact.name)
      .orderBy('v.version', 'desc')
      .limit(limit + 1);
    if (after) query = query.where('v.version', '<', after.v);
    const rows = await query.execute();
    const page = pageOf(
      rows,
      limit,
      (row) => row,
      (row) => ({ v: row.version }),
    );
    return { items: await toVersionInfos(db, page.items, { lenient: true }), next: page.next };
  });
}

/** Artifacts, optionally of one project, with their version counts, a page at a time. */
export async function listArtifacts(
  store: Store,
  filter: { entity?: string; project?: string } & PageRequest = {},
): Promise<Page<ArtifactSummary>> {
  const limit = pageSize(filter);
  const after = decodeCursor(filter.cursor, { e: 'string', p: 'string', n: 'string' });
  let query = store.connection.db
    .selectFrom('artifacts as a')
    .leftJoin('artifact_versions as v', (join) =>
      join.onRef('v.artifact_id', '=', 'a.id').on('v.state', '=', 'committed'),
    )
    .select((eb) => [
      'a.entity',
      'a.project',
      'a.name',
      'a.type',
      'a.created_at',
      eb.fn.count<number>('v.id').as('versions'),
      eb.fn.max('v.version').as('latest'),
    ])
    .groupBy(['a.id', 'a.entity', 'a.project', 'a.name', 'a.type', 'a.created_at'])
    .orderBy('a.entity')
    .orderBy('a.project')
    .orderBy('a.name')
    .limit(limit + 1);
  if (filter.entity) query = query.where('a.entity', '=', filter.entity);
  if (filter.project) query = query.where('a.project', '=', filter.project);
  if (after)
    query = query.where((eb) =>
      eb.or([
        eb('a.entity', '>', after.e),
        eb.and([eb('a.entity', '=', after.e), eb('a.project', '>', after.p)]),
        eb.and([eb('a.entity', '=', after.e), eb('a.project', '=', after.p), eb('a.name', '>', after.n)]),
      ]),
    );
  return pageOf(
    await query.execute(),
    limit,
    (row) => ({
      entity: row.entity,
      project: row.project,
      name: row.name,
      type: row.type,
      versions: Number(row.versions),
      latest: row.latest === null ? null : Number(row.latest),
      createdAt: row.created_at,
    }),
    (row) => ({ e: row.entity, p: row.project, n: row.name }),
  );
}

/** The entries of the version with this public id (committed or deleted), checked as {@link versionEntries} does. */
export async function entriesByUid(db: Executor, uid: string): Promise<ManifestEntry[]> {
  const row = await db
    .selectFrom('artifact_versions as v')
    .innerJoin('artifacts as a', 'a.id', 'v.artifact_id')
    .select(['v.id', 'a.entity', 'a.project', 'a.name', 'v.version', 'v.digest', 'v.file_count'])
    .where('v.uid', '=', String(uid))
    .executeTakeFirst();
  if (!row) throw new QuiverError('E_NOT_FOUND', `No version has the id '${uid}'.`, { details: { id: uid } });
  const ref = formatArtifactRef({
    entity: row.entity,
    project: row.project,
    name: row.name,
    version: row.version,
  });
  return versionEntries(db, { key: row.id, ref, digest: row.digest, fileCount: row.file_count });
}

/** Most entries per page of {@link entriesPage}. */
const MAX_FILES_PAGE = 1000;

/** A version's entries in path order, a page at a time (only paths under `prefix` when given). */
export async function entriesPage(
  db: Executor,
  uid: string,
  request: PageRequest & { prefix?: string } = {},
): Promise<Page<ManifestEntry>> {
  const limit = Math.min(pageSize(request), MAX_FILES_PAGE);
  const after = decodeCursor(request.cursor, { p: 'string' });
  if (request.prefix !== undefined && (typeof request.prefix !== 'string' || request.prefix.length > 4096))
    throw new QuiverError('E_INVALID_OPTION', 'prefix is a path of at most 4096 characters.');
  const all = await entriesByUid(db, uid);
  const sorted = all
    .filter((entry) => request.prefix === undefined || entry.path.startsWith(request.prefix))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  let start = 0;
  if (after) {
    // The first path after the cursor's (binary search: the list is sorted).
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (sorted[middle]!.path <= after.p) low = middle + 1;
      else high = middle;
    }
    start = low;
  }
  return pageOf(
    sorted.slice(start, start + limit + 1),
    limit,
    (entry) => entry,
    (entry) => ({ p: entry.path }),
  );
}
