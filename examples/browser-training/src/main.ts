// Trains a TF.js classifier in the page with the Quiver checkpoint callback. Checkpoints and
// metrics go to a Quiver server through the page's session: the password (or API key) is traded
// for an HttpOnly cookie at sign-in and never kept. What the page could not send is in IndexedDB
// and goes out when the page opens again.

import {
  type ArtifactVersion,
  connect,
  init,
  type OutboxEvent,
  sendPending,
  signIn,
} from '@quiver/core/browser';
import { checkpointCallback, type LogModelPolicy, loadModel } from '@quiver/tfjs/browser';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { PROBE, spirals } from './data.js';

const query = new URLSearchParams(location.search);
const form = document.querySelector<HTMLFormElement>('#connect')!;
const field = (name: string) => form.elements.namedItem(name) as HTMLInputElement;
const status = document.querySelector<HTMLElement>('#status')!;
const pending = document.querySelector<HTMLOutputElement>('#pending')!;
const list = document.querySelector<HTMLOListElement>('#checkpoints')!;
const predictions = document.querySelector<HTMLPreElement>('#predictions')!;
const sending = document.querySelector<HTMLElement>('#sending')!;
const upload = document.querySelector<HTMLProgressElement>('#upload')!;

/**
 * A link may name the server only on this page's own host. The page posts the password typed into
 * it to that server, so a link naming any server would hand it to whoever wrote the link.
 */
function serverOfLink(): string | undefined {
  const named = query.get('server');
  if (!named) return undefined;
  try {
    if (new URL(named).hostname === location.hostname) return named;
  } catch {
    // not a URL: ignored like another host's
  }
  document.body.dataset.serverIgnored = 'true';
  return undefined;
}

field('server').value = serverOfLink() ?? import.meta.env.VITE_QUIVER_URL ?? 'http://127.0.0.1:8080';
if (query.get('epochs')) field('epochs').value = query.get('epochs')!;
const logModel = (query.get('logModel') ?? 'best') as LogModelPolicy;
const registeredModel = query.get('model') ?? 'browser-spirals';

function show(text: string, state?: string): void {
  status.textContent = text;
  if (state) document.body.dataset.state = state;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

function onEvent(event: OutboxEvent): void {
  if (event.type === 'progress') {
    // A checkpoint's bytes as they go out (the files the server lacked are uploaded; the rest it has).
    const { bytesDone, bytesTotal } = event.progress;
    sending.textContent = `${event.label}: ${kib(bytesDone)} of ${kib(bytesTotal)}`;
    upload.max = Math.max(1, bytesTotal);
    upload.value = bytesDone;
    document.body.dataset.progress = `${bytesDone}/${bytesTotal}`;
    return;
  }
  pending.value = String(event.pending);
  if (event.type === 'kept') {
    // How often work was kept for later (the server or network away), for a test to read.
    document.body.dataset.kept = String(Number(document.body.dataset.kept ?? 0) + 1);
    show(`Not sent (${event.error.message}); kept for the next start.`);
  }
}

function webUiLink(baseUrl: string, version: ArtifactVersion): string {
  const path = [
    'projects',
    version.entity,
    version.project,
    'artifacts',
    version.name,
    `v${version.version}`,
  ];
  return `${baseUrl.replace(/\/+$/, '')}/${path.map(encodeURIComponent).join('/')}`;
}

function addCheckpoint(baseUrl: string, version: ArtifactVersion, isBest: boolean): void {
  const item = document.createElement('li');
  const link = document.createElement('a');
  link.href = webUiLink(baseUrl, version);
  link.target = '_blank';
  link.rel = 'noopener';
  link.textContent = version.ref;
  const epochs = version.aliases.filter((alias) => alias !== 'best' && alias !== 'latest');
  item.append(link, ` — ${epochs.join(', ')}`);
  if (isBest) {
    // `best` moved here: the checkpoint that held it no longer does.
    for (const previous of list.querySelectorAll('li.best')) previous.classList.remove('best');
    item.className = 'best';
  }
  list.append(item);
}

async function pickBackend(): Promise<string> {
  // WebGL where the browser has it; else WebAssembly; else plain JavaScript.
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasm,
    'tfjs-backend-wasm-simd.wasm': wasmSimd,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
  });
  // `?backend=wasm` (or webgl, cpu) tries that one first.
  const asked = query.get('backend');
  const order = ['webgl', 'wasm', 'cpu'].sort((a, b) => Number(b === asked) - Number(a === asked));
  for (const backend of order) if (await tf.setBackend(backend).catch(() => false)) return backend;
  return tf.getBackend();
}

