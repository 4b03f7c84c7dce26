import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ArtifactsApiV1 } from '../contract/backend.js';
import { isQuiverError } from '../contract/errors.js';
import type {
  ArtifactVersionInfo,
  BlobPin,
  BlobRange,
  BlobRemoval,
  BlobSource,
  BlobStore,
  CommitResult,
  CreateRunInput,
  EventsApiV1,
  LinkOptions,
  LinkResult,
  MaintenanceApiV1,
  ModelLocator,
  Principal,
  QuiverBackendV1,
  RegistryApiV1,
  RunsApiV1,
  StagedBlob,
  StoredBlob,
} from '../contract/index.js';
import type { StoreSettings } from '../settings.js';
import type { Store } from '../store.js';
import { bundlePathOf, createBundleStore, DEFERRED_FILE } from './bundle.js';
import { type SyncReport, syncBundle } from './sync.js';

type ApiName = 'runs' | 'artifacts' | 'registry' | 'events' | 'maintenance';
type Callable = (...args: unknown[]) => Promise<unknown>;

/** What a staged blob of the remote store carries: where its bytes are (no byte has left yet). */
interface RemoteStaged extends StagedBlob {
  source: { path: string } | { bytes: Uint8Array };
}

/**
 * The backend of an online run that must not fail its training when the server goes away: every
 * call goes to the server (whose client retries a dropped connection for about 8–16 s); when one
 * still finds it unreachable (`E_UNAVAILABLE`), the run is spooled — a bundle is made for it under
 * `<QUIVER_DIR>/offline/` with the run's record, and this call and every later one of the run go
 * there. `quiver sync` (or the run's own `finish`, when the server is back by then) sends it.
 */
export class SpoolingBackend implements QuiverBackendV1 {
  readonly specificationVersion = 'v1' as const;
  readonly runs: RunsApiV1;
  readonly artifacts: ArtifactsApiV1;
  readonly registry: RegistryApiV1;
  readonly events: EventsApiV1;
  readonly maintenance: MaintenanceApiV1;
  readonly blobs: BlobStore;
  private run: CreateRunInput | undefined;
  /** Versions this run committed on the server, by ref. */
  private readonly online = new Map<string, ArtifactVersionInfo>();
  private spool: Store | undefined;
  private starting: Promise<Store> | undefined;

  constructor(
    readonly remote: QuiverBackendV1,
    private readonly settings: StoreSettings,
    private readonly onSpool: (path: string, reason: string) => void = () => {},
  ) {
    this.runs = this.api('runs') as RunsApiV1;
    this.artifacts = this.api('artifacts') as ArtifactsApiV1;
    this.registry = this.api('registry') as RegistryApiV1;
    this.events = this.api('events') as EventsApiV1;
    this.maintenance = this.api('maintenance') as MaintenanceApiV1;
    this.blobs = new SpoolingBlobStore(this);
  }

  get principal(): Principal {
    return this.remote.principal;
  }

  /** The run this backend may spool (set before it is created, so a server down at start spools too). */
  attach(run: CreateRunInput): void {
    this.run = run;
  }

  /** The bundle the run spooled to, once it did. */
  get spooled(): Store | undefined {
    return this.spool;
  }

  /** The bundle folder of the spool (whether or not the run spooled yet). */
  get spoolPath(): string | undefined {
    return this.run ? bundlePathOf(this.settings.dir, this.run.id) : undefined;
  }

  /** The backend calls go to now. */
  get current(): QuiverBackendV1 {
    return this.spool?.backend ?? this.remote;
  }

  private api(name: ApiName): object {
    return new Proxy(
      {},
      {
        get: (_target, method) => {
          if (typeof method !== 'string') return undefined;
          return async (...args: unknown[]) => {
            const deferred = this.deferred(`${name}.${method}`, args);
            if (deferred) return deferred;
            const result = await this.call((backend) =>
              (backend[name] as unknown as Record<string, Callable>)[method]!(...args),
            );
            // Versions committed on the server, before any spool: refs to them cannot be served by
            // the bundle, whose numbers are its own.
            if (!this.spool && name === 'artifacts' && method === 'commit')
              this.online.set((result as CommitResult).version.ref, (result as CommitResult).version);
            return result;
          };
        },
      },
    );
  }

