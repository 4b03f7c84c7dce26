import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init, QuiverClient, type Store } from '@quiver/core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SyncServer, startSyncServer } from '../offline/support.js';
import { trainWithCallback, VAL_LOSS } from '../offline/training.js';
import {
  launchBrowser,
  newPage,
  type PageWatch,
  POLL,
  screenshot,
  screenshotDir,
  text,
} from '../support/browser.js';

import { runScript } from '../support/processes.js';
import { reportPages, setPassword, signIn as signInPage } from './support.js';

// The walkthrough of the product we follow, clicked through in headless Chromium against a team
// server process: a TF.js training run logs checkpoints → the Artifacts tab shows them with
// `best` → the version page → the lineage graph → Link to registry with a pasted card, a tag and
// `staging` → the registry page → an admin moves `production` → a script loads it.
const CARD = [
  '# Spiral classifier',
  '',
  'A small **TF.js** classifier of the three-arm spiral.',
  '',
  '| split | accuracy |',
  '| ----- | -------- |',
  '| val   | 0.97     |',
].join('\n');

let root: string;
let server: SyncServer;
let store: Store;
let browser: Browser;
let runId: string;
let runName: string;
let artifactName: string;

async function signIn(page: Page, user: string, shot?: string): Promise<void> {
  await page.goto(`${server.url}/`);
  await page.waitForURL('**/signin');
  await signInPage(page, server.url, { user }, shot ? () => screenshot(page, shot) : undefined);
}