/** On opening: if the page is signed in already, send what an earlier page left. */
async function resume(baseUrl: string): Promise<void> {
  const connection = await connect({ baseUrl, session: true, maxAttempts: 1 }).catch((error: Error) => {
    // Not signed in (yet): nothing to send as anyone.
    document.body.dataset.resumeSkipped = error.message;
    return undefined;
  });
  if (!connection) return;
  const report = await sendPending(connection, { onEvent });
  document.body.dataset.resumed = String(report.sent);
  if (report.sent + report.kept + report.dropped > 0)
    show(
      `Sent ${report.sent} pieces of work an earlier page left (${report.kept} kept, ${report.dropped} refused).`,
    );
}

async function train(): Promise<void> {
  const baseUrl = field('server').value;
  const username = field('username').value;
  const apiKey = field('apiKey').value;
  show('Signing in…', 'signing-in');
  await signIn(username ? { baseUrl, username, password: field('password').value } : { baseUrl, apiKey });
  // The session cookie holds the sign-in now: no secret stays in the page.
  field('password').value = '';
  field('apiKey').value = '';
  const backend = await pickBackend();
  const epochs = Number(field('epochs').value);
  const run = await init({
    baseUrl,
    session: true,
    project: field('project').value,
    jobType: 'train',
    config: { epochs, units: 32, learningRate: 0.01, backend },
    onEvent,
  });
  document.body.dataset.run = run.id;
  const runLink = document.createElement('a');
  runLink.href = run.url;
  runLink.textContent = run.name;
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [2], units: 32, activation: 'relu' }),
      tf.layers.dense({ units: 32, activation: 'relu' }),
      tf.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const { xs, ys } = spirals(200);
  const trained = new Map<number, unknown>();
  show(`Training ${run.name} on ${backend}…`, 'training');
  status.append(' ', runLink);
  await model.fit(xs, ys, {
    epochs,
    batchSize: 32,
    validationSplit: 0.2,
    callbacks: [
      checkpointCallback(run, model, {
        logModel,
        monitor: 'val_loss',
        registryModel: { model: registeredModel, aliases: ['staging'] },
        hooks: [
          { name: 'page', afterCommit: ({ version, isBest }) => addCheckpoint(baseUrl, version, isBest) },
        ],
      }),
      new tf.CustomCallback({
        onEpochEnd: async (epoch, logs) => {
          // What the model in training predicts now, to set beside the checkpoint loaded back.
          trained.set(
            epoch + 1,
            tf.tidy(() => (model.predict(tf.tensor2d(PROBE)) as tf.Tensor).arraySync()),
          );
          document.body.dataset.epoch = String(epoch + 1);
          status.firstChild!.textContent = `Epoch ${epoch + 1}/${epochs} on ${backend}: val_loss ${logs?.val_loss?.toFixed(4)} `;
        },
      }),
    ],
  });
  await run.finish();
  // The registry's bookmark, loaded back from the server as any consumer would.
  const linked = `registry/${registeredModel}:staging`;
  const version = await run.client().artifact(linked);
  const best = await loadModel(linked);
  const outputs = tf.tidy(() => (best.predict(tf.tensor2d(PROBE)) as tf.Tensor).arraySync());
  const epoch = version.metadata.epoch as number;
  predictions.textContent = JSON.stringify({
    ref: version.ref,
    loadedFrom: linked,
    epoch,
    backend,
    probe: PROBE,
    outputs,
    trained: trained.get(epoch),
  });
  show(`Done: ${run.name}. The best checkpoint is linked as registry/${registeredModel}:staging.`, 'done');
  status.append(' ', runLink);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  train().catch((error: unknown) => show(`Failed: ${(error as Error).message}`, 'failed'));
});

void resume(field('server').value).finally(() => {
  document.body.dataset.ready = 'true';
});
