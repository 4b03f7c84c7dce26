import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Artifact, init, type Store } from '@quiver/core';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SyncServer, startSyncServer } from '../offline/support.js';
import { launchBrowser, newPage, POLL, screenshot, text } from '../support/browser.js';
import { reportPages, signIn } from './support.js';

// Runs and lineage in headless Chromium against a team server: signing in with an API key, the
// runs list with a crashed run, two runs compared on one chart, and a lineage level of six runs
// folded into a cluster that opens in place.
const USERS = 6;

let root: string;
let server: SyncServer;
let store: Store;
let browser: Browser;
const names: string[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'quiver-ui-runs-'));
  server = await startSyncServer(root);
  store = await server.store(server.memberKey, join(root, 'client'));
  const prep = await init({ store, project: 'flows', jobType: 'prepare', name: 'prepare-data' });
  await prep.logArtifact(new Artifact('data', 'dataset').addBytes('rows.csv', 'a,b\n1,2\n'));
  await prep.finish();
  for (let index = 0; index < USERS; index++) {
    const run = await init({ store, project: 'flows', jobType: 'train', name: `train-${index}` });
    await run.useArtifact('flows/data:v0');
    for (let step = 0; step < 50; step++) run.log({ loss: (index + 1) / (step + 1) }, { step });
    await run.logArtifact(new Artifact(`model-${index}`, 'model').addBytes('w.bin', String(index)));
    await run.finish();
    names.push(run.name);
  }
  // A run whose process died: its state is crashed.
  const runs = store.backend.runs;
  await runs.create({
    id: 'diedmid01',
    entity: 'vision',
    project: 'flows',
    name: 'died-mid-epoch',
    jobType: 'train',
    group: null,
    tags: [],
    notes: null,
    config: {},
    host: 'gpu-7',
    pid: 4242,
  });
  await runs.appendHistory('diedmid01', {
    rows: [{ step: 0, metrics: { loss: 3 } }],
    summary: { loss: { last: 3, min: 3, max: 3, step: 0 } },
  });
  await runs.finish('diedmid01', { exitCode: 137, crashed: true });
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await store?.close();
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('runs and lineage in the web UI', () => {
  it('signs in with an API key, shows a crashed run, and overlays two runs on one chart', async () => {
    reportPages();
    const { page, watch, context } = await newPage(browser);
    await signIn(page, server.url, { apiKey: server.memberKey });
    // The key never sits in the page's storage or URL: the session cookie (HttpOnly) stands for it.
    const stored = await page.evaluate(() => {
      const scope = globalThis as unknown as {
        localStorage: Record<string, string>;
        sessionStorage: Record<string, string>;
        location: { href: string };
      };
      return JSON.stringify([{ ...scope.localStorage }, { ...scope.sessionStorage }, scope.location.href]);
    });
    expect(stored).not.toContain(server.memberKey);

    await page.goto(`${server.url}/projects/vision/flows/runs`);
    await expect.poll(() => page.getByTestId('run-row').count(), POLL).toBe(USERS + 2);
    const crashedRow = page.getByTestId('run-row').filter({ hasText: 'died-mid-epoch' });
    await expect.poll(text(crashedRow), POLL).toContain('crashed');
    await screenshot(page, 'runs-crashed');

    await page.getByLabel(`Select ${names[0]}`).check();
    await page.getByLabel(`Select ${names[1]}`).check();
    await page.getByRole('button', { name: /Compare/ }).click();
    await page.waitForURL('**/compare?runs=*');
    await page.getByRole('heading', { level: 1, name: 'Compare runs' }).waitFor();
    await expect.poll(() => page.getByTestId('compare-run').count(), POLL).toBe(2);
    const chart = page.locator('[data-testid="metric-chart"][data-key="loss"]');
    await chart.locator('canvas').first().waitFor();
    // One line per run, named in the legend.
    for (const name of names.slice(0, 2)) await expect.poll(text(chart), POLL).toContain(name);
    await screenshot(page, 'compare');
    expect(watch.errors).toEqual([]);
    await context.close();
  }, 300_000);

  it('folds the six runs that used a version into a cluster, which opens in place', async () => {
    reportPages();
    const { page, watch, context } = await newPage(browser);
    await signIn(page, server.url, { apiKey: server.memberKey });
    await page.goto(`${server.url}/projects/vision/flows/artifacts/data/v0/lineage`);
    await page.locator('body[data-ready="lineage"]').waitFor({ state: 'attached' });
    const nodes = page.getByTestId('lineage-node');
    const cluster = page.locator('[data-testid="lineage-node"][data-kind="cluster"]');
    await expect.poll(() => cluster.count(), POLL).toBe(1);
    expect(await cluster.getAttribute('data-label')).toContain(String(USERS));
    // Folded: the root, its maker and the cluster (the runs' models fold with them).
    expect(await nodes.count()).toBe(3);
    await screenshot(page, 'lineage-cluster');
    await cluster.click();
    await expect
      .poll(() => page.locator('[data-testid="lineage-node"][data-kind="run"]').count(), POLL)
      .toBe(USERS + 1);
    for (const name of names)
      await page.locator(`[data-testid="lineage-node"][data-kind="run"][data-label="${name}"]`).waitFor();
    // A node of the opened cluster goes to its run.
    await page.locator(`[data-testid="lineage-node"][data-label="${names[2]}"]`).click();
    await page.waitForURL('**/projects/vision/flows/runs/*');
    await page.getByRole('heading', { level: 1, name: names[2] }).waitFor();
    expect(watch.errors).toEqual([]);
    await context.close();
  }, 300_000);
});
