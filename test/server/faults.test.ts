import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init, openClient, openStore } from '@quiver/core';
import { checkpointCallback } from '@quiver/tfjs';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, vi } from 'vitest';
import { createUserWithKey } from '../support/backends.js';
import { spawnScript } from '../support/processes.js';
import { startTestServer } from '../support/remote-server.js';
import { dataset, smallClassifier, useWasm } from '../tfjs/support.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

/** Bytes the server has staged so far for uploads in flight. */
function stagedBytes(dataDir: string): number {
  const tmp = join(dataDir, 'blobs', 'tmp');
  if (!existsSync(tmp)) return 0;
  let total = 0;
  for (const name of readdirSync(tmp))
    total += statSync(join(tmp, name), { throwIfNoEntry: false })?.size ?? 0;
  return total;
}

describe('server faults', () => {
  it('a server killed (SIGKILL) during a 1 GiB upload and started again: the client retries to a whole version or fails clearly; never a partial one', {
    timeout: 300_000,
  }, async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'quiver-faults-'));
    const dataDir = join(scratch, 'server');
    const port = await freePort();
    let server = await startTestServer({ dataDir, port });
    try {
      const apiKey = await createUserWithKey(server, 'tester', { admin: true });
      // 1 GiB: random at the start and the end, so that no prefix or suffix is shared with anything.
      const file = join(scratch, 'big.bin');
      const fd = openSync(file, 'w');
      writeSync(fd, randomBytes(1 << 20), 0, 1 << 20, 0);
      writeSync(fd, randomBytes(1 << 20), 0, 1 << 20, 1024 ** 3 - (1 << 20));
      closeSync(fd);
      const env = {
        QUIVER_BASE_URL: server.url,
        QUIVER_API_KEY: apiKey,
        QUIVER_DIR: join(scratch, 'client'),
        QUIVER_ENTITY: 'tester',
      };
      const child = spawnScript('test/children/log-big-file.ts', [file], env);
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      // Kill the server once a quarter of the file has reached it.
      const deadline = Date.now() + 120_000;
      while (stagedBytes(dataDir) < 256 * 1024 ** 2) {
        if (Date.now() > deadline) throw new Error(`the upload never got going: ${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      server.process.kill('SIGKILL');
      await new Promise((resolve) => server.process.once('exit', resolve));
      server = await startTestServer({ dataDir, port });
      const code = await exited;
      if (process.env.QUIVER_TEST_VERBOSE) console.error('outcome', code, stdout);
      const outcome = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
        ref?: string;
        digest?: string;
        error?: { code: string; message: string };
      };
      const client = await openClient({
        baseUrl: server.url,
        apiKey,
        dir: join(scratch, 'client2'),
        entity: 'tester',
      });
      try {
        const versions = await client.versions('faults/big').toArray();
        if (code === 0) {
          // The retry sent the file again; the version is whole.
          expect(versions).toHaveLength(1);
          expect(versions[0]!.size).toBe(1024 ** 3);
          expect(outcome.ref).toBe('tester/faults/big:v0');
        } else {
          expect(outcome.error?.code).toBe('E_UNAVAILABLE');
          expect(outcome.error?.message).toContain('Could not reach the Quiver server');
          expect(versions).toEqual([]);
        }
        expect((await client.verify()).ok).toBe(true);
      } finally {
        await client.close();
      }
    } finally {
      await server.stop();
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('the TF.js callback keeps training while the server is down for a moment; its checkpoints arrive once it is back', {
    timeout: 300_000,
  }, async () => {
    await useWasm();
    const scratch = mkdtempSync(join(tmpdir(), 'quiver-faults-tfjs-'));
    const dataDir = join(scratch, 'server');
    const port = await freePort();
    let server = await startTestServer({ dataDir, port });
    try {
      const apiKey = await createUserWithKey(server, 'tester', { admin: true });
      const settings = { baseUrl: server.url, apiKey, dir: join(scratch, 'client'), entity: 'tester' };
      const store = await openStore(settings);
      const run = await init({ project: 'outage', store });
      const model = smallClassifier();
      const { xs, ys } = dataset(64);
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      let restarted: Promise<void> | undefined;
      const started = Date.now();
      let epochsDone = 0;
      const outage = new tf.CustomCallback({
        onEpochEnd: async (epoch) => {
          epochsDone = Date.now() - started;
          if (epoch !== 0) return;
          // Down after the first checkpoint was queued; back two seconds later, while training goes on.
          server.process.kill('SIGKILL');
          await new Promise((resolve) => server.process.once('exit', resolve));
          restarted = new Promise<void>((resolve) => setTimeout(resolve, 2000)).then(async () => {
            server = await startTestServer({ dataDir, port });
          });
        },
      });
      const history = await model.fit(xs, ys, {
        // Three checkpoints, all queued while the server is down: the default queue (3) holds them.
        epochs: 3,
        batchSize: 16,
        verbose: 0,
        callbacks: [checkpointCallback(run, model, { logModel: 'all', onError: 'warn' }), outage],
      });
      expect(history.history.loss).toHaveLength(3);
      await restarted;
      await run.finish();
      await store.close();
      // No epoch waited for the server (it was down for two seconds from the first one on); only
      // the end of training waits for the queue to drain, as a run's finish does.
      expect(epochsDone).toBeLessThan(2000);
      expect(warn).not.toHaveBeenCalled();
      warn.mockRestore();
      const client = await openClient(settings);
      try {
        const versions = await client.versions('outage', `model-${run.id}`).toArray();
        expect(versions.map((version) => version.version).sort()).toEqual([0, 1, 2]);
        expect((await client.verify()).ok).toBe(true);
      } finally {
        await client.close();
      }
    } finally {
      await server.stop();
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
