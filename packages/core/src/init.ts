import { hostname } from 'node:os';
import { z } from 'zod';
import { isQuiverError, QuiverError } from './contract/errors.js';
import type { JsonObject } from './contract/index.js';
import { serializeJsonObject } from './metadata.js';
import { assertName, assertTag } from './names.js';
import { bundlePathOf, createBundleStore } from './offline/bundle.js';
import { SpoolingBackend } from './offline/spooling-backend.js';
import { Run } from './run.js';
import { newRunId } from './run-names.js';
import {
  envName,
  invalidEnv,
  type QuiverMode,
  readEnv,
  resolveMode,
  resolveStoreSettings,
} from './settings.js';
import { openStore, type Store } from './store.js';

/** Options of {@link init}. Each has an environment variable; an explicit option wins. */
export interface InitOptions {
  /** `QUIVER_PROJECT` (required from one or the other). */
  project?: string;
  /** `QUIVER_ENTITY`; default: the local user. */
  entity?: string;
  /** `QUIVER_RUN_NAME`; default: a generated name such as `swift-river-3`. */
  name?: string;
  /** `QUIVER_JOB_TYPE`, e.g. `train`, `eval`. */
  jobType?: string;
  /** Hyper-parameters and settings (JSON). */
  config?: JsonObject;
  /** `QUIVER_TAGS`, comma-separated. */
  tags?: string[];
  /** `QUIVER_RUN_GROUP`. */
  group?: string;
  notes?: string;
  /** `QUIVER_DIR`: the store directory; default a per-user data directory. */
  dir?: string;
  /**
   * `QUIVER_MODE`: `local` (default: the store the settings name, embedded or a server),
   * `offline` (the run is recorded into a bundle under `<QUIVER_DIR>/offline/` for `quiver sync`;
   * no server is contacted) or `disabled` (nothing is stored).
   */
  mode?: QuiverMode;
  /** An already open store to use instead of opening one (it is not closed by `finish`). */
  store?: Store;
}

const optionsSchema = z
  .object({
    project: z.string().optional(),
    entity: z.string().optional(),
    name: z.string().optional(),
    jobType: z.string().optional(),
    config: z.record(z.string(), z.unknown()).optional(),
    tags: z.array(z.string()).optional(),
    group: z.string().optional(),
    notes: z.string().optional(),
    dir: z.string().optional(),
    mode: z.enum(['local', 'offline', 'disabled']).optional(),
    store: z.unknown().optional(),
  })
  .strict();

/** `QUIVER_SPOOL`: `on` (default) spools a run whose server is unreachable; `off` lets it fail. */
function spoolingAllowed(env: NodeJS.ProcessEnv): boolean {
  const value = readEnv(env, 'QUIVER_SPOOL');
  if (value === undefined || value === 'on') return true;
  if (value === 'off') return false;
  return invalidEnv('QUIVER_SPOOL', value, 'use on or off');
}

function warnSpooled(runId: string, path: string, reason: string): void {
  process.stderr.write(
    `quiver: ${reason.replace(/ Check that it runs.*$/, '')} Run ${runId} goes on offline, recorded in ${path}; 'quiver sync' sends it once the server is back.\n`,
  );
}

/**
 * The store of an online run: the one the settings name; on a server, with spooling — when the
 * server cannot be reached (now, or later in the run), the run is recorded into a bundle instead.
 */
async function openOnline(options: {
  runId: string;
  project: string;
  mode: QuiverMode;
  dir?: string;
  entity?: string;
}): Promise<Store> {
  const { runId, project, ...open } = options;
  const settings = resolveStoreSettings(open);
  if (!settings.remote || !spoolingAllowed(process.env)) return openStore(open);
  const { remote: _remote, ...local } = settings;
  try {
    return await openStore({
      ...open,
      wrapBackend: (backend) =>
        new SpoolingBackend(backend, local, (path, reason) => warnSpooled(runId, path, reason)),
    });
  } catch (error) {
    if (!isQuiverError(error) || error.code !== 'E_UNAVAILABLE') throw error;
    // The server is down as the job starts: record the run offline from its first step.
    warnSpooled(runId, bundlePathOf(settings.dir, runId), error.message);
    return createBundleStore(local, {
      runId,
      project,
      entity: options.entity ?? envName(process.env, 'QUIVER_ENTITY', 'entity'),
      origin: 'spool',
    });
  }
}

/** The run of `QUIVER_MODE=disabled`: logging does nothing and nothing is stored. */
export class DisabledRun {
  readonly disabled = true;
  readonly id = 'disabled';
  readonly name = 'disabled';
  log(_metrics: Record<string, number>, _options: { step?: number } = {}): void {}
  async flush(): Promise<void> {}
  async finish(_options: { exitCode?: number } = {}): Promise<void> {}
  logArtifact(): Promise<never> {
    return Promise.reject(
      new QuiverError(
        'E_DISABLED',
        'Quiver is disabled (QUIVER_MODE=disabled): artifacts are not stored. Unset QUIVER_MODE to store them.',
      ),
    );
  }
  useArtifact(): Promise<never> {
    return this.logArtifact();
  }
}

