// Interleaves every kind of write that appends events, on one shared artifact and one model:
// commit, link, artifact alias, tag, registry alias. Run several at once to race them.
import { Artifact, init, openClient } from '@quiver/core';

const [worker, count] = [process.argv[2], Number(process.argv[3])];
const run = await init({ project: 'mix' });
const client = await openClient();
for (let index = 0; index < count; index++) {
  const version = await run.logArtifact(
    new Artifact('shared', 'model').addBytes('weights.bin', `worker ${worker} step ${index}`),
  );
  const linked = await client.registry.link(version.ref, { model: 'mixed' }, { create: true });
  await client.setAlias(version.ref, `w${worker}`);
  await client.tag(version.ref, [`step-${index}`]);
  await client.registry.setAlias(linked.version.ref, 'production', { force: true });
}
await run.finish();
await client.close();
