import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ArtifactVersionInfo, HistoryRow, Store } from '@quiver/core';
import { loadModel } from '@quiver/tfjs';
import * as tf from '@tensorflow/tfjs';
import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SyncServer, startSyncServer } from '../offline/support.js';
import { createUserWithKey } from '../support/backends.js';
import { launchBrowser, newPage, POLL, screenshot } from '../support/browser.js';
import { buildSite, type StaticSite, serveSite } from '../support/static-site.js';
import { PASSWORD, reportPages, setPassword } from '../ui/support.js';

// The example page of examples/browser-training, built with Vite and served from its own origin,
// trains in headless Chromium and logs to a real server process that allows that origin only.
const EXAMPLE = resolve(import.meta.dirname, '../../examples/browser-training');
const PROJECT = 'browser-training';

let root: string;
let server: SyncServer;
let store: Store;
let browser: Browser;
let allowed: StaticSite;
let foreign: StaticSite;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'quiver-browser-'));
  await buildSite(EXAMPLE, join(root, 'site'));
  allowed = await serveSite(join(root, 'site'));
  foreign = await serveSite(join(root, 'site'));
  server = await startSyncServer(root, { QUIVER_CORS_ORIGINS: allowed.origin, QUIVER_LOG_LEVEL: 'info' });
  await setPassword(server, 'mia');
  // A second user of the server, in none of mia's entities.
  await createUserWithKey(server.server, 'noa');
  await setPassword(server, 'noa');
  store = await server.store(server.memberKey, join(root, 'checker'));
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await store?.close();
  await server?.stop();
  await allowed?.close();
  await foreign?.close();
  rmSync(root, { recursive: true, force: true });
});

function pageUrl(site: StaticSite, query: Record<string, string> = {}): string {
  return `${site.origin}/?${new URLSearchParams({ server: server.url, ...query })}`;
}

async function startTraining(page: Page, who: { user: string } | { apiKey: string }): Promise<void> {
  await page.locator('body[data-ready="true"]').waitFor();
  if ('user' in who) {
    await page.getByLabel('Username').fill(who.user);
    await page.getByLabel('Password').fill(PASSWORD);
  } else await page.getByLabel('or API key').fill(who.apiKey);
  await page.getByRole('button', { name: 'Sign in and train' }).click();
}

/** Signs mia in from a page with a plain fetch (the session cookie lands in the browser); the status. */
function signInFrom(page: Page, username = 'mia'): Promise<number> {
  return page.evaluate(
    async ({ url, password, username }) =>
      (
        await fetch(`${url}/api/v1/session`, {
          method: 'POST',
          credentials: 'include',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, password }),
        })
      ).status,
    { url: server.url, password: PASSWORD, username },
  );
}

/** 0, 1, … (`from` 0) or 1, 2, … (`from` 1): `length` numbers. */
function counting(from: 0 | 1, length: number): number[] {
  return Array.from({ length }, (_, index) => index + from);
}

/** The epochs of checkpoint versions, in order. */
function epochsIn(versions: ArtifactVersionInfo[]): number[] {
  return versions.map((version) => version.metadata.epoch as number).sort((a, b) => a - b);
}

async function versionsOf(runId: string): Promise<ArtifactVersionInfo[]> {
  const page = await store.backend.artifacts.versions(
    { entity: 'mia', project: PROJECT, name: `model-${runId}` },
    { limit: 1000 },
  );
  return page.items;
}

async function historyOf(runId: string): Promise<HistoryRow[]> {
  return (await store.backend.runs.history(runId, { limit: 1000 })).items;
}

interface Request<T> {
  result: T;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
/** The page's globals the checks read (the test project compiles without the DOM library). */
interface PageScope {
  indexedDB: {
    open(
      name: string,
      version: number,
    ): Request<{
      transaction(store: string): {
        objectStore(name: string): { getAll(): Request<unknown[]>; count(): Request<number> };
      };
    }>;
  };
  document: { cookie: string };
  localStorage: object;
  sessionStorage: object;
}

/** Everything the page keeps: cookies it can read, both storages, and every outbox record. */
async function pageStorage(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const { indexedDB, document, localStorage, sessionStorage } = globalThis as unknown as PageScope;
    const outbox = await new Promise<string>((done) => {
      const request = indexedDB.open('quiver-outbox', 1);
      request.onsuccess = () => {
        const records = request.result.transaction('records').objectStore('records').getAll();
        records.onsuccess = () =>
          done(
            JSON.stringify(records.result, (_key, value) =>
              value instanceof Uint8Array ? [...value] : value,
            ),
          );
        records.onerror = () => done('');
      };
      request.onerror = () => done('');
    });
    return JSON.stringify({
      cookie: document.cookie,
      local: { ...localStorage },
      session: { ...sessionStorage },
      outbox,
    });
  });
}

