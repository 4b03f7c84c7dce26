// A webhook receiver a team would copy: it verifies Quiver's signed webhooks with the
// standardwebhooks package, and when `production` moves to a new version of a registered model it
// downloads that version by ref and serves predictions with it (TF.js on wasm).
//
//   QUIVER_BASE_URL, QUIVER_API_KEY   the team server (a key that may read the model)
//   QUIVER_WEBHOOK_SECRET             the automation's signing secret (whsec_…)
//   PORT (default 8787), WATCH_ALIAS (default production)
//
//   POST /webhook    what the automation targets
//   POST /predict    {"inputs": [[…], …]} → {"ref", "outputs"}
//   GET  /healthz    {"serving": ref or null}
import '@tensorflow/tfjs-backend-wasm';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadModel } from '@quiver/tfjs';
import * as tf from '@tensorflow/tfjs';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

await tf.setBackend('wasm');
const secret = process.env.QUIVER_WEBHOOK_SECRET;
if (!secret?.startsWith('whsec_')) {
  process.stderr.write("Set QUIVER_WEBHOOK_SECRET to the automation's signing secret (whsec_…).\n");
  process.exit(2);
}
const verifier = new Webhook(secret);
const watched = process.env.WATCH_ALIAS ?? 'production';
const MAX_BODY = 1024 * 1024;

/** Webhook ids already handled: a retry or a redelivery of one is acknowledged and not acted on twice. */
const seen = new Set<string>();
let serving: { ref: string; model: tf.LayersModel } | undefined;
/** Model loads run one after another, in the order the webhooks came (the registry's order). */
let loading: Promise<void> = Promise.resolve();

const say = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

interface QuiverWebhook {
  type: string;
  data: { alias?: string | null; versionRef?: string | null; event?: { id: string } };
}

async function onWebhook(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readBody(request);
  let payload: QuiverWebhook;
  try {
    // Checks the signature and that the timestamp is within 5 minutes (a replay is refused).
    payload = verifier.verify(body, {
      'webhook-id': String(request.headers['webhook-id'] ?? ''),
      'webhook-timestamp': String(request.headers['webhook-timestamp'] ?? ''),
      'webhook-signature': String(request.headers['webhook-signature'] ?? ''),
    }) as QuiverWebhook;
  } catch (error) {
    if (error instanceof WebhookVerificationError) return answer(response, 401, { error: error.message });
    throw error;
  }
  const id = String(request.headers['webhook-id']);
  if (seen.has(id)) return answer(response, 200, { duplicate: true });
  seen.add(id);
  if (seen.size > 10_000) seen.delete(seen.values().next().value!);
  if (payload.type === 'registry.alias.added' && payload.data.alias === watched && payload.data.versionRef) {
    const ref = payload.data.versionRef;
    // Acknowledge at once (the sender has a timeout); the model loads behind it, in order.
    loading = loading.then(async () => {
      try {
        const model = await loadModel(ref);
        const previous = serving;
        serving = { ref, model };
        previous?.model.dispose();
        say({ serving: ref, webhook: id });
      } catch (error) {
        say({ failed: ref, webhook: id, error: (error as Error).message });
      }
    });
  }
  say({ received: payload.type, webhook: id });
  answer(response, 200, { ok: true });
}

async function onPredict(request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (!serving) return answer(response, 503, { error: `no ${watched} model yet` });
  const { inputs } = JSON.parse(await readBody(request)) as { inputs: number[][] };
  const { ref, model } = serving;
  const outputs = tf.tidy(() => (model.predict(tf.tensor2d(inputs)) as tf.Tensor).arraySync());
  answer(response, 200, { ref, outputs });
}

const server = createServer((request, response) => {
  const route = `${request.method} ${request.url?.split('?')[0]}`;
  const handler =
    route === 'POST /webhook'
      ? onWebhook
      : route === 'POST /predict'
        ? onPredict
        : route === 'GET /healthz'
          ? async () => answer(response, 200, { serving: serving?.ref ?? null })
          : async () => answer(response, 404, { error: `no route ${route}` });
  handler(request, response).catch((error: Error) => answer(response, 500, { error: error.message }));
});
server.listen(Number(process.env.PORT ?? 8787), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  say({ listening: `http://127.0.0.1:${port}`, webhook: `http://127.0.0.1:${port}/webhook` });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => server.close(() => process.exit(0)));