  /**
   * Once spooled, a change to a version committed on the server before the spool (the callback
   * linking its `best`, retention deleting an old checkpoint) cannot be made in the bundle, whose
   * version numbers are its own: it is written to the bundle's `deferred.jsonl`, which
   * `quiver sync` applies on the server, and answered from what the server said of that version.
   */
  private deferred(operation: string, args: unknown[]): unknown {
    if (!this.spool) return undefined;
    const ref = operation === 'registry.link' || operation.startsWith('artifacts.') ? args[0] : undefined;
    const version = typeof ref === 'string' ? this.online.get(ref) : undefined;
    if (!version) return undefined;
    const file = join(bundlePathOf(this.settings.dir, this.run!.id), DEFERRED_FILE);
    switch (operation) {
      case 'artifacts.resolve':
        return { version };
      case 'artifacts.setAlias':
      case 'artifacts.removeAlias':
      case 'artifacts.deleteVersion':
      case 'artifacts.tag':
      case 'registry.link': {
        appendFileSync(file, `${JSON.stringify({ operation, args, at: new Date().toISOString() })}\n`);
        if (operation !== 'registry.link') {
          const alias = args[1] as string;
          const aliases =
            operation === 'artifacts.setAlias'
              ? [...new Set([...version.aliases, alias])]
              : operation === 'artifacts.removeAlias'
                ? version.aliases.filter((held) => held !== alias)
                : version.aliases;
          return { ...version, aliases };
        }
        const target = args[1] as ModelLocator;
        const registry = target.registry ?? 'model';
        const entity = target.entity ?? this.remote.principal.entity;
        // Not linked yet: version -1 until `quiver sync` links it on the server.
        const pending: LinkResult = {
          version: {
            linkId: '',
            ref: `${entity}/registry/${registry === 'model' ? '' : `${registry}/`}${target.model}:pending`,
            entity,
            registry,
            model: target.model,
            version: -1,
            aliases: [...((args[2] as LinkOptions | undefined)?.aliases ?? [])],
            linkedBy: this.remote.principal.actor,
            linkedAt: new Date().toISOString(),
            source: version,
          },
          linked: false,
          modelCreated: false,
        };
        return pending;
      }
      default:
        return undefined;
    }
  }

  /** Runs `work` on the server, or on the spool once the server was found unreachable. */
  async call<T>(work: (backend: QuiverBackendV1) => Promise<T>): Promise<T> {
    if (this.spool) return work(this.spool.backend);
    try {
      return await work(this.remote);
    } catch (error) {
      if (!this.mayTakeOver(error)) throw error;
      return work((await this.startSpooling(error as Error)).backend);
    }
  }

  /** True when `error` means the server cannot be reached (after the client's retries). */
  mayTakeOver(error: unknown): boolean {
    return this.run !== undefined && isQuiverError(error) && error.code === 'E_UNAVAILABLE';
  }

