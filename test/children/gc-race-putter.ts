// Puts the same content again and again while `gc` runs elsewhere: commit, download and verify,
// delete, (optionally) age the now unreferenced blobs past gc's grace period, put again.
// Prints one JSON line: { committed, failures, kept }.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Artifact, isQuiverError, openClient } from '@quiver/core';

const [workerArg, roundsArg, ageArg] = process.argv.slice(2);
const worker = Number(workerArg);
const rounds = Number(roundsArg);
const age = ageArg === 'age';
const client = await openClient();
const source = mkdtempSync(join(tmpdir(), `quiver-gc-race-${worker}-`));
// Four sizes, for every staging path: in memory (small), a temporary file (> 256 KiB) and a
// file large enough for the digest cache (> 1 MiB, reused by digest without reading).
writeFileSync(join(source, 'small.txt'), `worker ${worker}\n`);
writeFileSync(join(source, 'medium.bin'), Buffer.alloc(300 * 1024, worker + 1));
writeFileSync(join(source, 'large.bin'), Buffer.alloc(1200 * 1024, worker + 7));
const shared = join(source, 'shared.bin');
writeFileSync(shared, Buffer.alloc(64 * 1024, 42)); // the same bytes in every worker's versions

const draft = (): Artifact =>
  new Artifact(`model-${worker}`, 'model')
    .addFile(join(source, 'small.txt'))
    .addFile(join(source, 'medium.bin'))
    .addFile(join(source, 'large.bin'))
    .addFile(shared)
    .addBytes('config.json', JSON.stringify({ worker }));

const blobPath = (sha256: string): string =>
  join(process.env.QUIVER_DIR!, 'blobs', 'sha256', sha256.slice(0, 2), sha256);
const old = new Date(Date.now() - 3 * 60 * 60 * 1000);
let committed = 0;
const failures: string[] = [];
let kept: string | undefined;
for (let round = 0; round < rounds; round++) {
  let ref: string;
  try {
    ref = (await client.commit(draft(), { project: 'gc-race' })).ref;
  } catch (error) {
    if (!isQuiverError(error)) throw error;
    failures.push(error.code);
    continue;
  }
  committed++;
  // A version reported committed must download and verify, whatever gc does meanwhile.
  const target = join(source, `download-${round}`);
  mkdirSync(target);
  const version = await client.artifact(ref);
  await version.download(target);
  const report = await version.verify(target);
  if (!report.ok)
    throw new Error(`${ref} downloaded but does not verify: ${JSON.stringify(report.problems)}`);
  rmSync(target, { recursive: true });
  if (round === rounds - 1) {
    kept = ref;
    break;
  }
  const entries = await version.entries();
  await client.deleteVersion(ref, { force: true });
  if (age) {
    for (const entry of entries) {
      try {
        utimesSync(blobPath(entry.sha256), old, old);
      } catch {
        // already collected
      }
    }
  }
}
await client.close();
rmSync(source, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ committed, failures, kept })}\n`);
