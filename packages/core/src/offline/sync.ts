import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { EmbeddedBackend } from '../backends/embedded/index.js';
import { isQuiverError, QuiverError } from '../contract/errors.js';
import type {
  ArtifactVersionInfo,
  ManifestEntry,
  QuiverBackendV1,
  QuiverEvent,
  RegistryRef,
  RunInfo,
  StagedBlob,
} from '../contract/index.js';
import { formatArtifactRef, formatRegistryRef, parseArtifactRef, parseRef } from '../ref.js';
import { serverKeyOf } from '../settings.js';
import type { Store } from '../store.js';
import {
  type BundleInfo,
  bundleName,
  DEFERRED_FILE,
  openBundleStore,
  readBundleInfo,
  USES_FILE,
  writeFileAtomically,
} from './bundle.js';
import { offlineUses } from './ref-cache.js';

/** What happened to one record of a bundle. */
export type SyncOutcome =
  /** Sent now. */
  | 'sent'
  /** The server held it already (a sync before, or a sync killed after sending it). */
  | 'present'
  /** Not applied because the server changed meanwhile; `detail` says what was kept. */
  | 'conflict'
  /** The server refused it (e.g. a protected alias this user may not set); `detail` says why. */
  | 'refused'
  /** Not sent on purpose (e.g. a version deleted in the bundle before it was ever synced). */
  | 'skipped'
  /** `dryRun`: would be sent. */
  | 'would-send';

/** One record of a bundle and what sync did with it. */
export interface SyncRecord {
  kind: 'run' | 'history' | 'version' | 'alias' | 'tag' | 'delete' | 'use' | 'model' | 'link' | 'state';
  /** What it is about, in the server's terms where it has been mapped (`entity/project/name:vN`). */
  subject: string;
  outcome: SyncOutcome;
  detail?: string;
}

/** What a sync of one bundle did. */
export interface SyncReport {
  bundle: string;
  runId: string;
  /** The run on the server: `entity/project/id`. */
  run: string;
  records: SyncRecord[];
  /** History steps sent (re-sending the last one, which a live run may still extend, counts). */
  steps: number;
  /** Versions committed on the server this time. */
  versions: number;
  /** Blobs and bytes the server lacked and that were uploaded this time. */
  blobsUploaded: number;
  bytesUploaded: number;
  conflicts: number;
  refused: number;
  /** True when the bundle's run had ended and everything it holds is now on the server. */
  complete: boolean;
  dryRun: boolean;
}

/** Progress of a sync, for bars. */
export interface SyncProgress {
  bundle: string;
  phase: 'history' | 'versions' | 'upload' | 'done';
  /** Records (events) handled of those known so far, and bytes uploaded of those to upload. */
  done: number;
  total: number;
  bytes: number;
  totalBytes: number;
}

/** Options of {@link syncBundle}. */
export interface SyncOptions {
  /** List what would be sent; send nothing and record nothing. */
  dryRun?: boolean;
  onProgress?: (progress: SyncProgress) => void;
}

/**
 * What a bundle remembers of its syncs to one server (`sync/<server>.json`): how far it got, and
 * which server record each bundle record became. Only a cache of the server's answers — every
 * write is idempotent, so a lost or stale state only costs questions, never a duplicate.
 */
const stateSchema = z.strictObject({
  target: z.string(),
  entity: z.string(),
  /** The last bundle event applied. */
  position: z.number().int().min(0),
  /** The last history step sent (-1: none). */
  historyStep: z.number().int().min(-1),
  /** Bundle version ref (`entity/project/name:vN`) → server version ref. */
  versions: z.record(z.string(), z.string()),
  /** Server versions these syncs created (not equal content found there): the only ones a delete may remove. */
  created: z.array(z.string()).default([]),
  /** Lines of `deferred.jsonl` applied. */
  deferred: z.number().int().min(0).default(0),
  /** Bundle registry version ref → server registry version ref. */
  links: z.record(z.string(), z.string()),
  /** Bundle version refs whose use by the run was recorded. */
  uses: z.array(z.string()),
  ended: z.boolean(),
});
type SyncState = z.infer<typeof stateSchema>;

const HISTORY_BATCH = 10_000;

// Event bodies read back from a bundle are input too: a copied folder may hold anything.
const aliasBody = z.object({ alias: z.string().min(1).max(128), version: z.number().int().min(0) });
const tagsBody = z.object({ tags: z.array(z.string().max(256)).max(1000) });
const deletedBody = z.object({ aliases: z.array(z.string().max(128)).max(1000).optional() });
const linkBody = z.object({ version: z.number().int().min(0), source: z.string().min(1).max(1024) });

function bodyOf<T>(schema: z.ZodType<T>, value: unknown, event: QuiverEvent): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new QuiverError(
      'E_INVALID_BUNDLE',
      `Event ${event.position} (${event.action} ${event.subject}) of the bundle is malformed; the bundle is damaged. What came before it was sent.`,
      { details: { position: event.position } },
    );
  return parsed.data;
}

