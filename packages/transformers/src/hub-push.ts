/**
 * Pushes checkpoints into a Hugging Face Hub repo with the real `@huggingface/hub` client, with
 * the Hugging Face Trainer's `hub_strategy` semantics, and records each push as a Quiver version
 * of `hf://` references (sha256 = the LFS oid) produced by the run. Pushes run in the background:
 * `onSave` returns once the files are opened, never after the upload.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type CommitOperation,
  commit,
  createBranch,
  createRepo,
  downloadFile,
  HubApiError,
  listCommits,
  listFiles,
  pathsInfo,
  type RepoDesignation,
  repoExists,
} from '@huggingface/hub';
import {
  Artifact,
  type ArtifactVersion,
  assertEntryPath,
  formatHfUri,
  hashChunks,
  hubError,
  QuiverError,
  type Run,
  retryingFetch,
} from '@quiver/core';
import {
  type HubPushOptions,
  type ResolvedHubOptions,
  resolveHubOptions,
  resolveHubToken,
} from './hub-options.js';
import { mergeModelCard } from './model-card.js';

/** The files of one save: a folder, or a list of files (on disk or in memory). */
export type SaveSource = string | ReadonlyArray<{ path: string; file?: string; bytes?: Uint8Array }>;

/** Where training is when it saves. */
export interface SaveInfo {
  step: number;
  epoch?: number;
  metrics?: Record<string, number>;
}

/** One push that landed in the repo. */
export interface HubPushResult {
  step: number;
  /** The commit's oid (what `hf://…@<revision>` references pin). */
  commit: string;
  url: string;
  /** Files written by the commit (README.md included). */
  paths: string[];
  /** The Quiver version recording the push, when `logModel` asked for one. */
  version?: ArtifactVersion;
  final: boolean;
}

/** A file of a save: on disk (a file URL the client streams from, no copy) or in memory. */
interface SavedFile {
  path: string;
  content: Blob | URL;
  size: number;
}

async function onDisk(path: string, file: string): Promise<SavedFile> {
  return { path, content: pathToFileURL(file), size: (await stat(file)).size };
}

function inMemory(path: string, bytes: Uint8Array | string): SavedFile {
  const content = new Blob([bytes]);
  return { path, content, size: content.size };
}

interface Snapshot {
  files: SavedFile[];
  info: SaveInfo;
}

const README = 'README.md';
const LAST_CHECKPOINT = 'last-checkpoint';

async function walk(dir: string, prefix = ''): Promise<SavedFile[]> {
  const files: SavedFile[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    const full = join(dir, entry.name);
    // Symbolic links are followed, as Artifact.addDir does.
    const kind = entry.isSymbolicLink() ? await stat(full) : entry;
    if (kind.isDirectory()) files.push(...(await walk(full, path)));
    else if (kind.isFile()) files.push(await onDisk(path, full));
  }
  return files;
}

