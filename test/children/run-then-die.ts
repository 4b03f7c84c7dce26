// Starts a run, logs a little, prints its id and kills itself without finishing.
import { init } from '@quiver/core';

const run = await init({ project: 'crashy' });
run.log({ loss: 1 });
await run.flush();
process.stdout.write(`${run.id}\n`, () => process.kill(process.pid, 'SIGKILL'));
