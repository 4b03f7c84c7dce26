import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnScript } from '../support/processes.js';
import { startTestServer } from '../support/remote-server.js';
import { syncServerFixture } from './support.js';

const fixture = syncServerFixture('quiver-offline-spool-');

describe('online spooling', () => {
  it('the server stopped during a training run: the run keeps training and spools; after the server is back, quiver sync sends everything', async () => {
    const epochs = 20;
    const laptop = join(fixture.root, 'laptop');
    const env = {
      QUIVER_DIR: laptop,
      QUIVER_BASE_URL: fixture.srv.url,
      QUIVER_API_KEY: fixture.srv.memberKey,
      QUIVER_ENTITY: 'vision',
      QUIVER_MODE: '',
      EPOCHS: String(epochs),
      // The best epoch is the 2nd, logged before the server stops: the link at the end names a
      // version committed online, which the spool cannot hold (deferred to quiver sync).
      VAL_LOSS: [0.9, 0.2, ...Array.from({ length: epochs - 2 }, (_, index) => 0.3 + index / 100)].join(','),
    };
    const child = spawnScript('test/children/online-train.ts', [], env);
    let stdout = '';
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const runId = await new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /epoch (\d+) ([0-9a-z]+)\n/.exec(stdout);
        if (match && /epoch 4 /.test(stdout)) resolve(match[2]!);
      });
      void exited.then((code) => reject(new Error(`training exited (${code}) early: ${stderr}`)));
    });
    const port = Number(new URL(fixture.srv.url).port);
    await fixture.srv.stop();

    // The training goes on to its end without a server.
    expect(await exited, stderr).toBe(0);
    expect(stdout).toContain(`epoch ${epochs} ${runId}`);
    expect(stdout).toContain(`done ${runId}`);
    expect(stderr).toContain(
      `Run ${runId} goes on offline, recorded in ${join(laptop, 'offline', `run-${runId}`)}`,
    );
    expect(stderr).toContain("run 'quiver sync' when the server is back");
    expect(stderr).not.toContain(fixture.srv.memberKey);

    // The link of the best (committed online) was deferred: the bundle's numbers are its own.
    const deferred = readFileSync(join(laptop, 'offline', `run-${runId}`, 'deferred.jsonl'), 'utf8');
    expect(deferred).toContain('"operation":"registry.link"');
    expect(deferred).toContain(`model-${runId}:v1`);

    // The server comes back (same data, same address); quiver sync sends the spool.
    fixture.srv.server = await startTestServer({ dataDir: join(fixture.root, 'server'), port });
    const sync = await runCli(['sync', '--json'], env);
    expect(sync.code, sync.stderr).toBe(0);
    const report = JSON.parse(sync.stdout).reports[0];
    expect(report).toMatchObject({ runId, complete: true, conflicts: 0, refused: 0 });
    expect(report.versions).toBeGreaterThan(0);

    const store = await fixture.srv.store();
    try {
      const backend = store.backend;
      const run = await backend.runs.get(runId);
      expect(run.state).toBe('finished');
      // Nothing lost: a checkpoint for every epoch, and every epoch's metrics.
      const versions = (
        await backend.artifacts.versions({ entity: 'vision', project: 'spooled', name: `model-${runId}` })
      ).items;
      expect(versions.map((version) => version.metadata.epoch).sort((a, b) => Number(a) - Number(b))).toEqual(
        Array.from({ length: epochs }, (_, index) => index + 1),
      );
      const history = (await backend.runs.history(runId, { limit: 1000 })).items;
      const losses = history.filter((row) => row.val_loss !== undefined);
      expect(losses).toHaveLength(epochs);
      // `best` is on the epoch with the lowest val_loss, over the whole run (online and spooled).
      const lowest = losses.reduce((best, row) => (row.val_loss! < best.val_loss! ? row : best));
      const best = versions.find((version) => version.aliases.includes('best'))!;
      expect(best.metadata.score).toBe(lowest.val_loss);
      expect(best.metadata.epoch).toBe(2);
      expect(versions.filter((version) => version.aliases.includes('best'))).toHaveLength(1);
      const model = await backend.registry.model({ entity: 'vision', model: 'spooled' });
      expect(model.versions.map((version) => version.source.ref)).toEqual([best.ref]);
    } finally {
      await store.close();
    }
  }, 180_000);
});
