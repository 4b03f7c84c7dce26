import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Artifact, init } from '@quiver/core';
import { describe, expect, it } from 'vitest';
import { createTestStore, testBackends } from './support/backends.js';
import { runCli } from './support/processes.js';

// 2 MiB blobs are copied chunk by chunk; 40 MiB ones by the kernel beside a hashing read.
const SIZES = [2 * 1024 * 1024, 40 * 1024 * 1024];

describe.each(testBackends())('corruption on %s', (backend) => {
  it.each(SIZES)(
    'a flipped byte in a blob of %d bytes: get fails naming the entry and leaves no file; verify reports it',
    { timeout: 60_000 },
    async (size) => {
      await using testStore = await createTestStore(backend);
      const store = await testStore.open();
      const run = await init({ project: 'fragile', store });
      const weights = Buffer.alloc(size, 42);
      const version = await run.logArtifact(
        new Artifact('net', 'model')
          .addBytes('model.json', '{"ok":true}')
          .addBytes('weights/shard-1.bin', weights),
      );
      await run.finish();

      const entry = (await version.entries()).find((item) => item.path === 'weights/shard-1.bin')!;
      const blob = store.backend.blobs.localPath!(entry.sha256);
      chmodSync(blob, 0o644);
      const bytes = readFileSync(blob);
      bytes[1_000_000] = bytes[1_000_000]! ^ 0xff;
      writeFileSync(blob, bytes);

      const target = join(mkdtempSync(join(tmpdir(), 'quiver-get-')), 'out');
      const get = await runCli(['artifact', 'get', 'fragile/net:v0', target], testStore.env);
      expect(get.code).toBe(1);
      expect(get.stderr).toContain('E_CHECKSUM_MISMATCH');
      expect(get.stderr).toContain('weights/shard-1.bin');
      const written = existsSync(join(target, 'weights')) ? readdirSync(join(target, 'weights')) : [];
      expect(written).toEqual([]); // no file that looks valid, not even a partial one

      const json = await runCli(['artifact', 'get', 'fragile/net', target, '--json'], testStore.env);
      expect(JSON.parse(json.stdout)).toMatchObject({
        error: { code: 'E_CHECKSUM_MISMATCH', details: { path: 'weights/shard-1.bin' } },
      });

      const verify = await runCli(['verify', '--json'], testStore.env);
      expect(verify.code).toBe(1);
      const report = JSON.parse(verify.stdout);
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([
        expect.objectContaining({
          kind: 'corrupt-blob',
          sha256: entry.sha256,
          affected: [{ ref: 'tester/fragile/net:v0', path: 'weights/shard-1.bin' }],
        }),
      ]);
      const human = await runCli(['verify'], testStore.env);
      expect(human.code).toBe(1);
      expect(human.stdout).toContain('corrupt-blob');
    },
  );
});
