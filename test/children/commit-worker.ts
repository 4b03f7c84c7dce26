// Commits 25 versions of distinct content and 25 of content already committed, each with aliases.
import { Artifact, init } from '@quiver/core';

const worker = Number(process.argv[2]);
const run = await init({ project: 'race', name: `worker-${worker}` });
const content = (item: number): string => `worker ${worker} item ${item}`;
for (let item = 0; item < 25; item++) {
  await run.logArtifact(
    new Artifact('shared', 'model').addBytes('weights.bin', content(item)).addBytes('id.txt', String(item)),
    {
      aliases: ['best', `w${worker}`],
    },
  );
  const again = await run.logArtifact(
    new Artifact('shared', 'model').addBytes('weights.bin', content(item)).addBytes('id.txt', String(item)),
    {
      aliases: ['best', `dup${worker}`],
    },
  );
  if (!again.deduplicated) throw new Error('a re-commit of committed content created a new version');
}
await run.finish();
