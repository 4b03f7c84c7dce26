/**
 * The UI suite: the web UI in headless Chromium (Debian's, driven by playwright-core) against a
 * team server process, on data of the sizes, in one run:
 *
 * 1. An artifact with 10,000 versions: its page, from navigation to the first rows drawn.
 * 2. A run with 1,000,000 metric points (100,000 steps × 10 keys): its page, from navigation to
 *    every chart drawn.
 * 3. A lineage of 200 nodes (a dataset version, the run that made it, and 99 runs that used it,
 *    each making a model): the lineage page from navigation to the graph drawn — as it opens
 *    (sibling levels folded into clusters) and with every cluster open (all 200 nodes laid out).
 * 4. The app's JavaScript on the first page, gzipped.
 *
 * Each trial is a new browser context (cold cache, its own session cookie). The baseline of 1–3
 * is the same page's data fetched by `fetch` in that browser from the same server (the API's
 * share of the time); the target is ≤ 1.5 s whatever the baseline. Rounds alternate pages.
 */
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openEmbeddedStore } from '@quiver/core';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../test/support/browser.js';
import type { Measurement } from './support/figures.js';
import { removeTree } from './support/files.js';
import { median, progress } from './support/measure.js';
import { startServer } from './support/server-process.js';

const ROUNDS = Number(process.env.QUIVER_BENCH_ROUNDS ?? 5);
const VERSIONS = 10_000;
const STEPS = 100_000;
const KEYS = 10;
const USERS_OF_DATA = 99;
const LIMIT_S = 1.5;
const ENTITY = 'admin';
const PROJECT = 'bench';

interface Seeded {
  runId: string;
}

const runId = (index: number) => `bench${String(index).padStart(6, '0')}`;

/** Writes the data straight into the server's store (before the server starts): fast, and the same rows the API would write. */
async function seed(dataDir: string): Promise<Seeded> {
  const store = await openEmbeddedStore({ dir: dataDir, entity: ENTITY, actor: ENTITY });
  const backend = store.backend;
  try {
    const bytes = Buffer.from('bench weights');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const staged = await backend.blobs.stage({
      stream: (async function* () {
        yield bytes;
      })(),
      sizeHint: bytes.length,
    });
    await backend.blobs.publish([staged]);
    const commit = (name: string, path: string, run: string | null, aliases: string[] = []) =>
      backend.artifacts.commit({
        project: PROJECT,
        name,
        type: 'model',
        description: null,
        metadata: { path },
        manifest: [{ path, sha256, size: bytes.length }],
        runId: run,
        aliases,
        tags: [],
      });
    const newRun = (id: string, jobType: string) =>
      backend.runs.create({
        id,
        project: PROJECT,
        jobType,
        group: null,
        tags: [],
        notes: null,
        config: { lr: 0.001 },
        host: 'bench',
        pid: 1,
      });
    // 1. 10,000 versions of one artifact (each its own manifest, so none deduplicates).
    for (let index = 0; index < VERSIONS; index++) {
      await commit('versions10k', `weights-${index}.bin`, null, index === VERSIONS - 1 ? ['best'] : []);
      if (index % 2000 === 1999) progress(`seeded ${index + 1} versions`);
    }
    // 2. A run of 100,000 steps × 10 keys.
    const long = runId(0);
    await newRun(long, 'train');
    for (let start = 0; start < STEPS; start += 5000) {
      const rows = [];
      for (let step = start; step < start + 5000; step++) {
        const metrics: Record<string, number> = {};
        for (let key = 0; key < KEYS; key++)
          metrics[`metric_${key}`] = Math.exp(-step / 30_000) * (1 + key) + Math.sin(step / 500 + key) * 0.05;
        rows.push({ step, metrics });
      }
      await backend.runs.appendHistory(long, { rows, summary: {} });
    }
    await backend.runs.finish(long, { exitCode: 0 });
    progress(`seeded a run of ${STEPS * KEYS} points`);
    // 3. A lineage of 200 nodes around data:v0.
    const maker = runId(1);
    await newRun(maker, 'prepare');
    await commit('data', 'data.bin', maker);
    await backend.runs.finish(maker, { exitCode: 0 });
    for (let index = 0; index < USERS_OF_DATA; index++) {
      const id = runId(2 + index);
      await newRun(id, 'train');
      await backend.runs.recordUse(id, `${ENTITY}/${PROJECT}/data:v0`);
      await commit(`model-${index}`, `model-${index}.bin`, id);
      await backend.runs.finish(id, { exitCode: 0 });
    }
    progress('seeded a lineage of 200 nodes');
    return { runId: long };
  } finally {
    await store.close();
  }
}

