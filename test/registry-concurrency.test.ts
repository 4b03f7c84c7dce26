import { Artifact, init, type QuiverEvent } from '@quiver/core';
import { describe, expect, it } from 'vitest';
import { createTestStore, testBackends } from './support/backends.js';
import { runScript } from './support/processes.js';

describe.each(testBackends())('registry under concurrency on %s', (backend) => {
  it('two processes move production 200 times each while a third links: always exactly one holder, history in order, versions contiguous', {
    timeout: 300_000,
  }, async () => {
    await using testStore = await createTestStore(backend);
    const store = await testStore.open();
    const client = await testStore.client();
    const run = await init({ project: 'race-training', store });
    for (let index = 0; index < 5; index++) {
      const version = await run.logArtifact(
        new Artifact('base', 'model').addBytes('weights.bin', `base ${index}`),
      );
      await client.registry.link(version.ref, { model: 'race' }, { create: true });
    }
    // v4 holds production first; the movers use v0/v1 and v2/v3, so every one of their calls is a real move.
    await client.registry.setAlias('registry/race:v4', 'production', { force: true });
    await run.finish();

    const children = Promise.all([
      runScript('test/children/registry-mover.ts', ['0', '1', '200'], testStore.env),
      runScript('test/children/registry-mover.ts', ['2', '3', '200'], testStore.env),
      runScript('test/children/registry-linker.ts', ['30'], testStore.env),
    ]);
    let done = false;
    const finished = children.finally(() => {
      done = true;
    });
    let observations = 0;
    while (!done) {
      const holders = await store.backend.connection.db
        .selectFrom('registry_aliases')
        .innerJoin('registered_models', 'registered_models.id', 'registry_aliases.model_id')
        .select('registry_aliases.link_id')
        .where('registered_models.name', '=', 'race')
        .where('registry_aliases.alias', '=', 'production')
        .execute();
      expect(holders).toHaveLength(1);
      const resolved = await client.registry.version('registry/race:production');
      expect(resolved.aliases).toContain('production');
      observations++;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const results = await finished;
    for (const result of results) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
    expect(observations).toBeGreaterThan(10);

    const history = await client.registry.history({ model: 'race' });
    const moves = history.filter(
      (event) => (event.after as { alias?: string } | null)?.alias === 'production',
    );
    expect(moves).toHaveLength(1 + 400); // the first set, then every move of both processes
    for (let index = 1; index < moves.length; index++) {
      expect(moves[index]!.action).toBe('alias.move');
      // each move starts where the previous one left production: the log is in the order applied
      expect((moves[index]!.before as { version: number }).version).toBe(
        (moves[index - 1]!.after as { version: number }).version,
      );
      expect(moves[index]!.sequence).toBeGreaterThan(moves[index - 1]!.sequence);
    }
    const final = await client.registry.version('registry/race:production');
    expect(final.version).toBe((moves.at(-1)!.after as { version: number }).version);

    const model = await client.registry.model({ model: 'race' });
    expect(model.versions.map((version) => version.version).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 35 }, (_, index) => index),
    );
    expect(model.aliases.latest).toBe(34);
  });

  it('linking the same source 50 times from each of 5 processes gives one registry version', {
    timeout: 300_000,
  }, async () => {
    await using testStore = await createTestStore(backend);
    const store = await testStore.open();
    const run = await init({ project: 'race-training', store });
    await run.logArtifact(new Artifact('source', 'model').addBytes('weights.bin', 'the one'));
    await run.finish();
    const results = await Promise.all(
      [0, 1, 2, 3, 4].map(() => runScript('test/children/registry-same-link.ts', ['50'], testStore.env)),
    );
    for (const result of results) expect(result.stderr).toBe('');
    const client = await testStore.client();
    const model = await client.registry.model({ model: 'same' });
    expect(model.versions.map((version) => [version.version, version.aliases])).toEqual([
      [0, ['latest', 'staging']],
    ]);
    const history = await client.registry.history({ model: 'same' });
    expect(history.map((event) => event.action)).toEqual(['model.create', 'link', 'alias.set', 'alias.set']);
  });
  it('four processes racing every kind of write keep the event log gap-free and in order', {
    timeout: 300_000,
  }, async () => {
    await using testStore = await createTestStore(backend);
    const steps = 12;
    const results = await Promise.all(
      ['0', '1', '2', '3'].map((worker) =>
        runScript('test/children/event-mixer.ts', [worker, String(steps)], testStore.env),
      ),
    );
    // a deadlock or a lost lock surfaces as a child's error
    for (const result of results) expect(result.stderr).toBe('');
    const client = await testStore.client();
    const events: QuiverEvent[] = [];
    for (let after = 0; ; ) {
      const page = await client.events({ after });
      if (page.length === 0) break;
      events.push(...page);
      after = page.at(-1)!.position;
    }
    expect(events.map((event) => event.position)).toEqual(events.map((_, index) => index + 1));
    for (const topic of ['registry', 'artifacts', 'runs'] as const) {
      const sequences = events.filter((event) => event.topic === topic).map((event) => event.sequence);
      expect(sequences).toEqual(sequences.map((_, index) => index + 1));
    }
    const count = (action: string) => events.filter((event) => event.action === action).length;
    expect(count('version.create')).toBe(4 * steps);
    expect(count('link')).toBe(4 * steps);
    expect(count('version.tag')).toBe(4 * steps);
    expect(count('artifact.alias.set') + count('artifact.alias.move')).toBe(4 * steps);
    expect(count('run.finish')).toBe(4);
    const model = await client.registry.model({ model: 'mixed' });
    expect(model.versions).toHaveLength(4 * steps);
  });
});
