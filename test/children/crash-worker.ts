// Logs multi-file artifacts in a loop until killed. Each iteration writes fresh random files.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Artifact, init } from '@quiver/core';

const scratch = mkdtempSync(join(tmpdir(), 'quiver-crash-'));
const run = await init({ project: 'crash' });
const iterations = Number(process.argv[2] ?? Number.POSITIVE_INFINITY);
for (let iteration = 0; iteration < iterations; iteration++) {
  const folder = join(scratch, String(iteration));
  mkdirSync(join(folder, 'shards'), { recursive: true });
  for (let file = 0; file < 12; file++)
    writeFileSync(join(folder, 'shards', `part-${file}.bin`), randomBytes(64 * 1024 * (1 + (file % 4))));
  writeFileSync(join(folder, 'big.bin'), randomBytes(3 * 1024 * 1024));
  const draft = new Artifact('checkpoint', 'model', { metadata: { iteration } })
    .addDir(folder)
    .addBytes('manifest.txt', `iteration ${iteration}`);
  const version = await run.logArtifact(draft, { aliases: ['newest'] });
  process.stdout.write(`committed v${version.version}\n`);
}
await run.finish();