interface Page {
  name: string;
  path: string;
  /** A selector that matches once the page is interactive (the app's CSP allows no string eval). */
  ready: string;
  /** How many of `count[0]` must be on the page by then. */
  count?: [string, number];
  /** The API path of the data the page needs (fetched in the page: the baseline). */
  fetch: string;
}

/** Opens `page.path` in a new context signed in with `key`; seconds from navigation to ready, and the baseline fetch's. */
async function trial(
  browser: Browser,
  url: string,
  key: string,
  page: Page,
): Promise<{ page: number; api: number }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  try {
    const signedIn = await context.request.post(`${url}/api/v1/session`, { data: { apiKey: key } });
    if (!signedIn.ok()) throw new Error(`sign-in failed: ${signedIn.status()} ${await signedIn.text()}`);
    const tab = await context.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (error) => errors.push(error.message));
    // The page notes the moment it is ready itself (a MutationObserver, before any script of the
    // app runs), so the time does not include how often the driver polls.
    await tab.addInitScript(
      ({ ready, count }) => {
        const scope = globalThis as unknown as {
          document: {
            querySelector(selector: string): unknown;
            querySelectorAll(selector: string): { length: number };
          };
          MutationObserver: new (
            callback: () => void,
          ) => {
            observe(target: unknown, options: object): void;
            disconnect(): void;
          };
          __quiverReady?: number;
        };
        const observer = new scope.MutationObserver(() => {
          const done =
            scope.document.querySelector(ready) !== null &&
            (count === null || scope.document.querySelectorAll(count[0]).length >= count[1]);
          if (done && scope.__quiverReady === undefined) {
            scope.__quiverReady = performance.now();
            observer.disconnect();
          }
        });
        // The document itself: its documentElement does not exist yet when this runs.
        observer.observe(scope.document, {
          childList: true,
          subtree: true,
          attributes: true,
        });
      },
      { ready: page.ready, count: page.count ?? null },
    );
    await tab.goto(`${url}${page.path}`, { waitUntil: 'commit' });
    // performance.now() counts from this document's navigation start.
    let interactive = Number.NaN;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      interactive =
        (await tab.evaluate(() => (globalThis as { __quiverReady?: number }).__quiverReady ?? Number.NaN)) /
        1000;
      if (Number.isFinite(interactive)) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (!Number.isFinite(interactive)) throw new Error(`${page.name}: the page was not ready within 60 s`);
    if (errors.length > 0) throw new Error(`${page.name}: the page threw: ${errors.join('; ')}`);
    if (page.count) {
      const [selector, least] = page.count;
      const found = await tab.locator(selector).count();
      if (found < least) throw new Error(`${page.name}: ${found} of ${selector} when ready, not ${least}`);
    }
    const api = await tab.evaluate(async (path) => {
      const started = performance.now();
      const response = await fetch(path);
      await response.json();
      return performance.now() - started;
    }, page.fetch);
    return { page: interactive, api: api / 1000 };
  } finally {
    await context.close();
  }
}

