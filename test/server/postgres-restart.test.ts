import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Artifact, openStore, QuiverClient } from '@quiver/core';
import { describe, expect, it } from 'vitest';
import { postgresBinDir, startPrivatePostgres } from '../support/private-postgres.js';
import { startTestServer } from '../support/remote-server.js';

const haveServer = postgresBinDir() !== undefined;

describe.skipIf(!haveServer)(
  `a PostgreSQL restart under a running team server${haveServer ? '' : ' (skipped: initdb is not installed)'}`,
  () => {
    it('reports not ready while the database is down, and every commit sent meanwhile lands once', {
      timeout: 120_000,
    }, async () => {
      await using postgres = await startPrivatePostgres();
      const dir = mkdtempSync(join(tmpdir(), 'quiver-server-pg-restart-'));
      const server = await startTestServer({
        dataDir: join(dir, 'server'),
        databaseUrl: await postgres.createDatabase('quiver_server'),
      });
      const store = await openStore({
        baseUrl: server.url,
        apiKey: server.adminKey,
        dir: join(dir, 'client'),
      });
      try {
        const client = new QuiverClient(store);
        const commit = (n: number) =>
          client.commit(new Artifact('weights', 'model').addBytes('w.bin', `weights ${n}`), {
            project: 'restart',
          });
        await commit(0);
        expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
        // Commits keep coming while the database goes away for 2 s and comes back.
        let restarted = false;
        const restarting = postgres.restart(2000).then(() => {
          restarted = true;
        });
        const readiness = (async () => {
          const seen = new Set<number>();
          while (!restarted) {
            seen.add((await fetch(`${server.url}/readyz`)).status);
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          return seen;
        })();
        const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => commit(i + 1)));
        await restarting;
        expect([...(await readiness)]).toContain(503);
        expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
        for (const result of results) expect(result.status, JSON.stringify(result)).toBe('fulfilled');
        // Each commit made exactly one version, and the store is whole.
        const versions = await client.versions('restart', 'weights');
        expect(versions.map((version) => version.version).sort((a, b) => a - b)).toEqual([
          0, 1, 2, 3, 4, 5, 6,
        ]);
        expect((await client.verify()).ok).toBe(true);
        expect(server.process.exitCode).toBeNull(); // the server lived through it
      } finally {
        await store.close();
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
