/**
 * The Hub suite: the team server's Hub-compatible routes against the Hub stand-in of
 * `@quiver/transformers/testing`, with the unmodified clients, alternating, in one run.
 *
 * 1. `@huggingface/hub` `uploadFiles` of 200 MB (one 200 MB weights file plus a config; each
 *    server picks its transfer: multipart on the stand-in, basic on Quiver below its 1 GiB threshold) to a Quiver server process (embedded SQLite store) vs to the stand-in. Each
 *    trial writes fresh random bytes, so nothing is skipped as already stored.
 * 2. A transformers.js `pipeline('text-classification', …)` of a 20 MB model loaded from the Quiver
 *    server (`env.remoteHost`, an empty cache each time) vs from a local folder.
 */
import { randomFillSync } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRepo, uploadFiles, whoAmI } from '@huggingface/hub';
import { env, pipeline } from '@huggingface/transformers';
import { Artifact, openClient } from '@quiver/core';
import { buildTokenizer, exportForTransformersJs } from '@quiver/transformers';
import { startHubServer } from '@quiver/transformers/testing';
import * as tf from '@tensorflow/tfjs';
import type { Measurement } from './support/figures.js';
import { MiB, removeTree } from './support/files.js';
import { median, progress } from './support/measure.js';
import { startServer } from './support/server-process.js';

const ROUNDS = Number(process.env.QUIVER_BENCH_ROUNDS ?? 7);
const WEIGHTS_BYTES = 200 * 1000 * 1000;
const LABELS = ['a', 'b', 'c'];

async function checkpoint(folder: string, buffer: Buffer): Promise<string> {
  await mkdir(folder, { recursive: true });
  randomFillSync(buffer);
  await writeFile(join(folder, 'weights.bin'), buffer);
  await writeFile(join(folder, 'config.json'), JSON.stringify({ hidden: 1024, layers: 12 }));
  return folder;
}

