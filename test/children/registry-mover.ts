// Moves `production` of registered model `race` back and forth between two versions, N times.
import { openClient } from '@quiver/core';

const [first, second, count] = process.argv.slice(2).map(Number) as [number, number, number];
const client = await openClient();
for (let move = 0; move < count; move++) {
  await client.registry.setAlias(`registry/race:v${move % 2 === 0 ? first : second}`, 'production', {
    force: true,
  });
}
await client.close();
