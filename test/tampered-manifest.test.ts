// A store whose manifest rows were changed by direct SQL writes (as anyone who can write to a
// shared PostgreSQL could, or a wrong server will): every consumer refuses the version, and
// nothing is written outside the download target.
import { lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Artifact, type EmbeddedBackend, init, isQuiverError, type QuiverClient } from '@quiver/core';
import { loadOnnxSession } from '@quiver/onnx';
import { loadModel } from '@quiver/tfjs';
import { loadPipeline } from '@quiver/transformers';
import { describe, expect, it } from 'vitest';
import { manifestDigest } from '../packages/core/src/manifest.js';
import { createTestStore, type TestStore, testBackends } from './support/backends.js';
import { runCli } from './support/processes.js';

/** Every file below `root` (not folders), as path → size; the metadata database is left out. */
function filesBelow(root: string): Map<string, number> {
  const files = new Map<string, number>();
  const walk = (dir: string): void => {
    for (const dirent of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, dirent.name);
      if (dirent.isDirectory()) walk(path);
      else if (!/^quiver\.db/.test(dirent.name) && !path.includes(`${join('blobs', 'pins')}`))
        files.set(relative(root, path), lstatSync(path).size);
    }
  };
  walk(root);
  return files;
}

const MODEL_JSON = JSON.stringify({
  modelTopology: { class_name: 'Sequential', config: { layers: [] } },
  weightsManifest: [{ paths: ['weights.bin'], weights: [] }],
});

interface Tamper {
  name: string;
  /** The change to the `weights.bin` row. */
  set: { path?: string; size?: number; sha256?: string };
  /** Also rewrite the version's digest to match, as a careful attacker would. */
  consistent: boolean;
  codes: string[];
  postgres?: false;
}

const OTHER = 'other.bin';
const cases: Tamper[] = [
  { name: "path '../x'", set: { path: '../x' }, consistent: true, codes: ['E_CORRUPT_MANIFEST'] },
  { name: "path '/abs'", set: { path: '/abs/evil.txt' }, consistent: true, codes: ['E_CORRUPT_MANIFEST'] },
  { name: "path 'a/../../b'", set: { path: 'a/../../b' }, consistent: true, codes: ['E_CORRUPT_MANIFEST'] },
  // PostgreSQL's text cannot hold NUL, so only SQLite can be tampered that way.
  {
    name: 'path with NUL',
    set: { path: 'a\u0000b' },
    consistent: true,
    codes: ['E_CORRUPT_MANIFEST'],
    postgres: false,
  },
  {
    name: 'path of 2,000 characters',
    set: { path: 'p'.repeat(2000) },
    consistent: true,
    codes: ['E_CORRUPT_MANIFEST'],
  },
  { name: 'size changed (row only)', set: { size: 7 }, consistent: false, codes: ['E_CORRUPT_MANIFEST'] },
  {
    name: 'size changed (digest rewritten)',
    set: { size: 7 },
    consistent: true,
    codes: ['E_CHECKSUM_MISMATCH'],
  },
  { name: 'negative size', set: { size: -5 }, consistent: true, codes: ['E_CORRUPT_MANIFEST'] },
  {
    name: 'digest of another blob (row only)',
    set: { sha256: OTHER },
    consistent: false,
    codes: ['E_CORRUPT_MANIFEST'],
  },
  {
    name: 'digest that is no sha256',
    set: { sha256: '../../../../etc/passwd' },
    consistent: true,
    codes: ['E_CORRUPT_MANIFEST'],
  },
  {
    name: 'digest of content that is not stored (digest rewritten)',
    set: { sha256: 'f'.repeat(64) },
    consistent: true,
    codes: ['E_BLOB_MISSING', 'E_CHECKSUM_MISMATCH'],
  },
];

/** The embedded backend under a test client (these tests run on embedded backends only). */
const embedded = (client: QuiverClient): EmbeddedBackend => client.store.backend as EmbeddedBackend;

/** The internal key of the version whose public id is `uid`. */
async function versionKey(client: QuiverClient, uid: string): Promise<number> {
  const row = await embedded(client)
    .connection.db.selectFrom('artifact_versions')
    .select('id')
    .where('uid', '=', uid)
    .executeTakeFirstOrThrow();
  return row.id;
}

async function tamper(client: QuiverClient, ref: string, change: Tamper, otherSha: string): Promise<void> {
  const db = embedded(client).connection.db;
  const version = { id: await versionKey(client, (await client.artifact(ref)).id) };
  const set: Record<string, unknown> = { ...change.set };
  if (set.sha256 === OTHER) set.sha256 = otherSha;
  await db
    .updateTable('manifest_entries')
    .set(set)
    .where('version_id', '=', version.id)
    .where('path', '=', 'weights.bin')
    .execute();
  if (change.consistent) {
    const rows = await db
      .selectFrom('manifest_entries')
      .selectAll()
      .where('version_id', '=', version.id)
      .execute();
    const digest = manifestDigest(
      rows.map((row) => ({
        path: row.path,
        sha256: row.sha256,
        size: Number(row.size),
        ...(row.ref_uri ? { ref: row.ref_uri } : {}),
      })),
    );
    await db.updateTable('artifact_versions').set({ digest }).where('id', '=', version.id).execute();
  }
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isQuiverError(error)) return error.code;
    throw error;
  }
  return 'accepted';
}