/** A text classifier for transformers.js of about 20 MB: 5,000 words × 1,024 dimensions. */
async function exportedModel(scratch: string): Promise<string> {
  const words = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}x`);
  const tokenizer = buildTokenizer([words.join(' ')], { maxLength: 32, maxVocabulary: 6000 });
  const model = tf.sequential({
    layers: [
      tf.layers.embedding({ inputDim: tokenizer.vocabularySize, outputDim: 1024, inputShape: [null] }),
      tf.layers.globalAveragePooling1d(),
      tf.layers.dense({ units: LABELS.length }),
    ],
  });
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const client = await openClient({ dir: join(scratch, 'store') });
  try {
    const draft = new Artifact('classifier', 'model');
    draft.addBytes(
      'model.json',
      JSON.stringify({
        modelTopology: saved!.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: saved!.weightSpecs }],
      }),
    );
    draft.addBytes('weights.bin', new Uint8Array(saved!.weightData as ArrayBuffer));
    const version = await client.commit(draft, { project: 'bench-hub' });
    const out = join(scratch, 'exported');
    await exportForTransformersJs(version.ref, out, { store: client.store, tokenizer, labels: LABELS });
    return out;
  } finally {
    await client.close();
  }
}

export async function run(): Promise<Measurement[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'quiver-bench-hub-'));
  const standIn = await startHubServer();
  const standInToken = standIn.createToken({ user: 'bench' });
  const quiver = await startServer(join(scratch, 'server'));
  const token = `hf_${quiver.key}`;
  const hubUrl = `${quiver.url}/hf`;
  const buffer = Buffer.alloc(WEIGHTS_BYTES);
  const upload = { standIn: [] as number[], quiver: [] as number[], sdk: [] as number[] };
  const load = { local: [] as number[], quiver: [] as number[], fetch: [] as number[] };
  const saved = { ...env };
  try {
    const me = (await whoAmI({ accessToken: token, hubUrl })).name;
    const sdk = await openClient({ baseUrl: quiver.url, apiKey: quiver.key });
    const trial = async (variant: 'standIn' | 'quiver' | 'sdk', round: number): Promise<number> => {
      if (variant === 'sdk') {
        // The same files logged with Quiver's own SDK to the same server: what the server costs
        // without the Hub routes (hash, ask which blobs are missing, stream them, commit).
        const folder = await checkpoint(join(scratch, `sdk-${round}`), buffer);
        const started = performance.now();
        const draft = new Artifact(`upload-${round < 0 ? 'warmup' : round + 1}`, 'model')
          .addFile(join(folder, 'weights.bin'))
          .addFile(join(folder, 'config.json'));
        await sdk.commit(draft, { project: 'bench-hub' });
        const seconds = (performance.now() - started) / 1000;
        await removeTree(folder);
        return seconds;
      }
      const name = `${variant === 'quiver' ? me : 'bench'}/upload-${round < 0 ? `warmup${-round}` : round + 1}`;
      const target =
        variant === 'quiver'
          ? { accessToken: token, hubUrl }
          : { accessToken: standInToken, hubUrl: standIn.url };
      if (variant === 'quiver') await createRepo({ ...target, repo: { type: 'model', name } });
      else standIn.createRepo({ repo: name });
      const folder = await checkpoint(join(scratch, `${variant}-${round}`), buffer);
      const started = performance.now();
      await uploadFiles({
        ...target,
        repo: { type: 'model', name },
        files: ['weights.bin', 'config.json'].map((path) => ({
          path,
          content: pathToFileURL(join(folder, path)),
        })),
      });
      const seconds = (performance.now() - started) / 1000;
      await removeTree(folder);
      return seconds;
    };
    await trial('standIn', -1); // warm-up: connections, JIT
    await trial('quiver', -1);
    await trial('sdk', -1);
    for (let round = 0; round < ROUNDS; round++) {
      const order =
        round % 2 === 0 ? (['standIn', 'quiver', 'sdk'] as const) : (['sdk', 'quiver', 'standIn'] as const);
      for (const variant of order) {
        const seconds = await trial(variant, round);
        progress(`upload round ${round + 1}: ${variant} ${seconds.toFixed(2)} s`);
        upload[variant].push(seconds);
      }
    }

    await sdk.close();
    const files = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'];
    const folder = await exportedModel(scratch);
    await createRepo({ accessToken: token, hubUrl, repo: { type: 'model', name: `${me}/classifier` } });
    await uploadFiles({
      accessToken: token,
      hubUrl,
      repo: { type: 'model', name: `${me}/classifier` },
      files: files.map((path) => ({
        path,
        content: pathToFileURL(join(folder, path)),
      })),
    });
    const plainFetch = saved.fetch;
    const loadOnce = async (variant: 'local' | 'quiver' | 'fetch', round: number): Promise<number> => {
      Object.assign(env, saved);
      if (variant === 'fetch') {
        // The floor of a remote load: the same files fetched from the same routes, nothing else.
        const started = performance.now();
        for (const path of files) {
          const answer = await fetch(`${quiver.url}/hf/${me}/classifier/resolve/main/${path}`, {
            headers: { authorization: `Bearer ${token}` },
          });
          await answer.arrayBuffer();
        }
        return (performance.now() - started) / 1000;
      }
      if (variant === 'quiver') {
        env.allowLocalModels = false;
        env.allowRemoteModels = true;
        env.remoteHost = `${quiver.url}/hf/`;
        // An empty cache each time: every file comes from the server.
        env.cacheDir = join(scratch, `cache-${round}`);
        env.fetch = (input: string | URL, init?: { headers?: Record<string, string> }) =>
          plainFetch(input, { ...init, headers: { ...init?.headers, Authorization: `Bearer ${token}` } });
      } else {
        env.allowLocalModels = true;
        env.allowRemoteModels = false;
      }
      const started = performance.now();
      const classify = await pipeline(
        'text-classification',
        variant === 'quiver' ? `${me}/classifier` : folder,
      );
      const seconds = (performance.now() - started) / 1000;
      await classify.dispose();
      return seconds;
    };
    await loadOnce('local', -1);
    await loadOnce('quiver', -1);
    await loadOnce('fetch', -1);
    for (let round = 0; round < ROUNDS; round++) {
      const order =
        round % 2 === 0 ? (['local', 'quiver', 'fetch'] as const) : (['fetch', 'quiver', 'local'] as const);
      for (const variant of order) {
        const seconds = await loadOnce(variant, round);
        progress(`pipeline round ${round + 1}: ${variant} ${seconds.toFixed(3)} s`);
        load[variant].push(seconds);
      }
    }
  } finally {
    Object.assign(env, saved);
    await quiver.stop();
    await standIn.close();
    await removeTree(scratch);
  }
  return [
    {
      id: '1',
      name: 'uploadFiles of 200 MB to the Quiver server (Hub routes) vs to the Hub stand-in',
      value: median(upload.quiver),
      unit: 's',
      baseline: {
        name: 'the same uploadFiles to the Hub stand-in of @quiver/transformers/testing',
        value: median(upload.standIn),
      },
      target: { kind: 'ratio', max: 1.2 },
      notes: [
        `${(WEIGHTS_BYTES / MiB).toFixed(0)} MiB of fresh random weights (the stand-in answers multipart, Quiver basic: its multipart threshold is 1 GiB) + config.json; median of ${ROUNDS} alternating rounds; the Quiver server is its own process on an embedded SQLite store, the stand-in runs in this process`,
      ],
      samples: { candidate: upload.quiver, baseline: upload.standIn },
    },
    {
      id: '1b',
      name: 'uploadFiles of 200 MB to the Quiver server (Hub routes) vs Quiver’s own SDK logging the same files there',
      value: median(upload.quiver),
      unit: 's',
      baseline: {
        name: 'client.commit over the remote backend, same server, same files',
        value: median(upload.sdk),
      },
      target: { kind: 'info' },
      notes: [
        'how much the Hub routes add over the server’s own upload path; both write the bytes to disk and fsync them, which the in-memory stand-in does not',
      ],
      samples: { candidate: upload.quiver, baseline: upload.sdk },
    },
    {
      id: '2',
      name: "transformers.js pipeline('text-classification') of a 20 MB model from the Quiver server vs from a local folder",
      value: median(load.quiver),
      unit: 's',
      baseline: { name: 'the same pipeline from the exported folder on disk', value: median(load.local) },
      target: { kind: 'ratio', max: 1.2 },
      notes: [
        `env.remoteHost on the server's /hf, an empty cache each round (config, tokenizer and onnx/model.onnx downloaded); median of ${ROUNDS} alternating rounds`,
      ],
      samples: { candidate: load.quiver, baseline: load.local },
    },
    {
      id: '2b',
      name: 'the same 4 files fetched from the same resolve routes (plain fetch, no transformers.js) vs from a local folder',
      value: median(load.fetch),
      unit: 's',
      baseline: { name: 'the same pipeline from the exported folder on disk', value: median(load.local) },
      target: { kind: 'info' },
      notes: [
        'the floor of any remote load: the bytes cross the loopback; figure 2 adds transformers.js writing its cache',
      ],
      samples: { candidate: load.fetch, baseline: load.local },
    },
  ];
}
