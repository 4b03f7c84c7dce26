// Logs N new checkpoints and links each into registered model `race`.
import { Artifact, init } from '@quiver/core';

const count = Number(process.argv[2]);
const run = await init({ project: 'race-training' });
for (let index = 0; index < count; index++) {
  const version = await run.logArtifact(
    new Artifact('linked', 'model').addBytes('weights.bin', `linked ${index}`),
  );
  await run.useArtifact(version.ref);
  const client = await import('@quiver/core').then((quiver) => quiver.openClient());
  await client.registry.link(version.ref, { model: 'race' });
  await client.close();
}
await run.finish();
