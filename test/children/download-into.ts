// Downloads a version into a folder and prints one JSON line: {"ok":true} or {"error":{code,message}}.
// With --hang-mid-download, stops (blocking the thread) once 1 MiB was copied, inside a large
// file, after printing {"mid":true}, so that the parent can kill it with a partial file on disk.
import { openClient } from '@quiver/core';

const [ref, dir, mode] = process.argv.slice(2);
if (!ref || !dir) throw new Error('usage: download-into.ts <ref> <dir> [--hang-mid-download]');
const client = await openClient();
const version = await client.artifact(ref);
let hung = false;
try {
  await version.download(dir, {
    onProgress: ({ bytesDone, bytesTotal }) => {
      if (mode !== '--hang-mid-download' || hung || bytesDone < 1024 * 1024 || bytesDone >= bytesTotal)
        return;
      hung = true;
      process.stdout.write('{"mid":true}\n'); // synchronous for a pipe on Linux
      // Block until killed: the partial file of the entry being copied stays on disk.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
    },
  });
  process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
} catch (error) {
  const { code, message, details } = error as { code?: string; message: string; details?: unknown };
  process.stdout.write(`${JSON.stringify({ error: { code, message, details } })}\n`);
} finally {
  await client.close();
}