/** The server target's key, naming its state file: where it is and who it is for. */
function targetOf(target: Pick<Store, 'settings' | 'backend'>): string {
  return serverKeyOf(target.settings.remote?.baseUrl ?? target.backend.blobs.location);
}

function stateFile(bundle: string, target: string, entity: string): string {
  const key = createHash('sha256').update(`${target}\n${entity}`).digest('hex').slice(0, 16);
  return join(bundle, 'sync', `${key}.json`);
}

function readState(file: string, target: string, entity: string): SyncState {
  const fresh: SyncState = {
    target,
    entity,
    position: 0,
    historyStep: -1,
    versions: {},
    created: [],
    deferred: 0,
    links: {},
    uses: [],
    ended: false,
  };
  if (!existsSync(file)) return fresh;
  try {
    const parsed = stateSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    // A damaged state is only a lost cache: start again, and let idempotence find what is there.
    if (parsed.success && parsed.data.target === target && parsed.data.entity === entity) return parsed.data;
  } catch {}
  return fresh;
}

function saveState(file: string, state: SyncState, dryRun: boolean): void {
  if (dryRun) return;
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileAtomically(file, `${JSON.stringify(state)}\n`);
}

function notFound(error: unknown): boolean {
  return isQuiverError(error) && error.code === 'E_NOT_FOUND';
}

/**
 * Sends one offline bundle to `target` (a store on the team server, usually): the run, every
 * history step, the versions (uploading only the blobs the server lacks), their aliases and tags,
 * deletes, the run's uses, registry links and aliases, and the run's final state. Safe to run any
 * number of times, at any moment (also while the run is still writing, and after a kill): every
 * write is keyed by ids made on the client or by content, and checked against the server first.
 *
 * Version numbers are the server's: the bundle's `v0` becomes the artifact's next number there,
 * and the aliases, links and uses that name it follow. An alias the bundle moves is moved on the
 * server only when the server's alias is still where the bundle last saw it (unset, for a bundle
 * that never saw the server); otherwise the server's placement is kept and the record is
 * reported as a `conflict` naming both versions. A write the server refuses (a protected alias
 * for a member) is reported as `refused`; the rest of the bundle syncs.
 */
export async function syncBundle(
  path: string,
  target: Pick<Store, 'settings' | 'backend'>,
  options: SyncOptions = {},
): Promise<SyncReport> {
  const info = readBundleInfo(path);
  const dryRun = options.dryRun === true;
  const server = target.backend;
  const entity = info.entity ?? server.principal.entity;
  const targetName = targetOf(target);
  const file = stateFile(path, targetName, entity);
  const state = readState(file, targetName, entity);
  const bundleStore = await openBundleStore(path, target.settings);
  try {
    return await new BundleSync(
      path,
      info,
      bundleStore.backend,
      server,
      entity,
      state,
      file,
      options,
      dryRun,
    ).run();
  } finally {
    await bundleStore.close();
  }
}

class BundleSync {
  private readonly records: SyncRecord[] = [];
  /** Dry runs: the bundle versions this sync would commit. */
  private readonly wouldCommit = new Set<string>();
  private readonly report: Omit<SyncReport, 'records' | 'complete' | 'conflicts' | 'refused'>;
  private eventsTotal = 0;
  private eventsDone = 0;

  constructor(
    private readonly path: string,
    private readonly info: BundleInfo,
    private readonly bundle: EmbeddedBackend,
    private readonly server: QuiverBackendV1,
    private readonly entity: string,
    private readonly state: SyncState,
    private readonly file: string,
    private readonly options: SyncOptions,
    private readonly dryRun: boolean,
  ) {
    this.report = {
      bundle: path,
      runId: info.runId,
      run: `${entity}/${info.project}/${info.runId}`,
      steps: 0,
      versions: 0,
      blobsUploaded: 0,
      bytesUploaded: 0,
      dryRun,
    };
  }

  private record(record: SyncRecord): void {
    this.records.push(record);
  }

  private save(): void {
    saveState(this.file, this.state, this.dryRun);
  }

  private progress(phase: SyncProgress['phase'], bytes = 0, totalBytes = 0): void {
    this.options.onProgress?.({
      bundle: bundleName(this.path),
      phase,
      done: this.eventsDone,
      total: this.eventsTotal,
      bytes,
      totalBytes,
    });
  }

  /** A ref of the bundle in the server's entity. */
  private serverEntityRef(ref: string): string {
    const parsed = parseArtifactRef(ref);
    return formatArtifactRef({ ...parsed, entity: this.entity });
  }

