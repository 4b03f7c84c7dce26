import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Artifact, init, QuiverClient } from '@quiver/core';
import { describe, expect, it } from 'vitest';
import { createTestStore, sdkBackends } from './support/backends.js';
import { runCli } from './support/processes.js';

/**
 * The product story end to end: checkpoints from a run → link the best → model with card and
 * tags → staging, then production (forced) → a second run consumes production → lineage and
 * history show every step.
 */
describe.each(sdkBackends())('registry walkthrough on %s', (backend) => {
  it('from checkpoints to a consumed production model, with lineage and history', {
    timeout: 120_000,
  }, async () => {
    await using testStore = await createTestStore(backend);
    const store = await testStore.open();
    const env = testStore.env;
    const cli = async (...args: string[]) => {
      const result = await runCli([...args, '--json'], env);
      expect(result.stderr, result.stderr).toBe('');
      expect(result.code, `${args.join(' ')}: ${result.stdout}`).toBe(0);
      return JSON.parse(result.stdout);
    };

    // 1. A training run logs a checkpoint per epoch and keeps `best` on the lowest val_loss.
    const training = await init({ project: 'anomaly', jobType: 'train', store, config: { lr: 0.001 } });
    const valLosses = [0.9, 0.5, 0.35, 0.4];
    let bestLoss = Number.POSITIVE_INFINITY;
    for (const [epoch, valLoss] of valLosses.entries()) {
      training.log({ val_loss: valLoss, epoch });
      const isBest = valLoss < bestLoss;
      if (isBest) bestLoss = valLoss;
      await training.logArtifact(
        new Artifact(`model-${training.id}`, 'model', { metadata: { epoch, val_loss: valLoss } })
          .addBytes('model.json', '{"units":4}')
          .addBytes('weights.bin', `epoch ${epoch}`),
        { aliases: isBest ? ['best'] : [] },
      );
    }
    await training.finish();
    const checkpoint = `anomaly/model-${training.id}`;
    expect((await cli('artifact', 'show', `${checkpoint}:best`)).version).toBe(2);

    // 2. Link the best into the registry, creating the model; 3. card and tags.
    const linked = await cli('registry', 'link', `${checkpoint}:best`, 'anomaly-detector', '--create');
    expect(linked.version).toMatchObject({
      ref: 'tester/registry/anomaly-detector:v0',
      source: { ref: `tester/${checkpoint}:v2` },
    });
    const card = join(testStore.dir, 'CARD.md');
    writeFileSync(card, '# Anomaly detector\n\nFlags unusual sensor readings.');
    await cli('registry', 'card', 'anomaly-detector', '--file', card);
    expect((await cli('registry', 'card', 'anomaly-detector')).card).toContain(
      'Flags unusual sensor readings.',
    );
    await cli('registry', 'tag', 'anomaly-detector', 'sensors', 'v1-launch');

    // 4. staging, then production — refused without force, applied with it.
    await cli('registry', 'alias', 'set', 'anomaly-detector', 'staging', 'v0');
    const refused = await runCli(['registry', 'alias', 'set', 'anomaly-detector', 'production', 'v0'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('E_ALIAS_PROTECTED');
    await cli('registry', 'alias', 'set', 'anomaly-detector', 'production', 'staging', '--force');
    const listed = await cli('registry', 'model', 'ls', '--tag', 'sensors');
    expect(listed).toEqual([
      expect.objectContaining({
        name: 'anomaly-detector',
        aliases: { latest: 0, production: 0, staging: 0 },
        tags: ['sensors', 'v1-launch'],
      }),
    ]);

    // 5. A second run consumes registry/<model>:production.
    const serving = await init({ project: 'anomaly', jobType: 'serve', store });
    const used = await serving.useModel('registry/anomaly-detector:production');
    expect(readFileSync(join(used.path, 'weights.bin'), 'utf8')).toBe('epoch 2');
    expect(used.metadata).toEqual({ epoch: 2, val_loss: 0.35 });
    expect(used.registryVersion?.ref).toBe('tester/registry/anomaly-detector:v0');
    await serving.finish();
    const fetched = join(testStore.dir, 'fetched');
    await cli('get', 'registry/anomaly-detector:production', fetched);
    expect(readFileSync(join(fetched, 'weights.bin'), 'utf8')).toBe('epoch 2');

    // 6. Lineage: run → version → registered model → consuming run.
    const lineage = await cli('lineage', 'registry/anomaly-detector:production');
    const label = (id: string): string => {
      const node = lineage.nodes.find((candidate: { id: string }) => candidate.id === id);
      if (node.kind === 'run') return `run:${node.run.jobType}`;
      return node.kind === 'registry' ? node.registryVersion.ref : node.version.ref;
    };
    const edges = lineage.edges.map(
      (edge: { from: string; to: string; relation: string }) =>
        `${label(edge.from)} ${edge.relation} ${label(edge.to)}`,
    );
    expect(edges).toEqual(
      expect.arrayContaining([
        `run:train produced tester/${checkpoint}:v2`,
        `tester/${checkpoint}:v2 linked tester/registry/anomaly-detector:v0`,
        'tester/registry/anomaly-detector:v0 used run:serve',
      ]),
    );
    const servingRun = await cli('run', 'show', serving.id);
    expect(servingRun.inputs.map((input: { ref: string }) => input.ref)).toEqual([`tester/${checkpoint}:v2`]);

    // 7. History: each step, with actor and before/after.
    const history = await cli('registry', 'history', 'anomaly-detector');
    expect(history.map((event: { action: string }) => event.action)).toEqual([
      'model.create',
      'link',
      'alias.set',
      'model.card',
      'model.tag',
      'alias.set',
      'alias.set',
    ]);
    expect(history.at(-1)).toMatchObject({
      action: 'alias.set',
      actor: store.settings.actor,
      before: null,
      after: { alias: 'production', version: 0 },
    });
    expect(history[3]).toMatchObject({
      before: { card: '' },
      after: { card: '# Anomaly detector\n\nFlags unusual sensor readings.' },
    });

    // 8. The one event log: versions created, aliases moved, runs finished and registry changes,
    // in the order they committed (what automations will act on).
    const events = await new QuiverClient(store).events();
    expect(events.map((event) => event.position)).toEqual(events.map((_, index) => index + 1));
    expect(events.map((event) => `${event.action} ${event.subject}`)).toEqual([
      `version.create tester/${checkpoint}:v0`,
      `artifact.alias.set tester/${checkpoint}:v0`,
      `version.create tester/${checkpoint}:v1`,
      `artifact.alias.move tester/${checkpoint}:v1`,
      `version.create tester/${checkpoint}:v2`,
      `artifact.alias.move tester/${checkpoint}:v2`,
      `version.create tester/${checkpoint}:v3`,
      `run.finish tester/anomaly/${training.id}`,
      'model.create tester/registry/anomaly-detector',
      'link tester/registry/anomaly-detector',
      'alias.set tester/registry/anomaly-detector',
      'model.card tester/registry/anomaly-detector',
      'model.tag tester/registry/anomaly-detector',
      'alias.set tester/registry/anomaly-detector',
      'alias.set tester/registry/anomaly-detector',
      `run.finish tester/anomaly/${serving.id}`,
    ]);
    expect(events[5]).toMatchObject({
      before: { alias: 'best', version: 1 },
      after: { alias: 'best', version: 2 },
    });
  });
});
