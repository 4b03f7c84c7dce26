// Links the same source version into `same` N times.
import { openClient } from '@quiver/core';

const count = Number(process.argv[2]);
const client = await openClient();
for (let attempt = 0; attempt < count; attempt++) {
  await client.registry.link(
    'race-training/source:v0',
    { model: 'same' },
    { create: true, aliases: ['staging'] },
  );
}
await client.close();
