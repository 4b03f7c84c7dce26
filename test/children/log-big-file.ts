// Logs one file as artifact `big` of project `faults` and prints the version as JSON.
import { Artifact, init, isQuiverError } from '@quiver/core';

const run = await init({ project: 'faults' });
try {
  const version = await run.logArtifact(
    new Artifact('big', 'model').addFile(process.argv[2]!, { name: 'weights.bin' }),
  );
  console.log(JSON.stringify({ ref: version.ref, digest: version.digest }));
  await run.finish();
} catch (error) {
  console.log(JSON.stringify({ error: isQuiverError(error) ? error.toJSON() : String(error) }));
  await run.finish({ exitCode: 1 });
  process.exitCode = 1;
}
