/**
 * Pushing checkpoints to a Hub repo through the real @huggingface/hub client, against the Hub
 * stand-in: what lands in the repo for each strategy, skipping while a push is in flight, typed
 * errors, retries, the model card, and the hf:// versions that record each push.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { init, isQuiverError, type QuiverClient, type Run, type Store } from '@quiver/core';
import { checkpointCallback } from '@quiver/tfjs';
import { HubPusher, type HubPushOptions, hubCheckpoints, importFromHub } from '@quiver/transformers';
import { type HubServer, startHubServer } from '@quiver/transformers/testing';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTestStore, sdkBackends, type TestStore } from '../support/backends.js';
import { runCli } from '../support/processes.js';
import { dataset, smallClassifier, useWasm } from '../tfjs/support.js';

let server: HubServer;
let token: string;
let readOnlyToken: string;
/** Numbers repos and artifacts: unique across both backends, which share the one Hub stand-in. */
let counter = 0;
const scratch = mkdtempSync(join(tmpdir(), 'quiver-hub-push-'));

beforeAll(async () => {
  server = await startHubServer({ lfsThreshold: 64 * 1024 });
  token = server.createToken({ user: 'trainer' });
  readOnlyToken = server.createToken({ user: 'trainer', role: 'read' });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  vi.stubEnv('HF_ENDPOINT', server.url);
  vi.stubEnv('HF_TOKEN', token);
});
afterEach(() => {
  vi.unstubAllEnvs();
  server.clearFaults();
});

/** A checkpoint folder: a big binary file (LFS) and a small JSON file (inline). */
function checkpoint(step: number, extra: Record<string, string> = {}): string {
  const dir = join(scratch, `save-${counter}-${step}`);
  mkdirSync(dir, { recursive: true });
  const weights = Buffer.alloc(200 * 1024, step);
  weights.writeUInt32LE(step * 7919, 0);
  writeFileSync(join(dir, 'weights.bin'), weights);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ step }));
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text);
  return dir;
}

function pusher(run: Run, repo: string, options: HubPushOptions = {}): HubPusher {
  return new HubPusher(run, { repo, ...options });
}

const pushCommits = (repo: string) =>
  server.commits(repo).filter((commit) => commit.summary.includes('(Quiver)'));
const treePaths = (repo: string) =>
  server
    .tree(repo)
    .map((file) => file.path)
    .filter((path) => path !== '.gitattributes')
    .sort();

