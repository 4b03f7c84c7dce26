import { Worker } from 'node:worker_threads';

/**
 * Hashes and writes large buffers on a worker thread with its own event loop, so storing a
 * checkpoint makes progress even while the main thread is busy training (a training loop may not
 * give the event loop a turn for seconds). Plain CommonJS, evaluated inline: no loader needed.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
// The descriptor is closed before the reply is posted: once the main thread hears of a failure and
// removes the file, its space is free (an open descriptor would hold it on a full disk).
parentPort.on('message', ({ id, bytes, path }) => {
  let descriptor;
  let reply;
  try {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    descriptor = fs.openSync(path, 'wx', 0o444);
    let offset = 0;
    while (offset < bytes.length) offset += fs.writeSync(descriptor, bytes, offset, bytes.length - offset);
    fs.fsyncSync(descriptor);
    reply = { id, sha256 };
  } catch (error) {
    reply = {
      id,
      error: String((error && error.message) || error),
      code: error && typeof error.code === 'string' ? error.code : undefined,
      syscall: error && typeof error.syscall === 'string' ? error.syscall : undefined,
    };
  }
  if (descriptor !== undefined) {
    try {
      fs.closeSync(descriptor);
    } catch (error) {
      if (reply.sha256 !== undefined) reply = { id, error: String(error.message || error), code: error.code, syscall: 'close' };
    }
  }
  parentPort.postMessage(reply);
});
`;

type Reply = { id: number; sha256?: string; error?: string; code?: string; syscall?: string };

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve: (sha256: string) => void; reject: (error: Error) => void }>();

function backgroundWorker(): Worker {
  if (worker) return worker;
  const created = new Worker(WORKER_SOURCE, { eval: true });
  created.unref();
  created.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (pending.size === 0) created.unref();
    if (!waiter) return;
    if (reply.error !== undefined) {
      // Keep the errno so callers can type it (a full disk is E_DISK_FULL, not a bare Error).
      const error: NodeJS.ErrnoException = new Error(reply.error);
      if (reply.code !== undefined) error.code = reply.code;
      if (reply.syscall !== undefined) error.syscall = reply.syscall;
      waiter.reject(error);
    } else waiter.resolve(reply.sha256!);
  });
  created.on('error', (error) => {
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
    worker = undefined;
  });
  worker = created;
  return created;
}

/** Writes `bytes` to a new file at `path` (mode 0444, fsynced) and returns their sha256, off the main thread. */
export function hashAndWriteInBackground(bytes: Uint8Array, path: string): Promise<string> {
  const target = backgroundWorker();
  const id = nextId++;
  target.ref(); // keep the process alive while a write is in flight
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    target.postMessage({ id, bytes, path });
  });
}
