/**
 * onnxruntime-node on a worker thread, for the parity check: creating a session for a large
 * model and running it takes as long as TF.js's prediction on the main thread, so the two run at
 * once. The model's bytes are transferred to the worker and back, never copied. Plain CommonJS,
 * evaluated inline: no loader is needed in source or built form.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** An input or output tensor as it crosses threads. */
export interface WorkerTensor {
  type: string;
  data: Float32Array | Int32Array | BigInt64Array;
  dims: readonly number[];
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const { writeFile } = require('node:fs/promises');
parentPort.on('message', async ({ id, bytes, options, feeds, writePath }) => {
  let session;
  let reply = { id };
  // The file is written (on libuv's pool) while the session is created.
  const written = writePath ? writeFile(writePath, bytes).then(() => undefined, (error) => String(error.message || error)) : undefined;
  try {
    session = await ort.InferenceSession.create(bytes, options);
    const inputs = {};
    for (const [name, feed] of Object.entries(feeds)) inputs[name] = new ort.Tensor(feed.type, feed.data, feed.dims);
    const results = await session.run(inputs);
    const outputs = {};
    for (const [name, tensor] of Object.entries(results)) outputs[name] = { type: tensor.type, data: tensor.data, dims: tensor.dims };
    reply = { id, outputs };
  } catch (error) {
    reply = { id, error: String((error && error.message) || error) };
  } finally {
    if (session) await session.release().catch(() => undefined);
  }
  const writeError = written ? await written : undefined;
  parentPort.postMessage({ ...reply, bytes, writeError }, [bytes.buffer]);
});
`;

interface Reply {
  id: number;
  bytes: Uint8Array;
  outputs?: Record<string, WorkerTensor>;
  error?: string;
  writeError?: string;
}

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();

function onnxWorker(): Worker {
  if (worker) return worker;
  const created = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { ortPath: createRequire(import.meta.url).resolve('onnxruntime-node') },
  });
  created.unref();
  const failAll = (error: Error): void => {
    worker = undefined;
    for (const job of pending.values()) job.reject(error);
    pending.clear();
  };
  created.on('message', (reply: Reply) => {
    const job = pending.get(reply.id);
    pending.delete(reply.id);
    if (pending.size === 0) created.unref();
    job?.resolve(reply);
  });
  created.on('error', failAll);
  created.on('exit', (code) => failAll(new Error(`The onnxruntime worker exited (code ${code}).`)));
  worker = created;
  return created;
}

/**
 * Creates a session for `bytes` on the worker, runs `feeds` and releases it; with `writePath`, also
 * writes the bytes there meanwhile. `bytes` must own its whole ArrayBuffer: it is transferred
 * (unusable meanwhile) and the returned `bytes` replaces it.
 */
export function runOnWorker(
  bytes: Uint8Array,
  options: object,
  feeds: Record<string, WorkerTensor>,
  writePath?: string,
): Promise<{ bytes: Uint8Array; outputs: Record<string, WorkerTensor>; writeError?: string }> {
  const target = onnxWorker();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, {
      resolve: (reply) =>
        reply.error !== undefined || !reply.outputs
          ? reject(Object.assign(new Error(reply.error ?? 'no outputs'), { bytes: reply.bytes }))
          : resolve({
              bytes: reply.bytes,
              outputs: reply.outputs,
              ...(reply.writeError === undefined ? {} : { writeError: reply.writeError }),
            }),
      reject,
    });
    // Keep the process alive while a job is out; idle, the worker never holds it open.
    target.ref();
    target.postMessage({ id, bytes, options, feeds, writePath }, [bytes.buffer as ArrayBuffer]);
  });
}

/** True when `bytes` spans its whole ArrayBuffer, so it can be transferred without copying. */
export function ownsBuffer(bytes: Uint8Array): boolean {
  return (
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    !(bytes.buffer instanceof SharedArrayBuffer)
  );
}