describe.each(sdkBackends())('Hub pushes on %s', (backend) => {
  let testStore: TestStore;
  let store: Store;
  let client: QuiverClient;

  beforeAll(async () => {
    testStore = await createTestStore(backend);
    store = await testStore.open();
    client = await testStore.client();
  });
  afterAll(async () => testStore?.cleanup());

  /** A fresh repo name, and a run to push from. */
  async function setup(): Promise<{ repo: string; run: Run }> {
    counter++;
    return { repo: `trainer/model-${counter}`, run: await init({ project: 'hub', store }) };
  }

  describe('strategies', () => {
    it('end: nothing until finish, then one commit of the final model at the root', async () => {
      const { repo, run } = await setup();
      const hub = pusher(run, repo, { strategy: 'end' });
      for (const step of [10, 20, 30])
        await hub.onSave(checkpoint(step), { step, epoch: step / 10, metrics: { loss: 1 / step } });
      await hub.flush();
      expect(server.hasRepo(repo)).toBe(false);
      const result = await hub.finish();
      expect(pushCommits(repo).map((commit) => commit.summary)).toEqual(['End of training (Quiver)']);
      expect(treePaths(repo)).toEqual(['README.md', 'config.json', 'weights.bin']);
      expect(JSON.parse(server.readFile(repo, 'config.json')!.toString())).toEqual({ step: 30 });
      expect(result?.version?.aliases).toEqual(expect.arrayContaining(['final', 'step-30', 'latest']));
    });

    it('every_save: each save pushed to the root; the last is final', async () => {
      const { repo, run } = await setup();
      const hub = pusher(run, repo, { strategy: 'every_save' });
      for (const step of [1, 2, 3]) {
        await hub.onSave(checkpoint(step), { step });
        await hub.flush();
      }
      await hub.finish();
      expect(pushCommits(repo).map((commit) => commit.summary)).toEqual([
        'Training in progress, step 1 (Quiver)',
        'Training in progress, step 2 (Quiver)',
        'Training in progress, step 3 (Quiver)',
      ]);
      expect(treePaths(repo)).toEqual(['README.md', 'config.json', 'weights.bin']);
      const versions = await client.versions('hub', `hub-model-${counter}`);
      expect(versions.map((version) => version.aliases.filter((alias) => alias !== 'latest').sort())).toEqual(
        [['final', 'step-3'], ['step-2'], ['step-1']],
      );
    });

    it('checkpoint: the latest checkpoint at the root and in last-checkpoint/, replacing the previous one in both', async () => {
      const { repo, run } = await setup();
      server.createRepo({ repo, files: { LICENSE: 'MIT, added by hand' } });
      const hub = pusher(run, repo, { strategy: 'checkpoint' });
      await hub.onSave(checkpoint(1, { 'optimizer.bin': 'adam state' }), { step: 1 });
      await hub.flush();
      await hub.onSave(checkpoint(2), { step: 2 });
      await hub.finish();
      // optimizer.bin of step 1 is gone from the root too; the file added by hand stays.
      expect(treePaths(repo)).toEqual([
        'LICENSE',
        'README.md',
        'config.json',
        'last-checkpoint/config.json',
        'last-checkpoint/weights.bin',
        'weights.bin',
      ]);
      const second = pushCommits(repo)[1]!;
      expect(second.deleted.sort()).toEqual(['last-checkpoint/optimizer.bin', 'optimizer.bin']);
      expect(JSON.parse(server.readFile(repo, 'last-checkpoint/config.json')!.toString())).toEqual({
        step: 2,
      });
      expect(JSON.parse(server.readFile(repo, 'config.json')!.toString())).toEqual({ step: 2 });
    });

    it('checkpoint: a later run cleans what the earlier run left at the root (read from last-checkpoint/)', async () => {
      const { repo, run } = await setup();
      const first = pusher(run, repo, { strategy: 'checkpoint' });
      await first.onSave(checkpoint(1, { 'tokenizer.json': '{}' }), { step: 1 });
      await first.flush();
      expect(treePaths(repo)).toContain('tokenizer.json');
      const resumed = pusher(await init({ project: 'hub', store }), repo, { strategy: 'checkpoint' });
      await resumed.onSave(checkpoint(2), { step: 2 });
      await resumed.finish();
      expect(treePaths(repo)).toEqual([
        'README.md',
        'config.json',
        'last-checkpoint/config.json',
        'last-checkpoint/weights.bin',
        'weights.bin',
      ]);
      expect(pushCommits(repo).at(-1)!.deleted.sort()).toEqual([
        'last-checkpoint/tokenizer.json',
        'tokenizer.json',
      ]);
    });

    it('every_save: root files an earlier save pushed and the latest save lacks are deleted', async () => {
      const { repo, run } = await setup();
      const hub = pusher(run, repo, { strategy: 'every_save' });
      await hub.onSave(checkpoint(1, { 'optimizer.bin': 'adam state' }), { step: 1 });
      await hub.flush();
      await hub.onSave(checkpoint(2, { 'extra.txt': 'only at step 2' }), { step: 2 });
      await hub.flush();
      expect(treePaths(repo)).toEqual(['README.md', 'config.json', 'extra.txt', 'weights.bin']);
      await hub.onSave(checkpoint(3), { step: 3 });
      await hub.finish();
      expect(treePaths(repo)).toEqual(['README.md', 'config.json', 'weights.bin']);
      expect(pushCommits(repo).map((commit) => commit.deleted)).toEqual([
        [],
        ['optimizer.bin'],
        ['extra.txt'],
      ]);
    });

    it('the final push of a skipped save cleans the root as well', async () => {
      const { repo, run } = await setup();
      const held = server.delay({ ms: 60_000, match: { endpoint: 'commit' } });
      const hub = pusher(run, repo, { strategy: 'checkpoint' });
      await hub.onSave(checkpoint(1, { 'optimizer.bin': 'adam state' }), { step: 1 });
      await held.reached;
      await hub.onSave(checkpoint(2), { step: 2 }); // skipped: the push of step 1 is in flight
      held.release();
      await hub.finish();
      expect(pushCommits(repo).map((commit) => commit.summary)).toEqual([
        'Training in progress, step 1 (Quiver)',
        'End of training (Quiver)',
      ]);
      expect(pushCommits(repo).at(-1)!.deleted).toEqual(['optimizer.bin']);
      expect(treePaths(repo)).not.toContain('optimizer.bin');
      // last-checkpoint/ stays the last checkpoint pushed (step 1), as the Trainer's end push leaves it.
      expect(treePaths(repo)).toContain('last-checkpoint/optimizer.bin');
    });

    it('all_checkpoints: each checkpoint in its own checkpoint-<step>/ folder', async () => {
      const { repo, run } = await setup();
      const hub = pusher(run, repo, { strategy: 'all_checkpoints' });
      for (const step of [5, 10]) {
        await hub.onSave(checkpoint(step), { step });
        await hub.flush();
      }
      await hub.finish();
      expect(treePaths(repo)).toEqual([
        'README.md',
        'checkpoint-10/config.json',
        'checkpoint-10/weights.bin',
        'checkpoint-5/config.json',
        'checkpoint-5/weights.bin',
        'config.json',
        'weights.bin',
      ]);
    });

    it('skips saves while a push is in flight, and pushes every save in order with alwaysPush', async () => {
      const { repo, run } = await setup();
      const held = server.delay({ ms: 60_000, match: { endpoint: 'commit' } });
      const hub = pusher(run, repo, { strategy: 'every_save' });
      await hub.onSave(checkpoint(1), { step: 1 });
      await held.reached;
      const started = performance.now();
      await hub.onSave(checkpoint(2), { step: 2 });
      await hub.onSave(checkpoint(3), { step: 3 });
      // Saving does not wait for the push in flight.
      expect(performance.now() - started).toBeLessThan(1000);
      held.release();
      await hub.finish();
      expect(hub.skipped.map((skip) => skip.step)).toEqual([2, 3]);
      expect(pushCommits(repo).map((commit) => commit.summary)).toEqual([
        'Training in progress, step 1 (Quiver)',
        'End of training (Quiver)',
      ]);
      expect(JSON.parse(server.readFile(repo, 'config.json')!.toString())).toEqual({ step: 3 });

      const queued = await setup();
      const heldAgain = server.delay({ ms: 60_000, match: { endpoint: 'commit' } });
      const always = pusher(queued.run, queued.repo, { alwaysPush: true });
      await always.onSave(checkpoint(1), { step: 1 });
      await heldAgain.reached;
      await always.onSave(checkpoint(2), { step: 2 });
      await always.onSave(checkpoint(3), { step: 3 });
      heldAgain.release();
      await always.finish();
      expect(always.skipped).toEqual([]);
      expect(pushCommits(queued.repo).map((commit) => commit.summary)).toEqual([
        'Training in progress, step 1 (Quiver)',
        'Training in progress, step 2 (Quiver)',
        'Training in progress, step 3 (Quiver)',
      ]);
    });
  });

  describe('failures', () => {
    async function finishError(options: HubPushOptions, prepare?: (repo: string) => void): Promise<unknown> {
      const { repo, run } = await setup();
      prepare?.(repo);
      const hub = pusher(run, repo, { strategy: 'end', ...options });
      await hub.onSave(checkpoint(1), { step: 1 });
      return hub.finish().catch((error: unknown) => error);
    }

    it.each([
      ['E_HUB_UNAUTHORIZED', 401, () => ({ token: 'hf_not_a_known_token_000' })],
      ['E_HUB_FORBIDDEN', 403, () => ({ token: readOnlyToken })],
      ['E_HUB_NOT_FOUND', undefined, () => ({ createRepo: false })],
    ] as const)('%s surfaces as a typed error without the token', async (code, status, options) => {
      const error = await finishError(options());
      expect(isQuiverError(error, code), String(error)).toBe(true);
      if (status) expect((error as { details: { status: number } }).details.status).toBe(status);
      expect((error as Error).message).not.toContain(token);
      expect((error as Error).message).not.toContain(readOnlyToken);
      expect((error as Error).message).not.toContain('hf_not_a_known_token_000');
    });

    it('E_HUB_CONFLICT for a 409 on the commit', async () => {
      const error = await finishError({}, (repo) =>
        server.failNext({ status: 409, match: { endpoint: 'commit', repo } }),
      );
      expect(isQuiverError(error, 'E_HUB_CONFLICT'), String(error)).toBe(true);
    });

    it('bad options are refused before any request (and before training, for the hook)', async () => {
      expect(() => new HubPusher(null, { repo: 'trainer/x', token: 'secret-123' })).toThrow(
        /does not start with "hf_"/,
      );
      expect(() => hubCheckpoints({})).toThrow(/QUIVER_HUB_REPO/);
      expect(() => hubCheckpoints({ repo: 'no-owner' })).toThrow(/"owner\/name"/);
      const { run } = await setup();
      const hub = pusher(run, 'trainer/x');
      await expect(hub.onSave(checkpoint(1), { step: Number.NaN })).rejects.toMatchObject({
        code: 'E_INVALID_STEP',
      });
      // The token stays inside the pusher.
      expect(JSON.stringify(hub.options)).not.toContain(token);
      expect(inspect(hub, { depth: 4 })).not.toContain(token);
    });

    it('retries 5xx answers and dropped connections', async () => {
      const { repo, run } = await setup();
      server.failNext({ status: 503, count: 2, match: { endpoint: 'commit' } });
      server.dropNext({ match: { endpoint: 'preupload' } });
      const retries: string[] = [];
      const hub = pusher(run, repo, {
        strategy: 'end',
        onEvent: (event) => event.type === 'push-retry' && retries.push(event.reason),
      });
      await hub.onSave(checkpoint(1), { step: 1 });
      await hub.finish();
      expect(pushCommits(repo)).toHaveLength(1);
      expect(retries).toEqual(expect.arrayContaining(['HTTP 503']));
      expect(retries).toHaveLength(3);
    });

    it('a commit whose answer was lost is not committed twice', async () => {
      const { repo, run } = await setup();
      server.dropNext({ match: { endpoint: 'commit', repo }, when: 'response' });
      const hub = pusher(run, repo, { strategy: 'end' });
      await hub.onSave(checkpoint(1), { step: 1 });
      const result = await hub.finish();
      expect(pushCommits(repo)).toHaveLength(1);
      expect(result?.commit).toBe(pushCommits(repo)[0]?.oid);
      expect(result?.version?.metadata).toMatchObject({ hub: { revision: result?.commit } });
    });

    it("a failing background push warns (onError 'warn') or makes finish throw ('throw')", async () => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      try {
        for (const onError of ['warn', 'throw'] as const) {
          const { repo, run } = await setup();
          server.failNext({ status: 403, match: { endpoint: 'commit', repo } });
          const hub = pusher(run, repo, { onError });
          await hub.onSave(checkpoint(1), { step: 1 });
          await hub.flush();
          expect(hub.failures).toHaveLength(1);
          if (onError === 'warn') {
            await expect(hub.finish()).resolves.toBeDefined();
            expect(warn).toHaveBeenCalledWith(expect.stringContaining('pushing step 1 to the Hub failed'));
          } else await expect(hub.finish()).rejects.toMatchObject({ code: 'E_HUB_FORBIDDEN' });
        }
        for (const call of warn.mock.calls) expect(String(call[0])).not.toContain(token);
      } finally {
        warn.mockRestore();
      }
    });
  });

  describe('model card', () => {
    it("carries the registry model's card, and leaves a card with unreadable metadata as it is", async () => {
      const { repo, run } = await setup();
      await client.registry.createModel({
        model: `carded-${counter}`,
        card: 'Registry card: trained on topics.',
      });
      const hub = pusher(run, repo, { strategy: 'end', card: { registryModel: `carded-${counter}` } });
      await hub.onSave(checkpoint(1), { step: 1 });
      await hub.finish();
      expect(server.readFile(repo, 'README.md')!.toString()).toContain('Registry card: trained on topics.');

      const broken = await setup();
      const text = '---\nlicense: [unclosed\n---\n\n# Kept\n';
      server.createRepo({ repo: broken.repo, files: { 'README.md': text } });
      const second = pusher(broken.run, broken.repo, { strategy: 'end' });
      await second.onSave(checkpoint(1), { step: 1 });
      await second.finish();
      expect(server.readFile(broken.repo, 'README.md')!.toString()).toBe(text);
    });

    it('merges into an existing README: keeps its metadata and text, replaces only the Quiver section', async () => {
      const { repo, run } = await setup();
      server.createRepo({
        repo,
        files: {
          'README.md': '---\nlicense: mit\ntags:\n  - handmade\n---\n\n# Handmade\n\nWritten by a person.\n',
        },
      });
      const hub = pusher(run, repo, {
        card: {
          pipelineTag: 'text-classification',
          baseModel: 'trainer/base',
          tags: ['tfjs'],
          text: 'From the registry card.',
        },
      });
      await hub.onSave(checkpoint(1), { step: 1, metrics: { loss: 0.5, accuracy: 0.75 } });
      await hub.flush();
      await hub.onSave(checkpoint(2), { step: 2, metrics: { loss: 0.25, accuracy: 0.875 } });
      await hub.finish();
      const card = server.readFile(repo, 'README.md')!.toString();
      expect(card).toMatch(/^---\n/);
      expect(card).toContain('license: mit');
      expect(card).toContain('pipeline_tag: text-classification');
      expect(card).toContain('base_model: trainer/base');
      expect(card).toContain('library_name: tfjs');
      for (const tag of ['handmade', 'quiver', 'tfjs']) expect(card).toContain(`  - ${tag}`);
      expect(card).toContain('  - accuracy');
      expect(card).toContain('# Handmade\n\nWritten by a person.');
      expect(card.match(/<!-- quiver:begin -->/g)).toHaveLength(1);
      expect(card).toContain('| accuracy | 0.875 |');
      expect(card).not.toContain('| accuracy | 0.75 |');
      expect(card).toContain('From the registry card.');
      expect(card).not.toContain(token);
    });
  });

  describe('hf:// versions', () => {
    it('record each push as references with the LFS oid; get downloads from the Hub and verifies', async () => {
      const { repo, run } = await setup();
      const hub = pusher(run, repo, { strategy: 'end' });
      const dir = checkpoint(1);
      await hub.onSave(dir, { step: 1 });
      const result = await hub.finish();
      const version = result!.version!;
      const entries = await version.entries();
      const lfsFile = server.tree(repo).find((file) => file.path === 'weights.bin')!;
      expect(lfsFile.lfs).toBeDefined();
      expect(entries.find((entry) => entry.path === 'weights.bin')).toMatchObject({
        ref: `hf://${repo}@${result!.commit}/weights.bin`,
        sha256: lfsFile.lfs!.oid,
        size: 200 * 1024,
      });
      expect(entries.map((entry) => entry.path)).toEqual(['README.md', 'config.json', 'weights.bin']);
      expect(version.producedBy).toBe(run.id);
      expect(JSON.stringify(version.metadata)).not.toContain(token);
      expect(version.metadata).toMatchObject({ hub: { repo, revision: result!.commit, strategy: 'end' } });

      const target = await version.download(join(scratch, `download-${counter}`));
      expect(readFileSync(join(target, 'weights.bin')).equals(readFileSync(join(dir, 'weights.bin')))).toBe(
        true,
      );

      const cli = await runCli(['artifact', 'get', version.ref, join(scratch, `cli-${counter}`), '--json'], {
        ...testStore.env,
        HF_ENDPOINT: server.url,
        HF_TOKEN: token,
      });
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stdout + cli.stderr).not.toContain(token);

      server.tamper(repo, 'weights.bin', { revision: result!.commit });
      const error = await version
        .download(join(scratch, `tampered-${counter}`))
        .catch((caught: unknown) => caught);
      expect(isQuiverError(error, 'E_CHECKSUM_MISMATCH'), String(error)).toBe(true);
      expect((error as Error).message).toContain('weights.bin');
    });

    it('QUIVER_LOG_MODEL: end records only the final push, false records none; bad values name the variable', async () => {
      for (const [value, expected] of [
        ['end', [['final', 'step-2']]],
        ['true', [['final', 'step-2']]],
        ['false', []],
      ] as const) {
        vi.stubEnv('QUIVER_LOG_MODEL', value);
        const { repo, run } = await setup();
        const hub = pusher(run, repo);
        for (const step of [1, 2]) {
          await hub.onSave(checkpoint(step), { step });
          await hub.flush();
        }
        await hub.finish();
        expect(pushCommits(repo).length).toBeGreaterThanOrEqual(2);
        const versions = await client
          .versions('hub', `hub-model-${counter}`)
          .toArray()
          .catch(() => []);
        expect(
          versions.map((version) => version.aliases.filter((alias) => alias !== 'latest').sort()),
        ).toEqual(expected);
      }
      vi.stubEnv('QUIVER_LOG_MODEL', 'sometimes');
      expect(() => new HubPusher(null, { repo: 'trainer/x' })).toThrow(
        /QUIVER_LOG_MODEL="sometimes" is not valid; use end, checkpoint or false/,
      );
      vi.stubEnv('QUIVER_LOG_MODEL', 'checkpoint');
      vi.stubEnv('QUIVER_HUB_STRATEGY', 'hourly');
      expect(() => new HubPusher(null, { repo: 'trainer/x' })).toThrow(/QUIVER_HUB_STRATEGY="hourly"/);
      vi.stubEnv('QUIVER_HUB_STRATEGY', 'all_checkpoints');
      vi.stubEnv('QUIVER_HUB_REPO', 'trainer/from-env');
      expect(new HubPusher(null).options).toMatchObject({
        repo: 'trainer/from-env',
        strategy: 'all_checkpoints',
        hubUrl: server.url,
      });
    });
  });

  describe('importFromHub', () => {
    it('imports a revision as pinned references (or copies), verifiable and linkable', async () => {
      counter++;
      const repo = `trainer/imported-${counter}`;
      const weights = Buffer.alloc(100 * 1024, 3);
      const { commit } = server.createRepo({
        repo,
        files: { 'model.bin': weights, 'config.json': '{"a":1}' },
      });
      const referenced = await importFromHub(repo, { project: 'imports', store, aliases: ['upstream'] });
      expect(referenced.metadata).toMatchObject({ hub: { repo, revision: commit, imported: 'reference' } });
      const entries = await referenced.entries();
      expect(entries.find((entry) => entry.path === 'model.bin')?.ref).toBe(
        `hf://${repo}@${commit}/model.bin`,
      );
      const dir = await referenced.download(join(scratch, `import-${counter}`));
      expect(readFileSync(join(dir, 'model.bin')).equals(weights)).toBe(true);
      await client.registry.link(referenced.ref, { model: `imported-${counter}` }, { create: true });

      const copied = await importFromHub(repo, { project: 'imports', store, copy: true, name: 'copied' });
      expect((await copied.entries()).every((entry) => entry.ref === undefined)).toBe(true);

      server.tamper(repo, 'model.bin');
      const error = await importFromHub(repo, {
        project: 'imports',
        store,
        copy: true,
        name: 'tampered',
      }).catch((caught: unknown) => caught);
      expect(isQuiverError(error, 'E_CHECKSUM_MISMATCH'), String(error)).toBe(true);
      expect(
        (await client.artifacts({ project: 'imports' })).map((artifact) => artifact.name).sort(),
      ).toEqual(['copied', `hub-imported-${counter}`]);
    });
  });

  describe('the TF.js callback with hubCheckpoints', () => {
    it('training goes on while a push is held; the end waits for it and pushes the final checkpoint', async () => {
      await useWasm();
      const { repo, run } = await setup();
      const held = server.delay({ ms: 60_000, match: { endpoint: 'commit', repo } });
      const hook = hubCheckpoints({ repo, strategy: 'checkpoint' });
      const model = smallClassifier();
      const callback = checkpointCallback(run, model, { logModel: 'all', hooks: [hook] });
      const commitsAtEpochEnd: number[] = [];
      const observer = new tf.CustomCallback({
        onEpochEnd: async () => {
          commitsAtEpochEnd.push(server.hasRepo(repo) ? pushCommits(repo).length : 0);
        },
        // Every epoch has run and every save has reached the pusher (a save reaches it once its
        // checkpoint is stored, which takes longer on PostgreSQL); now let the first push (held at
        // its commit request) through.
        onTrainEnd: async () => {
          await callback.drain();
          await held.reached;
          held.release();
        },
      });
      const { xs, ys } = dataset(32);
      await model.fit(xs, ys, {
        epochs: 4,
        batchSize: 16,
        verbose: 0,
        callbacks: [observer, callback],
      });
      await run.finish();
      // No push had landed when any epoch ended: training never waited for one.
      expect(commitsAtEpochEnd).toEqual([0, 0, 0, 0]);
      expect(hook.pusher?.skipped.length).toBeGreaterThanOrEqual(2);
      // The checkpoint of epoch 1 has step 0: the _step of epoch 1's metrics row.
      expect(pushCommits(repo).map((commit) => commit.summary)).toEqual([
        'Training in progress, step 0 (Quiver)',
        'End of training (Quiver)',
      ]);
      expect(treePaths(repo)).toEqual([
        'README.md',
        'last-checkpoint/model.json',
        'last-checkpoint/weights.bin',
        'model.json',
        'weights.bin',
      ]);
      const recorded = await client.versions('hub', `hub-model-${counter}`);
      expect(recorded[0]?.aliases).toEqual(expect.arrayContaining(['final']));
    });
  });
});