/** Lists the save's files (nothing is read until the upload; files must not change before it). */
async function collect(source: SaveSource): Promise<SavedFile[]> {
  if (typeof source === 'string') {
    const files = await walk(source).catch((error: unknown) => {
      throw new QuiverError(
        'E_NOT_A_DIRECTORY',
        `Cannot read the saved folder ${source}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    });
    if (files.length === 0)
      throw new QuiverError('E_EMPTY_ARTIFACT', `The saved folder ${source} holds no files.`);
    return files.sort((a, b) => a.path.localeCompare(b.path));
  }
  return Promise.all(
    source.map(async (file) => {
      assertEntryPath(file.path);
      if (file.bytes !== undefined) return inMemory(file.path, file.bytes);
      if (file.file !== undefined) return onDisk(file.path, file.file);
      throw new QuiverError('E_INVALID_OPTION', `Saved file ${file.path} has neither file nor bytes.`);
    }),
  );
}

/** sha256 of a file to push, read from disk or memory. */
async function sha256Of(content: Blob | URL): Promise<string> {
  const chunks =
    content instanceof URL
      ? createReadStream(content)
      : (content.stream() as unknown as AsyncIterable<Uint8Array>);
  return (await hashChunks(chunks)).sha256;
}

/**
 * The push destination. Use it from any training loop (`onSave` after each save, `finish` at the
 * end), or through {@link hubCheckpoints} in the TF.js callback.
 *
 * @example
 * const hub = new HubPusher(run, { repo: 'me/classifier', strategy: 'checkpoint' });
 * await hub.onSave('./out/checkpoint-500', { step: 500, metrics: { loss: 0.31 } });
 * await hub.finish();
 */
export class HubPusher {
  /** The resolved options; the token is kept apart, never exposed. */
  readonly options: ResolvedHubOptions;
  readonly #token: string | undefined;
  readonly pushes: HubPushResult[] = [];
  readonly skipped: Array<{ step: number; reason: string }> = [];
  readonly failures: Error[] = [];
  private readonly repo: RepoDesignation;
  private readonly fetch: typeof fetch;
  private chain: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private last: Snapshot | undefined;
  private lastPushedStep: number | undefined;
  /** The files of the save this pusher last pushed to the repo's root (README.md aside). */
  private lastRootPaths: string[] = [];
  private repoReady: Promise<void> | undefined;

  constructor(
    private readonly run: Run | null,
    options: HubPushOptions = {},
  ) {
    this.options = resolveHubOptions(options);
    this.#token = resolveHubToken(options);
    this.repo = { type: 'model', name: this.options.repo };
    const onEvent = this.options.onEvent;
    this.fetch = retryingFetch({
      onRetry: (info) => onEvent?.({ type: 'push-retry', ...info }),
      // A commit whose connection dropped may have landed: push() checks the branch instead.
      resendAfterDrop: (url, method) => !(method === 'POST' && /\/commit\//.test(url)),
    });
  }

  /** Where and as whom to call the Hub (the client refuses calls without a token up front). */
  private get credentials(): { hubUrl: string; accessToken: string; fetch: typeof fetch } {
    if (!this.#token)
      throw new QuiverError(
        'E_HUB_UNAUTHORIZED',
        `Pushing to ${this.options.repo} needs a token: set HF_TOKEN or pass { token }.`,
      );
    return { hubUrl: this.options.hubUrl, fetch: this.fetch, accessToken: this.#token };
  }

  private fail(error: unknown, what: string): QuiverError {
    return hubError(error, what, this.#token);
  }

  /**
   * Records a save. Returns once its files are opened; the push (if the strategy pushes saves)
   * runs in the background. With `every_save`-like strategies a save arriving while a push is in
   * flight is skipped, unless `alwaysPush` queues it.
   */
  async onSave(source: SaveSource, info: SaveInfo): Promise<void> {
    if (!Number.isSafeInteger(info?.step) || info.step < 0)
      throw new QuiverError(
        'E_INVALID_STEP',
        `onSave needs { step } as a whole number ≥ 0, got ${String(info?.step)}.`,
      );
    const snapshot: Snapshot = { files: await collect(source), info };
    this.last = snapshot;
    if (this.options.strategy === 'end') return;
    if (this.inFlight > 0 && !this.options.alwaysPush) {
      const reason = 'the previous push is still in flight';
      this.skipped.push({ step: info.step, reason });
      this.options.onEvent?.({ type: 'push-skipped', step: info.step, reason });
      return;
    }
    this.inFlight++;
    this.chain = this.chain
      .then(() => this.push(snapshot, false))
      .then(
        () => undefined,
        (error: unknown) => {
          const failure = error instanceof Error ? error : new Error(String(error));
          this.failures.push(failure);
          this.options.onEvent?.({ type: 'push-failed', step: info.step, error: failure });
          if (this.options.onError === 'warn')
            console.warn(
              `quiver: pushing step ${info.step} to the Hub failed; training goes on. ${failure.message}`,
            );
        },
      )
      .finally(() => {
        this.inFlight--;
      });
  }

  /** Waits for the pushes started so far. */
  async flush(): Promise<void> {
    await this.chain;
  }

  /**
   * The end of training: waits for pushes in flight, then pushes the last save to the repo's root
   * unless it is there already (with `end`, this is the only push). Throws when that push fails,
   * or when an earlier one did and `onError` is `throw`.
   */
  async finish(): Promise<HubPushResult | undefined> {
    await this.flush();
    if (this.options.onError === 'throw' && this.failures.length > 0) throw this.failures[0];
    const snapshot = this.last;
    if (!snapshot) return undefined;
    const alreadyPushed = this.lastPushedStep === snapshot.info.step && this.options.logModel !== 'end';
    if (!alreadyPushed) return this.push(snapshot, true);
    const previous = this.pushes.at(-1);
    if (previous?.version && this.run) {
      previous.version = await this.run.client().setAlias(previous.version.ref, 'final');
    }
    return previous;
  }

  private ensureRepo(): Promise<void> {
    this.repoReady ??= (async () => {
      try {
        if (this.options.createRepo) {
          await createRepo({ repo: this.repo, private: this.options.private, ...this.credentials }).catch(
            async (error: unknown) => {
              if (error instanceof HubApiError && error.statusCode === 409) return;
              // The Hub may refuse creation (403) to a token that can still write an existing repo.
              if (
                error instanceof HubApiError &&
                error.statusCode === 403 &&
                (await repoExists({ repo: this.repo, ...this.credentials }))
              )
                return;
              throw error;
            },
          );
        } else if (!(await repoExists({ repo: this.repo, ...this.credentials }))) {
          throw new QuiverError(
            'E_HUB_NOT_FOUND',
            `The Hub repo ${this.options.repo} does not exist on ${this.options.hubUrl}; create it or pass createRepo: true.`,
          );
        }
        if (this.options.branch !== 'main') {
          await createBranch({ repo: this.repo, branch: this.options.branch, ...this.credentials }).catch(
            (error: unknown) => {
              if (!(error instanceof HubApiError && error.statusCode === 409)) throw error;
            },
          );
        }
      } catch (error) {
        this.repoReady = undefined;
        throw this.fail(error, `Preparing ${this.options.repo} on the Hub`);
      }
    })();
    return this.repoReady;
  }

  private async existingCard(): Promise<string | null> {
    const blob = await downloadFile({
      repo: this.repo,
      path: README,
      revision: this.options.branch,
      xet: false,
      ...this.credentials,
    }).catch((error: unknown) => {
      if (error instanceof HubApiError && error.statusCode === 404) return null;
      throw error;
    });
    return blob ? blob.text() : null;
  }

  /**
   * Commits once. A commit whose connection dropped may still have landed: the branch's newest
   * commit tells (it carries this push's id); if it did not land, the commit is sent again.
   */
  private async commitOnce(
    title: string,
    operations: CommitOperation[],
  ): Promise<{ oid: string; url: string }> {
    const pushId = `Quiver-Push: ${randomUUID()}`;
    for (let attempt = 1; ; attempt++) {
      try {
        const output = await commit({
          repo: this.repo,
          branch: this.options.branch,
          title,
          description: pushId,
          operations,
          ...this.credentials,
        });
        if (!output) throw new QuiverError('E_HUB_FAILED', `The commit to ${this.options.repo} was aborted.`);
        return { oid: output.commit.oid, url: output.commit.url };
      } catch (error) {
        if (error instanceof HubApiError || error instanceof QuiverError || attempt >= 3) throw error;
        for await (const head of listCommits({
          repo: this.repo,
          revision: this.options.branch,
          batchSize: 1,
          ...this.credentials,
        })) {
          if (head.message.includes(pushId))
            return { oid: head.oid, url: `${this.options.hubUrl}/${this.options.repo}/commit/${head.oid}` };
          break;
        }
      }
    }
  }

  /** The card text of `card.registryModel` in the run's registry, if it has one. */
  private async registryCard(): Promise<string | undefined> {
    const model = this.options.card.registryModel;
    if (!model || !this.run) return undefined;
    const details = await this.run
      .client()
      .registry.model({ model })
      .catch(() => undefined);
    return details?.card || undefined;
  }

  private async existingPaths(folder: string): Promise<string[]> {
    const paths: string[] = [];
    try {
      for await (const entry of listFiles({
        repo: this.repo,
        path: folder,
        recursive: true,
        revision: this.options.branch,
        ...this.credentials,
      }))
        if (entry.type === 'file') paths.push(entry.path);
    } catch (error) {
      if (!(error instanceof HubApiError && error.statusCode === 404)) throw error;
    }
    return paths;
  }

  /** Which of `paths` are files in the repo now (the Hub refuses to delete a missing file). */
  private async presentFiles(paths: string[]): Promise<string[]> {
    if (paths.length === 0) return [];
    try {
      const found = await pathsInfo({
        repo: this.repo,
        paths,
        revision: this.options.branch,
        ...this.credentials,
      });
      const files = new Set(found.filter((entry) => entry.type === 'file').map((entry) => entry.path));
      return paths.filter((path) => files.has(path));
    } catch (error) {
      if (error instanceof HubApiError && error.statusCode === 404) return [];
      throw error;
    }
  }

  /**
   * Files at the root that belong to the save pushed before and that this save no longer has:
   * the previous save is the one this pusher last pushed, and with `checkpoint` also the one in
   * `last-checkpoint/` (so a later run cleans up after an earlier one). Files never pushed as
   * part of a save (added by hand, `checkpoint-<step>/` folders) are not touched.
   */
  private async staleAtRoot(snapshot: Snapshot, previousCheckpoint: string[]): Promise<string[]> {
    const current = new Set(snapshot.files.map((file) => file.path));
    const candidates = new Set(this.lastRootPaths);
    for (const path of previousCheckpoint) candidates.add(path.slice(`${LAST_CHECKPOINT}/`.length));
    const gone = [...candidates]
      .filter((path) => !current.has(path) && path !== README && path !== '.gitattributes')
      .sort();
    return this.presentFiles(gone);
  }

  /** The files a push writes: the model at the root, plus the strategy's checkpoint folder. */
  private layout(snapshot: Snapshot, final: boolean): { folder?: string; files: SavedFile[] } {
    const root = snapshot.files;
    if (final) return { files: root };
    const folder =
      this.options.strategy === 'checkpoint'
        ? LAST_CHECKPOINT
        : this.options.strategy === 'all_checkpoints'
          ? `checkpoint-${snapshot.info.step}`
          : undefined;
    if (!folder) return { files: root };
    return {
      folder,
      files: [...root, ...root.map((file) => ({ ...file, path: `${folder}/${file.path}` }))],
    };
  }

  private async push(snapshot: Snapshot, final: boolean): Promise<HubPushResult> {
    const started = performance.now();
    const { step } = snapshot.info;
    await this.ensureRepo();
    const { folder, files } = this.layout(snapshot, final);
    this.options.onEvent?.({ type: 'push-started', step, paths: files.map((file) => file.path) });
    const record =
      this.run !== null &&
      (this.options.logModel === 'checkpoint' || (this.options.logModel === 'end' && final));
    try {
      // The previous checkpoint (also read for a final push: it tells what the root holds).
      const [existingCard, previousCheckpoint, registryCard] = await Promise.all([
        this.existingCard(),
        this.options.strategy === 'checkpoint' ? this.existingPaths(LAST_CHECKPOINT) : Promise.resolve([]),
        this.registryCard(),
      ]);
      const staleRoot = await this.staleAtRoot(snapshot, previousCheckpoint);
      const cardOptions = registryCard
        ? { ...this.options.card, text: [registryCard, this.options.card.text].filter(Boolean).join('\n\n') }
        : this.options.card;
      const card = mergeModelCard(existingCard, cardOptions, {
        run: this.run
          ? { id: this.run.id, name: this.run.name, project: this.run.project }
          : { id: '-', name: '-', project: this.options.repo },
        step,
        epoch: snapshot.info.epoch,
        metrics: snapshot.info.metrics ?? {},
        strategy: this.options.strategy,
        ...(record ? { artifact: `${this.run?.project}/${this.options.artifactName}` } : {}),
      });
      const written = [...files.filter((file) => file.path !== README), inMemory(README, card)];
      // `last-checkpoint/` and the root each become exactly this save: files of the previous save
      // that it no longer has are deleted in the same commit.
      const staleCheckpoint =
        folder === LAST_CHECKPOINT
          ? previousCheckpoint.filter((path) => !written.some((file) => file.path === path))
          : [];
      const stale = [...staleCheckpoint, ...staleRoot];
      const operations: CommitOperation[] = [
        ...written.map((file) => ({
          operation: 'addOrUpdate' as const,
          path: file.path,
          content: file.content,
        })),
        ...stale.map((path) => ({ operation: 'delete' as const, path })),
      ];
      const landed = await this.commitOnce(
        `${final ? 'End of training' : `Training in progress, step ${step}`} (Quiver)`,
        operations,
      );
      const result: HubPushResult = {
        step,
        commit: landed.oid,
        url: landed.url,
        paths: written.map((file) => file.path),
        final,
      };
      // The commit has landed: finish() must not push this save again, even if recording fails.
      this.lastPushedStep = step;
      this.lastRootPaths = snapshot.files.map((file) => file.path);
      this.pushes.push(result);
      if (record) result.version = await this.recordPush(result, written, snapshot.info);
      this.options.onEvent?.({
        type: 'push-done',
        step,
        commit: result.commit,
        seconds: (performance.now() - started) / 1000,
      });
      return result;
    } catch (error) {
      throw this.fail(error, `Pushing step ${step} to ${this.options.repo}`);
    }
  }

  /** The push as a version of `hf://` references: LFS oids from the Hub, small files hashed here. */
  private async recordPush(
    result: HubPushResult,
    written: SavedFile[],
    info: SaveInfo,
  ): Promise<ArtifactVersion> {
    const run = this.run as Run;
    const lfs = new Map<string, { oid: string; size: number }>();
    for await (const entry of listFiles({
      repo: this.repo,
      revision: result.commit,
      recursive: true,
      ...this.credentials,
    }))
      if (entry.lfs) lfs.set(entry.path, { oid: entry.lfs.oid, size: entry.lfs.size });
    const artifact = new Artifact(this.options.artifactName, 'model', {
      description: `Step ${info.step} of run ${run.name}, pushed to ${this.options.repo}@${result.commit.slice(0, 12)}.`,
      metadata: {
        format: 'huggingface-hub',
        hub: {
          repo: this.options.repo,
          hubUrl: this.options.hubUrl,
          branch: this.options.branch,
          revision: result.commit,
          commitUrl: result.url,
          strategy: this.options.strategy,
        },
        step: info.step,
        ...(info.epoch === undefined ? {} : { epoch: info.epoch }),
        metrics: info.metrics ?? {},
      },
    });
    for (const file of written) {
      const known = lfs.get(file.path);
      const sha256 = known?.oid ?? (await sha256Of(file.content));
      artifact.addReference(
        formatHfUri({ repo: this.options.repo, revision: result.commit, path: file.path }),
        {
          name: file.path,
          sha256,
          size: known?.size ?? file.size,
        },
      );
    }
    return run.logArtifact(artifact, { aliases: [`step-${info.step}`, ...(result.final ? ['final'] : [])] });
  }
}
