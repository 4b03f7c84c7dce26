import { Artifact, init, type QuiverBackendV1, type Store } from '@quiver/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceBackends, createTestStore, type TestStore } from './support/backends.js';

// What the web UI reads besides the listings it shares with the CLI: downsampled metric series,
// an entity's projects and a version's files a page at a time — on every backend, the server's
// HTTP mapping included.
describe.each(conformanceBackends())('the UI reads on %s', (backendName) => {
  let testStore: TestStore;
  let store: Store;
  let backend: QuiverBackendV1;

  beforeAll(async () => {
    testStore = await createTestStore(backendName);
    store = await testStore.open();
    backend = store.backend;
  });
  afterAll(async () => {
    await testStore.cleanup();
  });

  it('downsamples a long series to the points asked for, keeping each bucket’s mean, least and largest', async () => {
    const run = await init({ project: 'charts', store });
    // 10,000 steps: loss falls, with one spike at step 5000; acc logged every other step.
    for (let step = 0; step < 10_000; step++) {
      const values: Record<string, number> = { loss: step === 5000 ? 99 : 1 / (step + 1) };
      if (step % 2 === 0) values.acc = step / 10_000;
      run.log(values, { step });
    }
    await run.finish();
    const series = await backend.runs.series(run.id, { points: 100 });
    expect(series.steps).toBe(10_000);
    expect(series.keys).toEqual(['acc', 'loss']);
    expect(series.downsampled).toBe(true);
    const loss = series.series.find((s) => s.key === 'loss')!;
    expect(loss.step).toHaveLength(100);
    expect(loss.step.slice(0, 3)).toEqual([0, 100, 200]);
    // Bucket 0 holds steps 0–99: its mean, least and largest, exactly.
    const first = Array.from({ length: 100 }, (_, step) => 1 / (step + 1));
    expect(loss.value[0]).toBeCloseTo(first.reduce((a, b) => a + b) / 100, 12);
    expect(loss.min[0]).toBeCloseTo(1 / 100, 12);
    expect(loss.max[0]).toBe(1);
    // The spike is not averaged away: bucket 50 (steps 5000–5099) keeps it as its largest.
    expect(loss.max[50]).toBe(99);
    expect(Math.max(...loss.max)).toBe(99);
    const acc = series.series.find((s) => s.key === 'acc')!;
    expect(acc.step).toHaveLength(100);
    expect(acc.max.at(-1)).toBeCloseTo(9998 / 10_000, 12);

    // One key, and every point when the run has fewer steps than asked for.
    const one = await backend.runs.series(run.id, { keys: ['acc'], points: 10_000 });
    expect(one.series.map((s) => s.key)).toEqual(['acc']);
    expect(one.downsampled).toBe(false);
    expect(one.series[0]!.step).toHaveLength(5000);
    expect(one.series[0]!.value[3]).toBeCloseTo(6 / 10_000, 12);
    expect(one.keys).toEqual(['acc', 'loss']);
    // Unknown keys give no series; bad point counts are refused with what to send.
    expect((await backend.runs.series(run.id, { keys: ['nope'] })).series).toEqual([]);
    for (const points of [1, 10_001, 2.5])
      await expect(backend.runs.series(run.id, { points })).rejects.toMatchObject({
        code: expect.stringMatching(/^E_INVALID_(OPTION|REQUEST)$/),
      });
    await expect(backend.runs.series('nosuchrun', {})).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });

  it("lists an entity's projects with their run and artifact counts, newest first", async () => {
    const older = await init({ project: 'older', store });
    await older.finish();
    const newer = await init({ project: 'newer', store });
    await newer.logArtifact(new Artifact('data', 'dataset').addBytes('a.txt', 'a'));
    await newer.logArtifact(new Artifact('model', 'model').addBytes('w.bin', 'w'));
    await newer.finish();
    const projects = await backend.runs.projects({});
    const byName = new Map(projects.map((project) => [project.name, project]));
    expect(byName.get('newer')).toMatchObject({ runs: 1, artifacts: 2 });
    expect(byName.get('older')).toMatchObject({ runs: 1, artifacts: 0 });
    const names = projects.map((project) => project.name);
    expect(names.indexOf('newer')).toBeLessThan(names.indexOf('older'));
    expect(projects.every((project) => project.entity === store.settings.entity)).toBe(true);
  });

  it("pages a version's 2,500 files in path order, by prefix too, without repeats or gaps", async () => {
    // Paging is about the manifest's entries, not the blobs: 2,500 paths share 50 contents, so the
    // S3 backends upload 50 objects, not 2,500 (which took over a minute on a loaded CI machine).
    const artifact = new Artifact('many-files', 'dataset');
    const paths: string[] = [];
    for (let i = 0; i < 2500; i++) {
      const path = `${i % 2 === 0 ? 'train' : 'val'}/${String(i).padStart(5, '0')}.txt`;
      paths.push(path);
      artifact.addBytes(path, `file ${i % 50}`);
    }
    const run = await init({ project: 'files', store });
    const version = await run.logArtifact(artifact);
    await run.finish();
    const seen: string[] = [];
    let cursor: string | null | undefined;
    let pages = 0;
    do {
      const page = await backend.artifacts.files(version.id, { cursor, limit: 1000 });
      expect(page.items.length).toBeLessThanOrEqual(1000);
      seen.push(...page.items.map((entry) => entry.path));
      cursor = page.next;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...paths].sort());
    const val = await backend.artifacts.files(version.id, { prefix: 'val/', limit: 5 });
    expect(val.items.map((entry) => entry.path)).toEqual(
      [...paths]
        .filter((path) => path.startsWith('val/'))
        .sort()
        .slice(0, 5),
    );
    expect(val.items[0]).toMatchObject({
      size: expect.any(Number),
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    await expect(backend.artifacts.files('01NOSUCHVERSION00000000000')).rejects.toMatchObject({
      code: 'E_NOT_FOUND',
    });
  });
});
