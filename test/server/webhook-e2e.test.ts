import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-wasm';
import { API_PREFIX, type CreatedAutomation, type DeliveryInfo, openStore, QuiverClient } from '@quiver/core';
import { loadModel } from '@quiver/tfjs';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/private-postgres.js';
import { runScript, spawnScript } from '../support/processes.js';
import { startTestServer } from '../support/remote-server.js';

describe('an automation end to end', () => {
  it('moving production sends one signed webhook; the example receiver then serves that version', {
    timeout: 240_000,
  }, async () => {
    await tf.setBackend('wasm');
    const dir = mkdtempSync(join(tmpdir(), 'quiver-webhook-e2e-'));
    const server = await startTestServer({
      dataDir: join(dir, 'server'),
      env: { QUIVER_WEBHOOK_ALLOW: '127.0.0.1', QUIVER_WEBHOOK_POLL_MS: '100' },
    });
    const env = {
      QUIVER_BASE_URL: server.url,
      QUIVER_API_KEY: server.adminKey,
      QUIVER_DIR: join(dir, 'client'),
    };
    const receiverOutput: string[] = [];
    let receiver: ReturnType<typeof spawnScript> | undefined;
    try {
      // The demo trains against the server and links its best checkpoint as staging.
      const trained = await runScript('examples/tfjs-classifier/train.ts', [], {
        ...env,
        QUIVER_PROJECT: 'e2e',
        DEMO_EPOCHS: '3',
      });
      expect(trained.code, trained.stderr).toBe(0);

      const port = await freePort();
      const made = await fetch(`${server.url}${API_PREFIX}/automations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'serve-production',
          trigger: 'registry.alias.added',
          filter: '^production$',
          scope: { registry: 'model', model: 'spiral-classifier' },
          url: `http://127.0.0.1:${port}/webhook`,
        }),
      });
      expect(made.status).toBe(200);
      const automation = (await made.json()) as CreatedAutomation;

      receiver = spawnScript('examples/webhook-receiver/receiver.ts', [], {
        ...env,
        PORT: String(port),
        QUIVER_WEBHOOK_SECRET: automation.secret,
      });
      const lineWith = (key: string) =>
        new Promise<Record<string, string>>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`no '${key}' line: ${receiverOutput.join('')}`)),
            60_000,
          );
          const check = () => {
            for (const line of receiverOutput.join('').split('\n')) {
              if (!line.trim()) continue;
              const parsed = JSON.parse(line) as Record<string, string>;
              if (key in parsed) {
                clearTimeout(timer);
                resolve(parsed);
                return true;
              }
            }
            return false;
          };
          if (!check()) receiver!.stdout!.on('data', () => void check());
        });
      receiver.stdout!.on('data', (chunk: Buffer) => receiverOutput.push(chunk.toString()));
      receiver.stderr!.on('data', (chunk: Buffer) => receiverOutput.push(chunk.toString()));
      await lineWith('listening');

      const store = await openStore({
        baseUrl: server.url,
        apiKey: server.adminKey,
        dir: join(dir, 'tester'),
      });
      const client = new QuiverClient(store);
      const staging = await client.registry.version('registry/spiral-classifier:staging');
      await client.registry.setAlias('registry/spiral-classifier:staging', 'production', { force: true });
      const served = await lineWith('serving');
      expect(served.serving).toBe(`admin/registry/spiral-classifier:v${staging.version}`);

      // Exactly one webhook, verified by the receiver (it would answer 401 otherwise), delivered once.
      const log = (await (
        await fetch(`${server.url}${API_PREFIX}/automations/${automation.id}/deliveries`, {
          headers: { authorization: `Bearer ${server.adminKey}` },
        })
      ).json()) as DeliveryInfo[];
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ state: 'delivered', attempts: 1, type: 'registry.alias.added' });
      expect(log[0]!.log[0]!.status).toBe(200);
      expect(receiverOutput.join('').match(/"received"/g)).toHaveLength(1);

      // The receiver's prediction on a fixed input is the model's.
      const model = await loadModel('registry/spiral-classifier:production', { store });
      const width = model.inputs[0]!.shape[1]!;
      const inputs = [Array.from({ length: width }, (_, i) => 0.25 * (i + 1)), Array(width).fill(-0.5)];
      const expected = tf.tidy(() =>
        (model.predict(tf.tensor2d(inputs)) as tf.Tensor).arraySync(),
      ) as number[][];
      const predicted = (await (
        await fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', body: JSON.stringify({ inputs }) })
      ).json()) as { ref: string; outputs: number[][] };
      expect(predicted.ref).toBe(served.serving);
      expect(predicted.outputs.flat().length).toBe(expected.flat().length);
      for (const [i, value] of predicted.outputs.flat().entries())
        expect(value).toBeCloseTo(expected.flat()[i]!, 5);
      await store.close();
    } finally {
      receiver?.kill('SIGTERM');
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
