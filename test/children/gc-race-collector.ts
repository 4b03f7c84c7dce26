// Runs `gc` in a loop (with the grace period given in ms) until the file named by argv[3]
// exists. Prints one JSON line: { runs, blobs } — how often gc ran and how many blobs it removed.
import { existsSync } from 'node:fs';
import { openClient } from '@quiver/core';

const [graceArg, stopFile] = process.argv.slice(2);
const graceMs = graceArg === 'default' ? undefined : Number(graceArg);
const client = await openClient();
let runs = 0;
let blobs = 0;
while (!existsSync(stopFile!)) {
  const report = await client.gc(graceMs === undefined ? {} : { graceMs });
  runs++;
  blobs += report.blobs;
}
await client.close();
process.stdout.write(`${JSON.stringify({ runs, blobs })}\n`);