describe.each(testBackends())('tampered manifests on %s', (backend) => {
  it.each(cases.filter((change) => backend === 'sqlite' || change.postgres !== false))(
    '$name → refused by download, get, useModel, loadModel, loadOnnxSession, loadPipeline and verify; nothing written outside',
    { timeout: 120_000 },
    async (change) => {
      await using testStore: TestStore = await createTestStore(backend);
      const client = await testStore.client();
      const run = await init({ project: 'tamper', store: client.store });
      const version = await run.logArtifact(
        new Artifact('victim', 'model')
          .addBytes('model.json', MODEL_JSON)
          .addBytes('weights.bin', new Uint8Array(4096).fill(3))
          .addBytes('model.onnx', 'not really onnx')
          .addBytes('config.json', '{}'),
      );
      const other = await run.logArtifact(
        new Artifact('other', 'model').addBytes(OTHER, 'someone else’s secret'),
      );
      await run.finish();
      const [otherEntry] = await other.entries();
      await tamper(client, version.ref, change, otherEntry!.sha256);

      const target = join(testStore.dir, 'deep', 'a', 'target');
      mkdirSync(target, { recursive: true });
      writeFileSync(join(testStore.dir, 'deep', 'neighbour.txt'), 'keep');
      const before = filesBelow(testStore.dir);
      const store = client.store;
      const outcomes: Record<string, string> = {
        download: await refusal((await client.artifact(version.ref)).download(target)),
        loadModel: await refusal(loadModel(version.ref, { store })),
        loadOnnxSession: await refusal(loadOnnxSession(version.ref, {}, { store })),
        loadPipeline: await refusal(
          loadPipeline('text-classification', version.ref, { store, labels: ['a', 'b'] }),
        ),
      };
      const consumer = await init({ project: 'tamper', jobType: 'eval', store });
      outcomes.useModel = await refusal(consumer.useModel(version.ref));
      await consumer.finish();
      const cli = await runCli(['get', version.ref, target, '--json'], testStore.env);
      outcomes.cli =
        cli.code === 1
          ? (JSON.parse(cli.stdout) as { error: { code: string } }).error.code
          : `exit ${cli.code}`;
      for (const [consumerName, code] of Object.entries(outcomes))
        expect(change.codes, `${consumerName} gave ${code}`).toContain(code);
      // Verified entries may land in the targets (the folder given, the model caches); nothing
      // else is written anywhere, and the refused entry is written nowhere.
      const inTargets = (path: string): boolean =>
        path.startsWith(join('deep', 'a', 'target')) || path.startsWith('cache');
      const after = filesBelow(testStore.dir);
      expect(new Map([...after].filter(([path]) => !inTargets(path)))).toEqual(before);
      expect(
        [...after.keys()].filter((path) => path.endsWith('weights.bin') || path.endsWith('evil.txt')),
      ).toEqual([]);
      if (change.codes.includes('E_CORRUPT_MANIFEST')) expect(readdirSync(target)).toEqual([]);
      for (const escaped of [
        '/abs',
        join(testStore.dir, 'x'),
        join(testStore.dir, 'deep', 'b'),
        join(testStore.dir, 'b'),
      ])
        expect(() => lstatSync(escaped), escaped).toThrow();

      const verify = await client.verify();
      expect(verify.ok).toBe(false);
      expect(verify.problems.flatMap((problem) => problem.affected.map((item) => item.ref))).toContain(
        version.ref,
      );
    },
  );
});

describe.each(testBackends())('references read back on %s', (backend) => {
  it('an hf:// reference to a repo without an owner (hf://gpt2@main/…) is no credential: it commits and reads back', async () => {
    await using testStore = await createTestStore(backend);
    const client = await testStore.client();
    const version = await client.commit(
      new Artifact('gpt2', 'model').addReference('hf://gpt2@main/config.json', {
        name: 'config.json',
        sha256: 'a'.repeat(64),
        size: 12,
      }),
      { project: 'hub' },
    );
    expect((await version.entries()).map((entry) => entry.ref)).toEqual(['hf://gpt2@main/config.json']);
    const cli = await runCli(['artifact', 'show', version.ref, '--json'], testStore.env);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('hf://gpt2@main/config.json');
    expect((await client.verify()).problems).toEqual([]);
  });
});

describe.each(testBackends())('a version whose record was changed, on %s', (backend) => {
  it('is listed with its problem, refused when used, and can be deleted (as verify advises)', async () => {
    await using testStore = await createTestStore(backend);
    const client = await testStore.client();
    const good = await client.commit(new Artifact('m', 'model').addBytes('a.bin', 'good'), { project: 'p' });
    const bad = await client.commit(new Artifact('m', 'model').addBytes('a.bin', 'bad'), { project: 'p' });
    await embedded(client)
      .connection.db.updateTable('artifact_versions')
      .set({ digest: '../../../../tmp/evil' })
      .where('uid', '=', bad.id)
      .execute();
    const listed = await client.versions('p/m');
    expect(listed.map((version) => version.ref)).toEqual([bad.ref, good.ref]);
    expect(listed[0]!.problem).toContain('digest is not a sha256');
    expect(listed[1]!.problem).toBeUndefined();
    await expect(client.artifact(bad.ref)).rejects.toMatchObject({ code: 'E_CORRUPT_MANIFEST' });
    expect((await client.verify()).ok).toBe(false);
    await client.deleteVersion(bad.ref, { force: true });
    expect((await client.versions('p/m')).map((version) => version.ref)).toEqual([good.ref]);
    expect((await client.artifact('p/m:latest')).ref).toBe(good.ref);
    expect((await client.verify()).ok).toBe(true);
  });
});