  async run(): Promise<SyncReport> {
    const run = await this.bundle.runs.get(this.info.runId);
    // The run's state as it was before anything was read: only a run that had ended by then is
    // wholly in what follows (a live run may add records while this sync reads).
    const ended = run.state !== 'running';
    await this.syncRun(run);
    await this.syncHistory(run);
    await this.syncEvents();
    await this.syncDeferred();
    await this.syncUses();
    if (ended) await this.syncState(run);
    this.progress('done');
    const conflicts = this.records.filter((record) => record.outcome === 'conflict').length;
    const refused = this.records.filter((record) => record.outcome === 'refused').length;
    return { ...this.report, records: this.records, conflicts, refused, complete: ended && !this.dryRun };
  }

  private async syncRun(run: RunInfo): Promise<void> {
    const subject = this.report.run;
    const existing = await this.server.runs.get(run.id).catch((error: unknown) => {
      if (notFound(error)) return undefined;
      throw error;
    });
    if (existing) {
      if (existing.project !== run.project || existing.entity !== this.entity)
        throw new QuiverError(
          'E_ALREADY_EXISTS',
          `The server already has a run ${run.id} in ${existing.entity}/${existing.project}, not this bundle's ${subject}. Nothing was sent from ${this.path}.`,
          { details: { runId: run.id } },
        );
      this.record({ kind: 'run', subject, outcome: 'present' });
      return;
    }
    if (this.dryRun) {
      this.record({ kind: 'run', subject, outcome: 'would-send' });
      return;
    }
    await this.server.runs.create({
      id: run.id,
      entity: this.entity,
      project: run.project,
      name: run.name,
      jobType: run.jobType,
      group: run.group,
      tags: run.tags,
      notes: run.notes,
      config: run.config,
      host: run.host,
      pid: run.pid,
    });
    this.record({ kind: 'run', subject, outcome: 'sent' });
  }

  private async syncHistory(run: RunInfo): Promise<void> {
    this.progress('history');
    let cursor: string | null | undefined;
    let sent = 0;
    // From the last step sent, inclusive: a live run may still have added keys to it.
    const from = Math.max(0, this.state.historyStep);
    let first = true;
    while (first || cursor) {
      first = false;
      const page = await this.bundle.runs.history(run.id, {
        ...(cursor ? { cursor } : {}),
        limit: HISTORY_BATCH,
      });
      cursor = page.next;
      const rows = page.items
        .filter((row) => (row._step ?? -1) >= from)
        .map((row) => {
          const { _step, ...metrics } = row;
          return { step: _step!, metrics };
        });
      if (rows.length === 0) continue;
      if (!this.dryRun) await this.server.runs.appendHistory(run.id, { rows, summary: run.summary });
      sent += rows.length;
      this.state.historyStep = rows[rows.length - 1]!.step;
      this.save();
    }
    this.report.steps = sent;
    if (sent > 0)
      this.record({
        kind: 'history',
        subject: this.report.run,
        outcome: this.dryRun ? 'would-send' : 'sent',
        detail: `${sent} step(s)`,
      });
  }

  private async syncEvents(): Promise<void> {
    const events: QuiverEvent[] = [];
    for (let after = this.state.position; ; ) {
      const batch = await this.bundle.events.read({ after, limit: 1000 });
      if (batch.length === 0) break;
      events.push(...batch);
      after = batch[batch.length - 1]!.position;
    }
    this.eventsTotal = events.length;
    this.progress('versions');
    for (const event of events) {
      try {
        await this.apply(event);
      } catch (error) {
        // A record the server refuses (a type mismatch, a role it lacks, a linked version) is
        // reported on its own, and the rest of the bundle goes on; what cannot reach the server,
        // or a damaged bundle, stops the sync here, to be run again.
        if (!refusable(error)) throw error;
        this.record({
          kind: kindOf(event),
          subject: event.subject,
          outcome: 'refused',
          detail: `${(error as QuiverError).message} (${(error as QuiverError).code})`,
        });
      }
      this.state.position = event.position;
      this.save();
      this.eventsDone += 1;
      this.progress('versions');
    }
  }

  private async apply(event: QuiverEvent): Promise<void> {
    switch (event.action) {
      case 'version.create':
        return this.syncVersion(event);
      case 'artifact.alias.set':
      case 'artifact.alias.move':
        return this.syncAlias(event);
      case 'artifact.alias.remove':
        return this.syncAliasRemoval(event);
      case 'version.tag':
      case 'version.untag':
        return this.syncTags(event);
      case 'version.delete':
        return this.syncDelete(event);
      case 'model.create':
      case 'model.card':
      case 'model.tag':
      case 'model.untag':
        return this.syncModel(event);
      case 'link':
        return this.syncLink(event);
      case 'alias.set':
      case 'alias.move':
        return this.syncRegistryAlias(event);
      case 'run.finish':
      case 'run.fail':
      case 'run.crash':
        // Sent last (syncState).
        return;
      default:
        // unlink, registry alias removal, model rename, untag, delete: not replayed.
        this.record({
          kind: kindOf(event),
          subject: event.subject,
          outcome: 'skipped',
          detail: `'${event.action}' is not replayed by sync; do it on the server if it should hold there`,
        });
        return;
    }
  }