/** The JavaScript the first page loads (gzipped as the server sends it), and the whole build's. */
async function firstPageScripts(
  browser: Browser,
  url: string,
  key: string,
): Promise<{ first: number; all: number; files: number }> {
  const context = await browser.newContext();
  try {
    await context.request.post(`${url}/api/v1/session`, { data: { apiKey: key } });
    const tab = await context.newPage();
    const scripts = new Map<string, Buffer>();
    tab.on('response', async (response) => {
      if (response.request().resourceType() === 'script') scripts.set(response.url(), await response.body());
    });
    await tab.goto(`${url}/projects/${ENTITY}`, { waitUntil: 'networkidle' });
    let first = 0;
    for (const body of scripts.values()) first += gzipSync(body).length;
    // Every chunk of the build, as listed by the page's own module graph (index.html + dynamic imports).
    const html = await (await context.request.get(`${url}/`)).text();
    const entry = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    const seen = new Set<string>();
    const queue = entry ? [entry] : [];
    let all = 0;
    while (queue.length > 0) {
      const path = queue.pop()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const body = await (await context.request.get(`${url}${path}`)).body();
      all += gzipSync(body).length;
      for (const match of body.toString('utf8').matchAll(/["'`](?:\.\/|\/assets\/)([\w.-]+\.js)["'`]/g))
        queue.push(`/assets/${match[1]}`);
    }
    return { first: first / 1e6, all: all / 1e6, files: scripts.size };
  } finally {
    await context.close();
  }
}

export async function run(): Promise<Measurement[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'quiver-bench-ui-'));
  const dataDir = join(scratch, 'server');
  const seeded = await seed(dataDir);
  const server = await startServer(dataDir);
  const browser = await launchBrowser();
  const base = `/projects/${ENTITY}/${PROJECT}`;
  const pages: Page[] = [
    {
      name: 'versions',
      path: `${base}/artifacts/versions10k`,
      ready: '[data-testid="version-row"]',
      fetch: `/api/v1/artifacts/versions?entity=${ENTITY}&project=${PROJECT}&name=versions10k&limit=200`,
    },
    {
      name: 'run',
      path: `${base}/runs/${seeded.runId}`,
      ready: 'body[data-ready="run"]',
      count: ['[data-testid="metric-chart"] canvas', KEYS],
      fetch: `/api/v1/runs/${seeded.runId}/series?points=1000`,
    },
    {
      name: 'lineage',
      path: `${base}/artifacts/data/v0/lineage`,
      ready: 'body[data-ready="lineage"]',
      fetch: `/api/v1/refs/lineage?ref=${ENTITY}/${PROJECT}/data:v0&depth=3`,
    },
    {
      name: 'lineage-expanded',
      path: `${base}/artifacts/data/v0/lineage?expand=all`,
      ready: 'body[data-ready="lineage"]',
      count: ['[data-testid="lineage-node"]', 200],
      fetch: `/api/v1/refs/lineage?ref=${ENTITY}/${PROJECT}/data:v0&depth=3`,
    },
  ];
  const times = Object.fromEntries(
    pages.map((page) => [page.name, { page: [] as number[], api: [] as number[] }]),
  );
  let scripts: Awaited<ReturnType<typeof firstPageScripts>>;
  try {
    for (const page of pages) await trial(browser, server.url, server.key, page); // warm-up: JIT, SQLite pages
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? pages : [...pages].reverse();
      for (const page of order) {
        const result = await trial(browser, server.url, server.key, page);
        times[page.name]!.page.push(result.page);
        times[page.name]!.api.push(result.api);
        progress(
          `round ${round + 1}: ${page.name} ${result.page.toFixed(3)} s (its data ${result.api.toFixed(3)} s)`,
        );
      }
    }
    scripts = await firstPageScripts(browser, server.url, server.key);
  } finally {
    await browser.close();
    await server.stop();
    await removeTree(scratch);
  }
  const spread = (values: number[]) =>
    `${Math.min(...values).toFixed(3)}–${Math.max(...values).toFixed(3)} s`;
  const figure = (id: string, name: string, page: string, notes: string[]): Measurement => ({
    id,
    name,
    value: median(times[page]!.page),
    unit: 's',
    baseline: {
      name: "the page's data fetched by fetch() in the same browser (no rendering)",
      value: median(times[page]!.api),
    },
    target: { kind: 'value', max: LIMIT_S },
    notes: [
      ...notes,
      `median of ${ROUNDS} alternating rounds (spread ${spread(times[page]!.page)}); navigation start to interactive, in a new browser context each time (cold cache)`,
    ],
    samples: { candidate: times[page]!.page, baseline: times[page]!.api },
  });
  return [
    figure('3a', `the page of an artifact with ${VERSIONS.toLocaleString('en')} versions`, 'versions', [
      'interactive: the first page of version rows drawn (the list is virtualised and paged)',
    ]),
    figure(
      '3b',
      `the page of a run with ${(STEPS * KEYS).toLocaleString('en')} metric points (${KEYS} keys)`,
      'run',
      [`interactive: all ${KEYS} charts drawn from one downsampled request (≤ 1000 points a key)`],
    ),
    figure('3c', 'the lineage page of a graph of 200 nodes, as it opens', 'lineage', [
      'sibling levels of 5 or more folded into clusters, as a user first sees it',
    ]),
    figure(
      '3d',
      'the same lineage with every cluster open (200 nodes laid out and drawn)',
      'lineage-expanded',
      ['the page opened with ?expand=all'],
    ),
    {
      id: '3e',
      name: "the app's JavaScript on the first page, gzipped",
      value: scripts.first,
      unit: 'MB',
      baseline: { name: "every chunk of the app's build, gzipped", value: scripts.all },
      target: { kind: 'value', max: 0.4 },
      notes: [
        `${scripts.files} script files on the first page (/projects/${ENTITY}); gzip level 6 as the server sends them`,
      ],
    },
  ];
}