async function outboxCount(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      new Promise<number>((done) => {
        const { indexedDB } = globalThis as unknown as PageScope;
        const request = indexedDB.open('quiver-outbox', 1);
        request.onsuccess = () => {
          const count = request.result.transaction('records').objectStore('records').count();
          count.onsuccess = () => done(count.result);
        };
      }),
  );
}

describe('training in the browser', () => {
  it('trains in the page; the server holds the run, its metrics and checkpoints with best on the best epoch, and Node loads the same model', async () => {
    reportPages();
    const { context, page, watch } = await newPage(browser);
    await page.goto(pageUrl(allowed, { epochs: '8', model: 'browser-spirals' }));
    await startTraining(page, { user: 'mia' });
    await page.locator('body[data-state="done"]').waitFor({ state: 'attached', timeout: 180_000 });
    const runId = (await page.locator('body').getAttribute('data-run'))!;
    const shown = JSON.parse((await page.locator('#predictions').textContent())!) as {
      ref: string;
      loadedFrom: string;
      epoch: number;
      backend: string;
      probe: number[][];
      /** Of the registry version the page loaded back. */
      outputs: number[][];
      /** Of the model in training, at the end of the best epoch. */
      trained: number[][];
    };
    expect(['webgl', 'wasm']).toContain(shown.backend);

    const run = await store.backend.runs.get(runId);
    expect(run).toMatchObject({ entity: 'mia', project: PROJECT, state: 'finished', jobType: 'train' });
    expect(run.config).toMatchObject({ epochs: 8, backend: shown.backend });
    const history = await historyOf(runId);
    expect(history.map((row) => row._step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const valLoss = history.map((row) => row.val_loss as number);
    expect(valLoss.every(Number.isFinite)).toBe(true);

    // A checkpoint for every improvement of val_loss; `best` on the epoch with the lowest one.
    const versions = await versionsOf(runId);
    const improvedAt = valLoss.flatMap((value, index) =>
      valLoss.slice(0, index).every((before) => value < before) ? [index + 1] : [],
    );
    expect(epochsIn(versions)).toEqual(improvedAt);
    const best = versions.find((version) => version.aliases.includes('best'))!;
    const bestEpoch = valLoss.indexOf(Math.min(...valLoss)) + 1;
    expect(best.metadata).toMatchObject({ epoch: bestEpoch, monitor: 'val_loss', format: 'tfjs-layers' });
    expect(best.metadata.score).toBeCloseTo(Math.min(...valLoss), 6);
    expect(best.producedBy).toBe(runId);
    // The page loaded the registry's `staging` back: the best checkpoint.
    expect(shown).toMatchObject({
      ref: best.ref,
      loadedFrom: 'registry/browser-spirals:staging',
      epoch: bestEpoch,
    });
    // The page showed the bytes of each checkpoint going out: the last, whole.
    const last = versions.reduce((a, b) => (b.version > a.version ? b : a));
    expect(await page.locator('body').getAttribute('data-progress')).toBe(`${last.size}/${last.size}`);
    expect(await page.locator('#upload').evaluate((bar) => (bar as unknown as { value: number }).value)).toBe(
      last.size,
    );
    // Each checkpoint as it landed, in the page, linked to its page in the web UI.
    await expect.poll(() => page.locator('#checkpoints li').count(), POLL).toBe(versions.length);
    // `best` is marked on one checkpoint only: the one that holds it now.
    await expect.poll(() => page.locator('#checkpoints li.best').count(), POLL).toBe(1);
    const link = page.locator('#checkpoints li.best a');
    expect(await link.getAttribute('href')).toBe(
      `${server.url}/projects/mia/${PROJECT}/artifacts/model-${runId}/v${best.version}`,
    );
    // Linked into the registry by the callback.
    const linked = await store.backend.registry.version({
      entity: 'mia',
      registry: 'model',
      model: 'browser-spirals',
      alias: 'staging',
    });
    expect(linked.source.digest).toBe(best.digest);

    // Node loads the version the page loaded back and predicts the same.
    await tf.ready();
    const model = await loadModel(shown.ref, { store });
    const outputs = (model.predict(tf.tensor2d(shown.probe)) as tf.Tensor).arraySync() as number[][];
    expect(outputs.length).toBe(shown.probe.length);
    // …as the page's model loaded back, and as the model in training at the end of the best
    // epoch: the checkpoint holds the weights of that epoch.
    for (const [row, values] of outputs.entries())
      for (const [column, value] of values.entries()) {
        expect(value).toBeCloseTo(shown.outputs[row]![column]!, 4);
        expect(value).toBeCloseTo(shown.trained[row]![column]!, 4);
      }
    expect(await outboxCount(page)).toBe(0);
    await screenshot(page, 'browser-training');
    expect(watch.errors).toEqual([]);
    await context.close();
  }, 300_000);

  it('trains on the WebAssembly backend too, and Node loads the same model', async () => {
    reportPages();
    const { context, page, watch } = await newPage(browser);
    await page.goto(pageUrl(allowed, { epochs: '4', model: 'browser-wasm', backend: 'wasm' }));
    await startTraining(page, { user: 'mia' });
    await page.locator('body[data-state="done"]').waitFor({ state: 'attached', timeout: 180_000 });
    const shown = JSON.parse((await page.locator('#predictions').textContent())!) as {
      ref: string;
      backend: string;
      epoch: number;
      probe: number[][];
      trained: number[][];
    };
    expect(shown.backend).toBe('wasm');
    const runId = (await page.locator('body').getAttribute('data-run'))!;
    const valLoss = (await historyOf(runId)).map((row) => row.val_loss as number);
    expect(shown.epoch).toBe(valLoss.indexOf(Math.min(...valLoss)) + 1);
    await tf.ready();
    const model = await loadModel(shown.ref, { store });
    const outputs = (model.predict(tf.tensor2d(shown.probe)) as tf.Tensor).arraySync() as number[][];
    for (const [row, values] of outputs.entries())
      for (const [column, value] of values.entries())
        expect(value).toBeCloseTo(shown.trained[row]![column]!, 4);
    expect(watch.errors).toEqual([]);
    await context.close();
  }, 300_000);

  it('reloaded in the middle of training: what was committed stays; the checkpoint queued at the reload is sent when the page starts again', async () => {
    reportPages();
    const { context, page } = await newPage(browser);
    const commits = `${server.url}/api/v1/versions`;
    let passed = 0;
    const held: Route[] = [];
    // The third commit never gets its answer: the network dropped as it went out. Its retries
    // (the same Idempotency-Key) fail too, even from the page as it goes away; the next page's
    // send (a new key) goes through.
    await page.route(commits, async (route) => {
      const key = route.request().headers()['idempotency-key'];
      const heldKey = held[0]?.request().headers()['idempotency-key'];
      if (route.request().method() !== 'POST' || passed < 2) {
        passed += route.request().method() === 'POST' ? 1 : 0;
        await route.continue();
      } else if (heldKey === undefined) held.push(route);
      else if (key === heldKey) await route.abort('connectionreset');
      else await route.continue();
    });
    await page.goto(pageUrl(allowed, { epochs: '60', logModel: 'all', model: 'browser-reload' }));
    await startTraining(page, { user: 'mia' });
    await expect.poll(() => held.length, { ...POLL, timeout: 180_000 }).toBeGreaterThanOrEqual(1);
    const runId = (await page.locator('body').getAttribute('data-run'))!;
    const queued = JSON.parse(held[0]!.request().postData()!) as {
      metadata: { epoch: number };
      aliases: string[];
    };
    expect(queued.aliases).toContain('epoch-3');
    expect(Number(await page.locator('#pending').textContent())).toBeGreaterThanOrEqual(1);
    expect(await outboxCount(page)).toBeGreaterThanOrEqual(1);
    // What the page keeps while work waits: the checkpoint, and no credential.
    const kept = await pageStorage(page);
    const session = (await context.cookies(server.url)).find((cookie) =>
      cookie.name.endsWith('quiver_session'),
    )!;
    expect(kept).toContain('epoch-3');
    expect(kept).not.toContain(session.value);
    expect(kept).not.toContain(PASSWORD);
    expect(kept).not.toContain(server.memberKey);
    const before = await versionsOf(runId);
    expect(before.map((version) => version.metadata.epoch)).toEqual([2, 1]);

    // The epoch the page reached: its metrics must all reach the server, the last ones too (the
    // page writes what it logged since its last batch to the outbox as it goes away).
    const reached = Number(await page.locator('body').getAttribute('data-epoch'));
    expect(reached).toBeGreaterThanOrEqual(3);
    await page.reload();
    // The page opens again, signed in by its session cookie, and sends what the outbox kept.
    await page.locator('body[data-ready="true"]').waitFor();
    expect(await page.locator('body').getAttribute('data-resume-skipped')).toBeNull();
    expect(Number(await page.locator('body').getAttribute('data-resumed'))).toBeGreaterThanOrEqual(1);
    const after = await versionsOf(runId);
    // Every epoch's checkpoint once (`logModel: 'all'`), the held one and those queued behind it.
    const epochs = epochsIn(after);
    expect(epochs.length).toBeGreaterThanOrEqual(3);
    expect(epochs).toEqual(counting(1, epochs.length));
    const steps = (await historyOf(runId)).map((row) => row._step as number);
    expect(steps.length).toBeGreaterThanOrEqual(reached);
    expect(steps).toEqual(counting(0, steps.length));
    // Nothing committed before the reload changed: same versions, same content.
    for (const version of before)
      expect(after.find((other) => other.version === version.version)?.digest).toBe(version.digest);
    const third = after.find((version) => version.metadata.epoch === 3)!;
    expect(third).toMatchObject({ producedBy: runId });
    expect(third.aliases).toContain('epoch-3');
    expect(await outboxCount(page)).toBe(0);
    await context.close();
  }, 300_000);

  it('signed in again in another tab while training (a new session): every checkpoint still lands', async () => {
    reportPages();
    const { context, page, watch } = await newPage(browser);
    const refused: string[] = [];
    page.on('response', (response) => {
      if (response.status() === 403)
        refused.push(`${response.request().method()} ${new URL(response.url()).pathname}`);
    });
    await page.goto(pageUrl(allowed, { epochs: '12', logModel: 'all', model: 'browser-twice' }));
    await startTraining(page, { user: 'mia' });
    await page.locator('#checkpoints li').first().waitFor();
    const first = (await context.cookies(server.url)).find((cookie) =>
      cookie.name.endsWith('quiver_session'),
    )!;
    // Another tab of the same browser signs in: the cookie (and so the CSRF token) changes under
    // the training page, which must read the new token rather than drop its checkpoints.
    const other = await context.newPage();
    await other.goto(pageUrl(allowed));
    expect(await signInFrom(other)).toBe(200);
    // TF.js trains between animation frames, which a hidden tab does not get: back to the page.
    await other.close();
    await page.bringToFront();
    const second = (await context.cookies(server.url)).find((cookie) =>
      cookie.name.endsWith('quiver_session'),
    )!;
    expect(second.value).not.toBe(first.value);
    await page.locator('body[data-state="done"]').waitFor({ state: 'attached', timeout: 180_000 });
    const runId = (await page.locator('body').getAttribute('data-run'))!;
    // The old token was refused once, and the page went on with the new one.
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(epochsIn(await versionsOf(runId))).toEqual(counting(1, 12));
    expect((await historyOf(runId)).length).toBe(12);
    expect(await outboxCount(page)).toBe(0);
    expect(watch.errors.filter((error) => !error.includes('403'))).toEqual([]);
    await context.close();
  }, 300_000);

  it('another user signs in to the browser mid-training: nothing is sent as them; the work waits for its own user', async () => {
    reportPages();
    const { context, page } = await newPage(browser);
    // The second commit waits until noa has signed in, so that the switch falls mid-training.
    let switched = false;
    let commits = 0;
    const waiting: Route[] = [];
    await page.route(`${server.url}/api/v1/versions`, async (route) => {
      if (switched || route.request().method() !== 'POST' || commits++ < 1) await route.continue();
      else waiting.push(route);
    });
    await page.goto(pageUrl(allowed, { epochs: '40', logModel: 'all', model: 'browser-switched' }));
    await startTraining(page, { user: 'mia' });
    await expect.poll(() => waiting.length, { ...POLL, timeout: 180_000 }).toBe(1);
    const runId = (await page.locator('body').getAttribute('data-run'))!;
    const other = await context.newPage();
    await other.goto(pageUrl(allowed));
    expect(await signInFrom(other, 'noa')).toBe(200);
    await other.close();
    await page.bringToFront();
    switched = true;
    await waiting[0]!.continue();
    // The page trains on, keeps its work, and cannot end the run while it is not sent.
    await page.locator('body[data-state="failed"]').waitFor({ state: 'attached', timeout: 180_000 });
    expect(Number(await page.locator('body').getAttribute('data-kept'))).toBeGreaterThanOrEqual(1);
    expect(await page.locator('#status').textContent()).toContain('did not reach the server');
    expect(await outboxCount(page)).toBeGreaterThanOrEqual(1);
    expect((await store.backend.runs.get(runId)).state).toBe('running');

    // Signed in as mia again, the page opens and sends what waited, as mia.
    expect(await signInFrom(page, 'mia')).toBe(200);
    await page.reload();
    await page.locator('body[data-ready="true"]').waitFor();
    expect(Number(await page.locator('body').getAttribute('data-resumed'))).toBeGreaterThanOrEqual(1);
    expect(epochsIn(await versionsOf(runId))).toEqual(counting(1, 40));
    expect((await historyOf(runId)).length).toBe(40);
    // …and ends the run, which the first page could not.
    expect((await store.backend.runs.get(runId)).state).toBe('finished');
    expect(await outboxCount(page)).toBe(0);
    const events = await server.store(server.adminKey, join(root, 'auditor'));
    try {
      const actors = new Set(
        (await events.backend.events.read({ limit: 10_000 }))
          .filter((event) => event.subject.includes(runId))
          .map((event) => event.actor),
      );
      expect([...actors]).toEqual(['mia']);
    } finally {
      await events.close();
    }
    await context.close();
  }, 300_000);

  it('the network drops for a while during training: the page goes on, and every checkpoint and metric lands once', async () => {
    reportPages();
    const { context, page, watch } = await newPage(browser);
    const failed: string[] = [];
    page.on('requestfailed', (request) => failed.push(new URL(request.url()).pathname));
    await page.goto(pageUrl(allowed, { epochs: '14', logModel: 'all', model: 'browser-offline' }));
    await startTraining(page, { user: 'mia' });
    await page.locator('#checkpoints li').first().waitFor();
    await context.setOffline(true);
    await expect.poll(() => failed.length, POLL).toBeGreaterThanOrEqual(1);
    // Longer than a send's retries (8 attempts, about 16 s): the page keeps the checkpoint
    // queued, tells so, and sends it when the network is back.
    await expect
      .poll(async () => Number(await page.locator('body').getAttribute('data-kept')), {
        ...POLL,
        timeout: 60_000,
      })
      .toBeGreaterThanOrEqual(1);
    await context.setOffline(false);
    await page.locator('body[data-state="done"]').waitFor({ state: 'attached', timeout: 180_000 });
    const runId = (await page.locator('body').getAttribute('data-run'))!;
    expect(epochsIn(await versionsOf(runId))).toEqual(counting(1, 14));
    expect((await historyOf(runId)).map((row) => row._step)).toEqual(counting(0, 14));
    expect((await store.backend.runs.get(runId)).state).toBe('finished');
    expect(Number(await page.locator('#pending').textContent())).toBe(0);
    expect(await outboxCount(page)).toBe(0);
    expect(watch.errors.filter((error) => !/ERR_INTERNET_DISCONNECTED|Failed to fetch/.test(error))).toEqual(
      [],
    );
    await context.close();
  }, 300_000);

  it('a page on an origin the server does not allow can neither read nor write, with the session cookie or a key', async () => {
    reportPages();
    const { context, page } = await newPage(browser);
    // Signed in on the allowed origin: the session cookie of the server's site is in the browser.
    await page.goto(pageUrl(allowed));
    expect(await signInFrom(page)).toBe(200);
    const runsBefore = (await store.backend.runs.list({ entity: 'mia', limit: 1000 })).items.length;
    // The control: from the allowed origin the same keyed request (a preflighted one) is answered.
    const allowedAnswer = await page.evaluate(
      async ({ url, key }) => {
        const response = await fetch(`${url}/api/v1/whoami`, { headers: { authorization: `Bearer ${key}` } });
        return { status: response.status, actor: ((await response.json()) as { actor?: string }).actor };
      },
      { url: server.url, key: server.memberKey },
    );
    expect(allowedAnswer).toEqual({ status: 200, actor: 'mia' });

    const attacker = await context.newPage();
    await attacker.goto(pageUrl(foreign));
    await attacker.locator('body[data-ready="true"]').waitFor();
    const attempts = await attacker.evaluate(
      async ({ url, key }) => {
        const outcome = async (request: Promise<Response>) => {
          try {
            const response = await request;
            return response.type === 'opaque'
              ? 'opaque'
              : `read ${response.status}: ${await response.text()}`;
          } catch {
            return 'refused';
          }
        };
        const run = {
          id: 'attack01',
          project: 'browser-training',
          jobType: null,
          group: null,
          tags: [],
          notes: null,
          config: {},
          host: 'evil',
          pid: 1,
        };
        return {
          session: await outcome(fetch(`${url}/api/v1/session`, { credentials: 'include' })),
          runs: await outcome(fetch(`${url}/api/v1/runs`, { credentials: 'include' })),
          keyed: await outcome(fetch(`${url}/api/v1/runs`, { headers: { authorization: `Bearer ${key}` } })),
          keyedWrite: await outcome(
            fetch(`${url}/api/v1/runs`, {
              method: 'POST',
              headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
              body: JSON.stringify(run),
            }),
          ),
          // A "simple" request goes out without a preflight: the server itself must refuse it.
          simpleWrite: await outcome(
            fetch(`${url}/api/v1/runs`, {
              method: 'POST',
              mode: 'no-cors',
              credentials: 'include',
              headers: { 'content-type': 'text/plain' },
              body: JSON.stringify(run),
            }),
          ),
        };
      },
      { url: server.url, key: server.memberKey },
    );
    expect(attempts).toEqual({
      session: 'refused',
      runs: 'refused',
      keyed: 'refused',
      keyedWrite: 'refused',
      simpleWrite: 'opaque',
    });
    // The page's own sign-in fails there too, and nothing was written.
    await attacker.getByLabel('Username').fill('mia');
    await attacker.getByLabel('Password').fill(PASSWORD);
    await attacker.getByRole('button', { name: 'Sign in and train' }).click();
    await attacker.locator('body[data-state="failed"]').waitFor();
    const runsAfter = (await store.backend.runs.list({ entity: 'mia', limit: 1000 })).items;
    expect(runsAfter.length).toBe(runsBefore);
    expect(runsAfter.some((run) => run.id === 'attack01')).toBe(false);
    // The server itself refused them (logged with their status), not only the browser.
    expect(server.server.output()).toMatch(/"statusCode":403/);
    // A link cannot point the example's sign-in at another host: it would post the password there.
    await attacker.goto(`${allowed.origin}/?${new URLSearchParams({ server: 'http://evil.example:8080' })}`);
    await attacker.locator('body[data-ready="true"]').waitFor();
    expect(await attacker.locator('body').getAttribute('data-server-ignored')).toBe('true');
    expect(await attacker.getByLabel('Server').inputValue()).not.toContain('evil.example');
    await context.close();
  }, 120_000);

  it('an API key typed into the page is traded for a session: it is in no URL, no storage of the page and no server log', async () => {
    reportPages();
    const { context, page, watch } = await newPage(browser);
    const urls: string[] = [];
    context.on('request', (request) => urls.push(request.url()));
    await page.goto(pageUrl(allowed, { epochs: '3', model: 'browser-keyed' }));
    await startTraining(page, { apiKey: server.memberKey });
    await page.locator('body[data-state="done"]').waitFor({ state: 'attached', timeout: 180_000 });
    const runId = (await page.locator('body').getAttribute('data-run'))!;
    expect((await versionsOf(runId)).length).toBeGreaterThanOrEqual(1);

    const secret = server.memberKey;
    const cookies = await context.cookies(server.url);
    const session = cookies.find((cookie) => cookie.name.endsWith('quiver_session'))!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(urls.length).toBeGreaterThan(10);
    for (const url of urls) {
      expect(url).not.toContain(secret);
      expect(url).not.toContain(session.value);
    }
    const kept = await pageStorage(page);
    expect(kept).not.toContain(secret);
    expect(kept).not.toContain(session.value);
    expect(await page.getByLabel('or API key').inputValue()).toBe('');
    const logs = server.server.output();
    expect(logs).toContain('/api/v1/versions');
    expect(logs).not.toContain(secret);
    expect(logs).not.toContain(secret.slice(-16));
    expect(logs).not.toContain(session.value);
    expect(logs).not.toContain(PASSWORD);
    expect(watch.errors).toEqual([]);
    await context.close();
  }, 300_000);
});