  /** Makes the run's bundle (once) and records the run in it. */
  startSpooling(reason: Error): Promise<Store> {
    this.starting ??= (async () => {
      const run = this.run!;
      const store = await createBundleStore(this.settings, {
        runId: run.id,
        project: run.project,
        entity: run.entity ?? this.remote.principal.entity,
        origin: 'spool',
      });
      try {
        await store.backend.runs.create(run);
      } catch (error) {
        await store.close();
        throw error;
      }
      this.spool = store;
      this.onSpool(bundlePathOf(this.settings.dir, run.id), reason.message);
      return store;
    })();
    // A start that failed (a full disk, say) is tried again by the next call.
    this.starting.catch(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /**
   * Sends the spool to the server, when the run spooled and the server answers again; resolves to
   * the report, or undefined when there was nothing to send or the server is still unreachable.
   */
  async sendSpool(): Promise<SyncReport | undefined> {
    if (!this.spool || !this.run) return undefined;
    try {
      return await syncBundle(bundlePathOf(this.settings.dir, this.run.id), {
        settings: this.settings,
        backend: this.remote,
      });
    } catch (error) {
      if (isQuiverError(error) && error.code === 'E_UNAVAILABLE') return undefined;
      throw error;
    }
  }

  withPrincipal(principal: Principal): QuiverBackendV1 {
    return this.current.withPrincipal(principal);
  }

  async close(): Promise<void> {
    await this.remote.close();
    await this.spool?.close();
  }
}

/** The blob side of {@link SpoolingBackend}: staged blobs of the server are staged again in the spool. */
class SpoolingBlobStore implements BlobStore {
  constructor(private readonly owner: SpoolingBackend) {}

  get location(): string {
    return this.owner.current.blobs.location;
  }

  stage(source: BlobSource, options?: { onProgress?: (bytes: number) => void }): Promise<StagedBlob> {
    return this.owner.current.blobs.stage(source, options);
  }

  async publish(blobs: readonly StagedBlob[]): Promise<void> {
    if (!this.owner.spooled && blobs.some(isRemote)) {
      try {
        return await this.owner.remote.blobs.publish(blobs);
      } catch (error) {
        if (!this.owner.mayTakeOver(error)) throw error;
        await this.owner.startSpooling(error as Error);
      }
    }
    // Staged for the server, now going to the spool: no byte left yet, so stage them here.
    const local = this.owner.current.blobs;
    const staged: StagedBlob[] = [];
    for (const blob of blobs) {
      if (!isRemote(blob)) {
        staged.push(blob);
        continue;
      }
      staged.push(
        await local.stage(
          'bytes' in blob.source
            ? { bytes: blob.source.bytes }
            : { path: blob.source.path, knownSha256: blob.sha256, knownSize: blob.size },
        ),
      );
    }
    await local.publish(staged);
    await this.owner.remote.blobs.discard(blobs.filter(isRemote));
  }

  async discard(blobs: readonly StagedBlob[]): Promise<void> {
    await this.owner.remote.blobs.discard(blobs.filter(isRemote));
    const local = blobs.filter((blob) => !isRemote(blob));
    if (local.length > 0 && this.owner.spooled) await this.owner.spooled.backend.blobs.discard(local);
  }

  has(sha256: string, size?: number): Promise<boolean> {
    return this.owner.call((backend) => backend.blobs.has(sha256, size));
  }

  missing(blobs: Iterable<{ sha256: string; size: number }>): Promise<string[]> {
    const list = [...blobs];
    return this.owner.call((backend) => backend.blobs.missing(list));
  }

  info(sha256: string): Promise<StoredBlob | undefined> {
    return this.owner.call((backend) => backend.blobs.info(sha256));
  }

  open(sha256: string, range?: BlobRange): Promise<AsyncIterable<Uint8Array>> {
    return this.owner.call((backend) => backend.blobs.open(sha256, range));
  }

  read(sha256: string, size: number, options?: { entryPath?: string }): Promise<Uint8Array> {
    return this.owner.call((backend) => backend.blobs.read(sha256, size, options));
  }

  touch(sha256: string): Promise<void> {
    return this.owner.call((backend) => backend.blobs.touch(sha256));
  }

  pin(): BlobPin {
    return this.owner.current.blobs.pin();
  }

  pinned(graceMs: number): Promise<Set<string>> {
    return this.owner.current.blobs.pinned(graceMs);
  }

  rehash(sha256: string): Promise<{ sha256: string; size: number } | undefined> {
    return this.owner.current.blobs.rehash(sha256);
  }

  list(): AsyncIterable<StoredBlob> {
    return this.owner.current.blobs.list();
  }

  remove(sha256: string): Promise<void> {
    return this.owner.current.blobs.remove(sha256);
  }

  beginRemoval(): BlobRemoval {
    return this.owner.current.blobs.beginRemoval();
  }

  restoreAbandonedRemovals(): Promise<number> {
    return this.owner.current.blobs.restoreAbandonedRemovals();
  }

  removeStaleStaging(graceMs: number): Promise<{ files: number; bytes: number }> {
    return this.owner.current.blobs.removeStaleStaging(graceMs);
  }
}

function isRemote(blob: StagedBlob): blob is RemoteStaged {
  return 'source' in blob;
}