function expectClean(watch: PageWatch): void {
  expect(watch.errors, 'errors in the page').toEqual([]);
  expect(watch.dialogs, 'dialogs the page opened').toEqual([]);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'quiver-ui-walk-'));
  server = await startSyncServer(root);
  await setPassword(server, 'mia');
  await setPassword(server, 'ada');
  store = await server.store(server.memberKey, join(root, 'trainer'));
  // A TF.js training run on the team server: a checkpoint per epoch, `best` on the 4th (v3).
  const run = await init({ store, project: 'spirals', jobType: 'train', config: { lr: 0.01, epochs: 5 } });
  await trainWithCallback(run, {});
  await run.finish();
  runId = run.id;
  runName = run.name;
  artifactName = `model-${run.id}`;
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await store?.close();
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('the web UI walkthrough', () => {
  it('clicks from a training run to a registered model that a script loads at production', async () => {
    reportPages();
    const { page, watch, context } = await newPage(browser);
    await signIn(page, 'mia', 'signin');

    // Projects → the team's project → its Artifacts tab: every checkpoint, `best` on v3.
    await page.goto(`${server.url}/projects/vision`);
    await page.getByRole('link', { name: 'spirals' }).first().click();
    await page.waitForURL('**/projects/vision/spirals/artifacts');
    await page.getByRole('link', { name: artifactName }).first().waitFor();
    const artifacts = page.locator('main');
    await expect.poll(() => artifacts.getByTestId('version-row').count(), POLL).toBeGreaterThan(0);
    await expect
      .poll(() => page.locator('.chip.alias', { hasText: /^best$/ }).count(), POLL)
      .toBeGreaterThan(0);
    await screenshot(page, 'artifacts');

    // The artifact's versions, then the best one's page.
    await page.getByRole('link', { name: artifactName }).first().click();
    await page.waitForURL(`**/artifacts/${artifactName}`);
    await page.getByRole('heading', { level: 1, name: artifactName }).waitFor();
    await expect.poll(() => page.getByTestId('version-row').count(), POLL).toBe(VAL_LOSS.length);
    await screenshot(page, 'artifact');
    const bestRow = page
      .getByTestId('version-row')
      .filter({ has: page.locator('.chip.alias', { hasText: /^best$/ }) });
    await bestRow.getByRole('link', { name: /v3/ }).first().click();
    await page.waitForURL(`**/artifacts/${artifactName}/v3`);
    await expect.poll(text(page.getByRole('heading', { level: 1 })), POLL).toContain(`${artifactName}:v3`);
    // Metadata, files with sizes and digests, the producing run.
    const metadata = page.getByRole('region', { name: 'Metadata' });
    await expect.poll(text(metadata), POLL).toContain('epoch');
    await expect.poll(() => page.getByTestId('file-row').count(), POLL).toBeGreaterThanOrEqual(2);
    const files = page.getByRole('region', { name: 'Files' });
    await expect.poll(text(files), POLL).toContain('model.json');
    await expect.poll(text(files), POLL).toContain('weights.bin');
    const producer = page.getByRole('region', { name: 'Producing run' });
    await producer.getByRole('link', { name: runName }).waitFor({ state: 'visible' });
    await expect
      .poll(text(page.getByRole('region', { name: 'Use this version' })), POLL)
      .toContain('loadModel');
    await screenshot(page, 'version');

    // The lineage graph: the run that made the version, drawn apart from the versions.
    await page
      .getByRole('link', { name: /lineage/i })
      .first()
      .click();
    await page.waitForURL('**/v3/lineage');
    await page.locator('body[data-ready="lineage"]').waitFor({ state: 'attached' });
    const rootNode = page.locator('[data-testid="lineage-node"][data-root="true"]');
    await expect.poll(() => rootNode.getAttribute('data-kind'), POLL).toBe('artifact');
    await expect
      .poll(() => page.locator(`[data-testid="lineage-node"][data-kind="run"]`).count(), POLL)
      .toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId('lineage-edge').count(), POLL).toBeGreaterThan(0);
    await screenshot(page, 'lineage');
    // Clicking the run goes to its page: config, summary and a chart per metric.
    await page.locator(`[data-testid="lineage-node"][data-kind="run"]`).first().click();
    await page.waitForURL(`**/runs/${runId}`);
    await page.locator('body[data-ready="run"]').waitFor({ state: 'attached' });
    await page.locator('[data-testid="metric-chart"][data-key="val_loss"]').waitFor({ state: 'visible' });
    await expect.poll(text(page.getByRole('region', { name: 'Config' })), POLL).toContain('lr');
    await screenshot(page, 'run');
    await page.goto(`${server.url}/projects/vision/spirals/runs`);
    await expect.poll(() => page.getByTestId('run-row').count(), POLL).toBe(1);
    await screenshot(page, 'runs');

    // Link to registry: a new registered model with a pasted card, a tag and `staging`.
    await page.goto(`${server.url}/projects/vision/spirals/artifacts/${artifactName}/v3`);
    await page.getByRole('button', { name: 'Link to registry' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('New model name').fill('spiral-ui');
    await dialog.getByLabel('Model card (markdown)').fill(CARD);
    await dialog.getByLabel('Tags').fill('vision-demo');
    await dialog.getByLabel('staging').check();
    expect(await dialog.getByLabel('production').count()).toBe(0); // protected: admins only
    await screenshot(page, 'link-to-registry');
    await dialog.getByRole('button', { name: 'Link version' }).click();
    await page.waitForURL('**/registry/vision/model/spiral-ui');

    // The same as `quiver registry link`: the model, its card, tag and alias on the server.
    const client = new QuiverClient(store);
    const model = await client.store.backend.registry.model({ entity: 'vision', model: 'spiral-ui' });
    expect(model.card).toBe(CARD);
    expect(model.tags).toEqual(['vision-demo']);
    expect(model.versions).toHaveLength(1);
    expect(model.versions[0]!.source.ref).toBe(`vision/spirals/${artifactName}:v3`);
    expect(model.versions[0]!.aliases).toContain('staging');

    // The registry: the model listed with its tag; its page renders the card.
    await page.goto(`${server.url}/registry/vision`);
    const row = page.getByTestId('model-row').filter({ hasText: 'spiral-ui' });
    await expect.poll(text(row), POLL).toContain('vision-demo');
    await expect.poll(text(row), POLL).toContain('staging');
    await screenshot(page, 'registry');
    await row.getByRole('link', { name: 'spiral-ui' }).click();
    const card = page.getByTestId('markdown');
    await card.getByRole('heading', { name: 'Spiral classifier' }).waitFor({ state: 'visible' });
    await expect.poll(text(card.locator('strong')), POLL).toBe('TF.js');
    await expect.poll(text(card.locator('table td').first()), POLL).toBe('val');
    await screenshot(page, 'model');
    expectClean(watch);
    await context.close();

    // An admin of the team moves `production` (protected: members are not offered it).
    const admin = await newPage(browser);
    await signIn(admin.page, 'ada');
    await admin.page.goto(`${server.url}/registry/vision/model/spiral-ui`);
    await admin.page.getByLabel('Alias', { exact: true }).fill('production');
    await admin.page.getByRole('button', { name: 'Set alias' }).click();
    const history = admin.page.getByRole('region', { name: 'History' });
    await expect.poll(text(history), POLL).toContain('production');
    await expect.poll(text(history), POLL).toContain('ada');
    await admin.page
      .locator('.chip.protected', { hasText: 'production' })
      .first()
      .waitFor({ state: 'visible' });
    await screenshot(admin.page, 'model-admin');
    expectClean(admin.watch);
    await admin.context.close();

    // A consumer's script loads registry/spiral-ui:production: the v3 checkpoint's predictions.
    const env = {
      QUIVER_BASE_URL: server.url,
      QUIVER_API_KEY: server.memberKey,
      QUIVER_ENTITY: 'vision',
      QUIVER_DIR: join(root, 'consumer'),
    };
    const production = await runScript(
      'test/children/predict-from-registry.ts',
      ['registry/spiral-ui:production'],
      env,
    );
    expect(production.code, production.stderr).toBe(0);
    const direct = await runScript(
      'test/children/predict-from-registry.ts',
      [`spirals/${artifactName}:v3`],
      env,
    );
    expect(direct.code, direct.stderr).toBe(0);
    const predictions = (outcome: { stdout: string }) =>
      (JSON.parse(outcome.stdout.trim().split('\n').pop()!) as { predictions: number[][] }).predictions;
    expect(predictions(production)).toEqual(predictions(direct));
    expect(predictions(production)).toHaveLength(2);
    process.stdout.write(`UI screenshots: ${screenshotDir()}\n`);
  }, 300_000);
});