function parseOptions(options: InitOptions): InitOptions {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new QuiverError(
      'E_INVALID_OPTION',
      `init(): option '${issue.path.join('.') || issue.message}' is invalid: ${issue.message}.`,
    );
  }
  return options;
}

/**
 * Starts a run. Options fall back to `QUIVER_*` environment variables; an invalid variable is an
 * error that names it.
 *
 * @example
 * const run = await init({ project: 'mnist', jobType: 'train', config: { lr: 1e-3 } });
 * run.log({ loss: 0.3 });
 * await run.finish();
 */
export async function init(options: InitOptions & { mode: 'disabled' }): Promise<DisabledRun>;
export async function init(options?: InitOptions): Promise<Run>;
export async function init(options: InitOptions = {}): Promise<Run | DisabledRun> {
  parseOptions(options);
  const env = process.env;
  const mode = resolveMode(options.mode, env);
  if (mode === 'disabled') return new DisabledRun() as unknown as Run;
  const project =
    options.project !== undefined
      ? assertName(options.project, 'project')
      : envName(env, 'QUIVER_PROJECT', 'project');
  if (project === undefined) {
    throw new QuiverError('E_INVALID_OPTION', 'No project: pass init({ project }) or set QUIVER_PROJECT.');
  }
  const name =
    options.name !== undefined ? assertName(options.name, 'run') : envName(env, 'QUIVER_RUN_NAME', 'run');
  const jobType = options.jobType ?? readEnv(env, 'QUIVER_JOB_TYPE') ?? null;
  if (jobType !== null && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(jobType)) {
    const message = "use 1–64 letters, digits, '.', '_' or '-'";
    if (options.jobType !== undefined)
      throw new QuiverError('E_INVALID_OPTION', `jobType '${jobType}' is not valid: ${message}.`);
    throw new QuiverError(
      'E_INVALID_ENV',
      `QUIVER_JOB_TYPE=${JSON.stringify(jobType)} is not valid: ${message}.`,
      { details: { variable: 'QUIVER_JOB_TYPE' } },
    );
  }
  const group = options.group ?? readEnv(env, 'QUIVER_RUN_GROUP') ?? null;
  let tags: string[];
  if (options.tags !== undefined) {
    tags = options.tags.map((tag) => assertTag(tag));
  } else {
    const raw = readEnv(env, 'QUIVER_TAGS');
    tags = [];
    for (const tag of raw
      ?.split(',')
      .map((part) => part.trim())
      .filter(Boolean) ?? []) {
      try {
        tags.push(assertTag(tag));
      } catch (error) {
        throw new QuiverError(
          'E_INVALID_ENV',
          `QUIVER_TAGS=${JSON.stringify(raw)} is not valid: ${(error as Error).message}`,
          { details: { variable: 'QUIVER_TAGS' } },
        );
      }
    }
  }
  const config = serializeJsonObject(options.config ?? {}, 'config');
  const explicitEntity = options.entity !== undefined ? assertName(options.entity, 'entity') : undefined;
  const ownsStore = options.store === undefined;
  const runId = newRunId();
  const store =
    options.store ??
    (mode === 'offline'
      ? await createBundleStore(
          resolveStoreSettings({
            ...(options.dir !== undefined ? { dir: options.dir } : {}),
            ...(explicitEntity ? { entity: explicitEntity } : {}),
            mode,
            remote: null,
          }),
          {
            runId,
            project,
            entity: explicitEntity ?? envName(env, 'QUIVER_ENTITY', 'entity'),
            origin: 'offline',
          },
        )
      : await openOnline({
          runId,
          project,
          mode,
          ...(options.dir !== undefined ? { dir: options.dir } : {}),
          ...(explicitEntity ? { entity: explicitEntity } : {}),
        }));
  try {
    const entity = explicitEntity ?? store.backend.principal.entity;
    const identity = {
      entity,
      project,
      jobType,
      group,
      tags,
      notes: options.notes ?? null,
      config: JSON.parse(config) as JsonObject,
    };
    const input = {
      id: runId,
      ...identity,
      tags: [...identity.tags],
      ...(name !== undefined ? { name } : {}),
      host: hostname(),
      pid: process.pid,
    };
    if (store.backend instanceof SpoolingBackend) store.backend.attach(input);
    const info = await store.backend.runs.create(input);
    return new Run(store, { ...identity, id: info.id, name: info.name }, ownsStore);
  } catch (error) {
    if (ownsStore) await store.close();
    throw error;
  }
}