  /** The bundle version an event's subject (`entity/project/name:vN`) names, or undefined when deleted since. */
  private async bundleVersion(ref: string): Promise<ArtifactVersionInfo | undefined> {
    try {
      return (await this.bundle.artifacts.resolve(ref)).version;
    } catch (error) {
      if (notFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Records a record whose version has no server counterpart: in a dry run, one that this run
   * would commit first (`would-send`); else a version the bundle dropped before any sync.
   */
  private unsynced(kind: SyncRecord['kind'], subject: string, bundleRef: string): void {
    if (this.dryRun && this.wouldCommit.has(bundleRef)) this.record({ kind, subject, outcome: 'would-send' });
    else this.record({ kind, subject, outcome: 'skipped', detail: 'its version was never synced' });
  }

  /** The server ref a bundle version (by its canonical bundle ref) became, if it was synced. */
  private mapped(bundleRef: string): string | undefined {
    return this.state.versions[bundleRef];
  }

  private async syncVersion(event: QuiverEvent): Promise<void> {
    const version = await this.bundleVersion(event.subject);
    if (!version) {
      this.record({
        kind: 'version',
        subject: event.subject,
        outcome: 'skipped',
        detail: 'deleted in the bundle before it was synced',
      });
      return;
    }
    const entries = await this.bundle.artifacts.entries(version.id);
    const subject = this.serverEntityRef(`${version.entity}/${version.project}/${version.name}`);
    if (this.dryRun) {
      this.wouldCommit.add(version.ref);
      const missing = await this.server.artifacts.missingBlobs(stored(entries));
      this.record({
        kind: 'version',
        subject: `${subject} (bundle ${version.ref})`,
        outcome: 'would-send',
        detail: `${entries.length} file(s), ${missing.length} blob(s) to upload`,
      });
      return;
    }
    for (let attempt = 1; ; attempt += 1) {
      await this.upload(entries);
      try {
        const result = await this.server.artifacts.commit({
          entity: this.entity,
          project: version.project,
          name: version.name,
          type: version.type,
          description: version.description,
          metadata: version.metadata,
          manifest: entries,
          runId: version.producedBy,
          aliases: [],
          tags: version.tags,
        });
        this.state.versions[version.ref] = result.version.ref;
        if (!result.deduplicated) {
          this.report.versions += 1;
          this.state.created.push(result.version.ref);
        }
        this.record({
          kind: 'version',
          subject: result.version.ref,
          outcome: result.deduplicated ? 'present' : 'sent',
          detail: `bundle ${version.ref}`,
        });
        return;
      } catch (error) {
        // A gc on the server took a blob between the upload and the commit: upload again.
        if (isQuiverError(error) && error.code === 'E_CONCURRENT_GC' && attempt < 3) continue;
        throw error;
      }
    }
  }

  private async upload(entries: readonly ManifestEntry[]): Promise<void> {
    const blobs = stored(entries);
    const missing = new Set(await this.server.artifacts.missingBlobs(blobs));
    const todo = [
      ...new Map(blobs.filter((blob) => missing.has(blob.sha256)).map((b) => [b.sha256, b])).values(),
    ];
    if (todo.length === 0) return;
    const totalBytes = todo.reduce((sum, blob) => sum + blob.size, 0);
    const local = this.bundle.blobs.localPath?.bind(this.bundle.blobs);
    const staged: StagedBlob[] = [];
    try {
      for (const blob of todo) {
        // Verified on the way: the server hashes what it receives and refuses other bytes.
        staged.push(
          await this.server.blobs.stage(
            local
              ? { path: local(blob.sha256), knownSha256: blob.sha256, knownSize: blob.size }
              : {
                  stream: await this.bundle.blobs.open(blob.sha256),
                  sizeHint: blob.size,
                  expectedSha256: blob.sha256,
                },
          ),
        );
      }
      this.progress('upload', 0, totalBytes);
      await this.server.blobs.publish(staged);
    } catch (error) {
      await this.server.blobs.discard(staged).catch(() => undefined);
      throw error;
    }
    this.report.blobsUploaded += todo.length;
    this.report.bytesUploaded += totalBytes;
    this.progress('upload', totalBytes, totalBytes);
  }

  /** The server version that version `version` of a bundle event's artifact (`subject`) became. */
  private serverRefOf(subject: string, version: number): string | undefined {
    return this.mapped(this.bundleRefOf(subject, version));
  }

  /** The bundle's canonical ref of version `version` of a bundle event's artifact (`subject`). */
  private bundleRefOf(subject: string, version: number): string {
    const { entity, project, name } = parseArtifactRef(subject);
    return formatArtifactRef({ entity, project, name, version });
  }

  private async holder(ref: string, alias: string): Promise<ArtifactVersionInfo | undefined> {
    const parsed = parseArtifactRef(ref);
    try {
      return (
        await this.server.artifacts.resolve(
          formatArtifactRef({
            entity: parsed.entity,
            project: parsed.project,
            name: parsed.name,
            alias,
          } as never),
        )
      ).version;
    } catch (error) {
      if (notFound(error)) return undefined;
      throw error;
    }
  }

  private async syncAlias(event: QuiverEvent): Promise<void> {
    const after = bodyOf(aliasBody, event.after, event);
    const before = event.before === null ? null : bodyOf(aliasBody, event.before, event);
    const target = this.serverRefOf(event.subject, after.version);
    const subject = `${target ?? event.subject}@${after.alias}`;
    if (!target) {
      this.unsynced('alias', subject, this.bundleRefOf(event.subject, after.version));
      return;
    }
    const held = await this.holder(target, after.alias);
    if (held?.ref === target) {
      this.record({ kind: 'alias', subject, outcome: 'present' });
      return;
    }
    // Where the bundle last saw the alias: its previous holder (as synced), or unset. A holder
    // this run produced (before it spooled) is its own move too.
    const expected = before ? this.serverRefOf(event.subject, before.version) : undefined;
    if (held !== undefined && held.ref !== expected && held.producedBy !== this.info.runId) {
      this.record({
        kind: 'alias',
        subject,
        outcome: 'conflict',
        detail: `'${after.alias}' moved on the server meanwhile (to ${held.ref}); kept there. The bundle had it on ${target}: run 'quiver artifact alias ${target} ${after.alias}' to move it.`,
      });
      return;
    }
    if (this.dryRun) {
      this.record({ kind: 'alias', subject, outcome: 'would-send' });
      return;
    }
    await this.server.artifacts.setAlias(target, after.alias);
    this.record({
      kind: 'alias',
      subject,
      outcome: 'sent',
      ...(held ? { detail: `moved from ${held.ref}` } : {}),
    });
  }

  private async syncAliasRemoval(event: QuiverEvent): Promise<void> {
    if (event.before === null) return;
    const before = bodyOf(aliasBody, event.before, event);
    const from = this.serverRefOf(event.subject, before.version);
    const subject = `${from ?? event.subject}@${before.alias}`;
    if (!from) {
      this.unsynced('alias', subject, this.bundleRefOf(event.subject, before.version));
      return;
    }
    const held = await this.holder(from, before.alias);
    if (held?.ref !== from) {
      this.record({
        kind: 'alias',
        subject,
        outcome: held ? 'conflict' : 'present',
        ...(held ? { detail: `'${before.alias}' is on ${held.ref} on the server now; kept there.` } : {}),
      });
      return;
    }
    if (!this.dryRun) await this.server.artifacts.removeAlias(from, before.alias);
    this.record({ kind: 'alias', subject, outcome: this.dryRun ? 'would-send' : 'sent', detail: 'removed' });
  }

  private async syncTags(event: QuiverEvent): Promise<void> {
    const target = this.mapped(event.subject);
    if (!target) {
      this.unsynced('tag', event.subject, event.subject);
      return;
    }
    const before = bodyOf(tagsBody, event.before, event).tags;
    const after = bodyOf(tagsBody, event.after, event).tags;
    const serverVersion = (await this.server.artifacts.resolve(target)).version;
    const add = after.filter((tag) => !before.includes(tag) && !serverVersion.tags.includes(tag));
    const remove = before.filter((tag) => !after.includes(tag) && serverVersion.tags.includes(tag));
    if (add.length === 0 && remove.length === 0) {
      this.record({ kind: 'tag', subject: target, outcome: 'present' });
      return;
    }
    if (!this.dryRun) await this.server.artifacts.tag(target, add, remove);
    this.record({
      kind: 'tag',
      subject: target,
      outcome: this.dryRun ? 'would-send' : 'sent',
      detail: [...add.map((tag) => `+${tag}`), ...remove.map((tag) => `-${tag}`)].join(' '),
    });
  }

  private async syncDelete(event: QuiverEvent): Promise<void> {
    const target = this.mapped(event.subject);
    if (!target) {
      this.record({ kind: 'delete', subject: event.subject, outcome: 'skipped', detail: 'never synced' });
      return;
    }
    const exists = await this.server.artifacts.resolve(target).catch((error: unknown) => {
      if (notFound(error)) return undefined;
      throw error;
    });
    if (!exists) {
      this.record({ kind: 'delete', subject: target, outcome: 'present' });
      return;
    }
    if (!this.state.created.includes(target)) {
      // The server had this content already (another run's version): not this bundle's to delete.
      this.record({
        kind: 'delete',
        subject: target,
        outcome: 'skipped',
        detail: 'the server held this content before the sync; left as it is',
      });
      return;
    }
    // The bundle deleted it holding these aliases (its retention forces that); an alias set on the
    // server meanwhile keeps it there (and a registry link always does: E_VERSION_LINKED).
    const held = (bodyOf(deletedBody, event.before, event).aliases ?? []).filter(
      (alias) => alias !== 'latest',
    );
    const added = exists.version.aliases.filter((alias) => alias !== 'latest' && !held.includes(alias));
    if (added.length > 0) {
      this.record({
        kind: 'delete',
        subject: target,
        outcome: 'conflict',
        detail: `it holds ${added.map((alias) => `'${alias}'`).join(', ')} set on the server meanwhile; kept.`,
      });
      return;
    }
    if (!this.dryRun) await this.server.artifacts.deleteVersion(target, { force: held.length > 0 });
    this.record({ kind: 'delete', subject: target, outcome: this.dryRun ? 'would-send' : 'sent' });
  }

  private locatorOf(event: QuiverEvent): { entity: string; registry: string; model: string } {
    return { entity: this.entity, registry: event.registry ?? 'model', model: event.model ?? '' };
  }

  private async syncModel(event: QuiverEvent): Promise<void> {
    const locator = this.locatorOf(event);
    const subject = formatRegistryRef(locator as never);
    let bundleModel: Awaited<ReturnType<QuiverBackendV1['registry']['model']>>;
    try {
      bundleModel = await this.bundle.registry.model({ registry: locator.registry, model: locator.model });
    } catch (error) {
      if (notFound(error)) return;
      throw error;
    }
    const existing = await this.server.registry.model(locator).catch((error: unknown) => {
      if (notFound(error)) return undefined;
      throw error;
    });
    if (!existing) {
      if (!this.dryRun)
        await this.server.registry.createModel({
          ...locator,
          card: bundleModel.card,
          tags: bundleModel.tags,
        });
      this.record({ kind: 'model', subject, outcome: this.dryRun ? 'would-send' : 'sent' });
      return;
    }
    const add = bundleModel.tags.filter((tag) => !existing.tags.includes(tag));
    const card =
      event.action === 'model.card' && existing.card !== bundleModel.card ? bundleModel.card : undefined;
    if (add.length === 0 && card === undefined) {
      this.record({ kind: 'model', subject, outcome: 'present' });
      return;
    }
    if (!this.dryRun) {
      if (add.length > 0) await this.server.registry.tag(locator, add, []);
      if (card !== undefined) await this.server.registry.updateCard(locator, card);
    }
    this.record({ kind: 'model', subject, outcome: this.dryRun ? 'would-send' : 'sent' });
  }

  private async syncLink(event: QuiverEvent): Promise<void> {
    const after = bodyOf(linkBody, event.after, event);
    const locator = this.locatorOf(event);
    const bundleRef = formatRegistryRef({ ...locator, version: after.version } as never);
    const target = this.mapped(after.source);
    if (this.dryRun && (target || this.wouldCommit.has(after.source))) this.wouldCommit.add(bundleRef);
    if (!target) {
      this.unsynced('link', bundleRef, after.source);
      return;
    }
    if (this.dryRun) {
      this.record({
        kind: 'link',
        subject: `${target} → ${formatRegistryRef(locator as never)}`,
        outcome: 'would-send',
      });
      return;
    }
    const result = await this.server.registry.link(target, locator, { create: true });
    this.state.links[bundleRef] = result.version.ref;
    this.record({
      kind: 'link',
      subject: result.version.ref,
      outcome: result.linked ? 'sent' : 'present',
      detail: `of ${target}`,
    });
  }

  private async syncRegistryAlias(event: QuiverEvent): Promise<void> {
    const after = bodyOf(aliasBody, event.after, event);
    const before = event.before === null ? null : bodyOf(aliasBody, event.before, event);
    // The server moves `latest` to each link itself.
    if (after.alias === 'latest') return;
    const locator = this.locatorOf(event);
    const bundleRef = formatRegistryRef({ ...locator, version: after.version } as never);
    const target = this.state.links[bundleRef];
    const subject = `${target ?? formatRegistryRef(locator as never)}@${after.alias}`;
    if (!target) {
      this.unsynced('alias', subject, bundleRef);
      return;
    }
    const model = await this.server.registry.model(locator);
    const heldVersion = model.aliases[after.alias];
    const held =
      heldVersion === undefined
        ? undefined
        : formatRegistryRef({ ...locator, version: heldVersion } as never);
    if (held === target) {
      this.record({ kind: 'alias', subject, outcome: 'present' });
      return;
    }
    const expected = before
      ? this.state.links[formatRegistryRef({ ...locator, version: before.version } as never)]
      : undefined;
    const ours =
      held !== undefined &&
      (await this.server.registry.version(parseRegistry(held))).source.producedBy === this.info.runId;
    if (held !== undefined && held !== expected && !ours) {
      this.record({
        kind: 'alias',
        subject,
        outcome: 'conflict',
        detail: `'${after.alias}' moved on the server meanwhile (to ${held}); kept there. The bundle had it on ${target}.`,
      });
      return;
    }
    if (this.dryRun) {
      this.record({ kind: 'alias', subject, outcome: 'would-send' });
      return;
    }
    try {
      const parsed = parseRegistry(target);
      // Without force first: a protected alias on the server is then refused as such, and forced
      // only when this user may (the server decides by role).
      await this.server.registry.setAlias(parsed, after.alias, {}).catch((error: unknown) => {
        if (isQuiverError(error) && error.code === 'E_ALIAS_PROTECTED')
          return this.server.registry.setAlias(parsed, after.alias, { force: true });
        throw error;
      });
      this.record({ kind: 'alias', subject, outcome: 'sent' });
    } catch (error) {
      if (!isQuiverError(error) || !['E_FORBIDDEN', 'E_ALIAS_PROTECTED'].includes(error.code)) throw error;
      this.record({
        kind: 'alias',
        subject,
        outcome: 'refused',
        detail: `${error.message} The link itself is synced; ask an admin to run 'quiver registry alias ${target} ${after.alias}'.`,
      });
    }
  }

  /**
   * Changes a spooled run made to versions it had committed on the server before it spooled
   * (`deferred.jsonl`): their refs are the server's already. Aliases follow the same rule as the
   * bundle's own; a line torn by a kill was never answered to the run, and is skipped.
   */
  private async syncDeferred(): Promise<void> {
    const lines = readDeferred(join(this.path, DEFERRED_FILE));
    for (let index = this.state.deferred; index < lines.length; index++) {
      const line = lines[index];
      if (line) {
        try {
          await this.applyDeferred(line);
        } catch (error) {
          if (error instanceof z.ZodError) {
            this.record({
              kind: 'alias',
              subject: String(line.args[0]),
              outcome: 'skipped',
              detail: 'malformed line',
            });
            this.state.deferred = index + 1;
            this.save();
            continue;
          }
          if (!refusable(error)) throw error;
          this.record({
            kind: line.operation === 'registry.link' ? 'link' : 'alias',
            subject: String(line.args[0]),
            outcome: 'refused',
            detail: `${(error as QuiverError).message} (${(error as QuiverError).code})`,
          });
        }
      }
      this.state.deferred = index + 1;
      this.save();
    }
  }

  private async applyDeferred(line: DeferredLine): Promise<void> {
    const [ref, second, third] = line.args as [string, unknown, unknown];
    const sent = (kind: SyncRecord['kind'], subject: string, detail?: string) =>
      this.record({
        kind,
        subject,
        outcome: this.dryRun ? 'would-send' : 'sent',
        ...(detail ? { detail } : {}),
      });
    switch (line.operation) {
      case 'artifacts.setAlias': {
        const alias = z.string().max(128).parse(second);
        const held = await this.holder(ref, alias);
        if (held?.ref === ref)
          return this.record({ kind: 'alias', subject: `${ref}@${alias}`, outcome: 'present' });
        if (held && held.producedBy !== this.info.runId)
          return this.record({
            kind: 'alias',
            subject: `${ref}@${alias}`,
            outcome: 'conflict',
            detail: `'${alias}' moved on the server meanwhile (to ${held.ref}); kept there.`,
          });
        if (!this.dryRun) await this.server.artifacts.setAlias(ref, alias);
        return sent('alias', `${ref}@${alias}`);
      }
      case 'artifacts.removeAlias': {
        const alias = z.string().max(128).parse(second);
        const held = await this.holder(ref, alias);
        if (held?.ref !== ref)
          return this.record({ kind: 'alias', subject: `${ref}@${alias}`, outcome: 'present' });
        if (!this.dryRun) await this.server.artifacts.removeAlias(ref, alias);
        return sent('alias', `${ref}@${alias}`, 'removed');
      }
      case 'artifacts.tag': {
        const add = z.array(z.string().max(256)).max(1000).parse(second);
        const remove = z.array(z.string().max(256)).max(1000).parse(third);
        if (!this.dryRun) await this.server.artifacts.tag(ref, add, remove);
        return sent('tag', ref);
      }
      case 'artifacts.deleteVersion': {
        const { force } = z.object({ force: z.boolean().optional() }).parse(second ?? {});
        const version = (await this.server.artifacts.resolve(ref).catch(() => undefined))?.version;
        if (!version) return this.record({ kind: 'delete', subject: ref, outcome: 'present' });
        if (version.producedBy !== this.info.runId)
          return this.record({
            kind: 'delete',
            subject: ref,
            outcome: 'skipped',
            detail: 'not this run’s version',
          });
        if (!this.dryRun) await this.server.artifacts.deleteVersion(ref, force ? { force } : {});
        return sent('delete', ref);
      }
      case 'registry.link': {
        const target = z
          .object({
            entity: z.string().optional(),
            registry: z.string().optional(),
            model: z.string().min(1),
          })
          .parse(second);
        const options = z
          .object({
            aliases: z.array(z.string()).optional(),
            create: z.boolean().optional(),
            force: z.boolean().optional(),
          })
          .parse(third ?? {});
        if (this.dryRun) return sent('link', `${ref} → ${target.model}`);
        const result = await this.server.registry.link(
          ref,
          { ...target, entity: target.entity ?? this.entity },
          options,
        );
        return this.record({
          kind: 'link',
          subject: result.version.ref,
          outcome: result.linked ? 'sent' : 'present',
          detail: `of ${ref}`,
        });
      }
    }
  }

  private async syncUses(): Promise<void> {
    // Server versions the run used offline, read from this machine's cache: pinned refs already.
    for (const ref of offlineUses(join(this.path, USES_FILE))) {
      const key = `server:${ref}`;
      if (this.state.uses.includes(key)) continue;
      if (!this.dryRun) await this.server.runs.recordUse(this.info.runId, ref);
      this.record({ kind: 'use', subject: ref, outcome: this.dryRun ? 'would-send' : 'sent' });
      this.state.uses.push(key);
      this.save();
    }
    const inputs = await this.bundle.runs.inputs(this.info.runId);
    for (const input of inputs) {
      if (this.state.uses.includes(input.ref)) continue;
      const target = this.mapped(input.ref);
      if (!target) {
        this.unsynced('use', input.ref, input.ref);
        continue;
      }
      if (!this.dryRun) await this.server.runs.recordUse(this.info.runId, target);
      this.record({ kind: 'use', subject: target, outcome: this.dryRun ? 'would-send' : 'sent' });
      this.state.uses.push(input.ref);
      this.save();
    }
  }

  /** Sends the end (finished, failed, crashed) of a run that had ended when this sync began. */
  private async syncState(run: RunInfo): Promise<void> {
    const onServer = await this.server.runs.get(run.id).catch((error: unknown) => {
      if (this.dryRun && notFound(error)) return undefined;
      throw error;
    });
    if (onServer?.state === run.state) {
      this.record({ kind: 'state', subject: this.report.run, outcome: 'present', detail: run.state });
    } else if (this.dryRun) {
      this.record({ kind: 'state', subject: this.report.run, outcome: 'would-send', detail: run.state });
    } else {
      await this.server.runs.finish(run.id, {
        exitCode: run.exitCode ?? 1,
        ...(run.state === 'crashed' ? { crashed: true } : {}),
      });
      this.record({ kind: 'state', subject: this.report.run, outcome: 'sent', detail: run.state });
    }
    this.state.ended = true;
    this.save();
  }
}

function parseRegistry(ref: string): RegistryRef {
  const parsed = parseRef(ref);
  if (parsed.kind !== 'registry') throw new QuiverError('E_INTERNAL', `Not a registry ref: ${ref}.`);
  return parsed;
}

const deferredLine = z.object({
  operation: z.enum([
    'artifacts.setAlias',
    'artifacts.removeAlias',
    'artifacts.tag',
    'artifacts.deleteVersion',
    'registry.link',
  ]),
  args: z.array(z.unknown()).min(1).max(3),
});
type DeferredLine = z.infer<typeof deferredLine>;

/** The lines of `deferred.jsonl`, in order; undefined for one that is torn or malformed. */
function readDeferred(file: string): Array<DeferredLine | undefined> {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  // After the last newline: nothing, or a line a kill tore while it was written (never answered
  // to the run, so never sent).
  lines.pop();
  return lines.map((line) => {
    try {
      const parsed = deferredLine.safeParse(JSON.parse(line));
      return parsed.success && typeof parsed.data.args[0] === 'string' ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  });
}

/** Errors that are the server's answer to one record, not a reason to stop the sync. */
function refusable(error: unknown): boolean {
  return (
    isQuiverError(error) &&
    [
      'E_FORBIDDEN',
      'E_ALIAS_PROTECTED',
      'E_ALIAS_HELD',
      'E_ALIAS_RESERVED',
      'E_TYPE_MISMATCH',
      'E_TYPE_NOT_ACCEPTED',
      'E_VERSION_LINKED',
      'E_ALREADY_EXISTS',
      'E_INVALID_ALIAS',
      'E_INVALID_TAG',
      'E_INVALID_NAME',
    ].includes(error.code)
  );
}

function kindOf(event: QuiverEvent): SyncRecord['kind'] {
  if (event.action === 'version.create') return 'version';
  if (event.action === 'version.delete') return 'delete';
  if (event.action.startsWith('version.')) return 'tag';
  if (event.action === 'link' || event.action === 'unlink') return 'link';
  if (event.action.startsWith('model.')) return 'model';
  return 'alias';
}

/** The stored (not referenced) blobs of a manifest. */
function stored(entries: readonly ManifestEntry[]): Array<{ sha256: string; size: number }> {
  return entries.filter((entry) => entry.ref === undefined).map(({ sha256, size }) => ({ sha256, size }));
}
