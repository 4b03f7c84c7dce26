// Headless Chromium for the UI suites and benches: Debian's /usr/bin/chromium driven by
// playwright-core (`npx playwright install` does not work on these machines; the test command
// installs the package with scripts/chromium/ensure.sh). No vitest in this module's graph.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = process.env.QUIVER_CHROMIUM ?? '/usr/bin/chromium';

/** The flags a headless Chromium needs here (FIELD-NOTES: without the networking ones it floods the closed network). */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** How long a browser action (click, fill, wait) may take before a test fails. */
export const ACTION_TIMEOUT_MS = 60_000;

/** `expect.poll` options for what a page shows once it has loaded (same reason as above). */
export const POLL = { timeout: 30_000, interval: 100 } as const;

/** Launches a headless Chromium (Playwright gives it a fresh, empty profile of its own). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

/** What went wrong in a page: uncaught errors, console errors, dialogs (an `alert` is a script that ran). */
export interface PageWatch {
  errors: string[];
  dialogs: string[];
  /** Requests sent and not yet answered (for a failing test's report). */
  pending: Set<string>;
}

const open = new Map<Page, PageWatch>();

/** What every page still open shows and waits for: call it when a test fails, to see why. */
export async function describeOpenPages(): Promise<string> {
  const lines: string[] = [];
  for (const [page, watch] of open) {
    if (page.isClosed()) continue;
    const body = await page
      .locator('body')
      .textContent({ timeout: 2000 })
      .then((text) => text ?? '')
      .catch((error: Error) => `(no text: ${error.message})`);
    lines.push(
      `page ${page.url()}`,
      `  text: ${body.replace(/\s+/g, ' ').slice(0, 600)}`,
      `  pending requests: ${[...watch.pending].join(', ') || 'none'}`,
      `  errors: ${watch.errors.join(' | ') || 'none'}`,
    );
  }
  return lines.join('\n');
}

/** A new page of its own context (own cookies), 1280×860, watched for errors and dialogs. */
export async function newPage(
  browser: Browser,
): Promise<{ context: BrowserContext; page: Page; watch: PageWatch }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
  // Generous: under a loaded CI machine a page may take seconds; these are not timing tests.
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  const page = await context.newPage();
  const watch: PageWatch = { errors: [], dialogs: [], pending: new Set() };
  open.set(page, watch);
  page.on('close', () => open.delete(page));
  const name = (request: { method(): string; url(): string }) => `${request.method()} ${request.url()}`;
  page.on('request', (request) => watch.pending.add(name(request)));
  page.on('requestfinished', (request) => watch.pending.delete(name(request)));
  page.on('requestfailed', (request) => {
    watch.pending.delete(name(request));
    // Aborted: the app dropped a request it no longer needs (the reader moved on).
    const reason = request.failure()?.errorText ?? '';
    if (reason !== 'net::ERR_ABORTED') watch.errors.push(`request failed: ${name(request)} (${reason})`);
  });
  page.on('pageerror', (error) => watch.errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // The app asks GET /api/v1/session whether anyone is signed in; before sign-in that is a 401.
    const probe = message.location().url.endsWith('/api/v1/session') && message.text().includes('401');
    if (!probe) watch.errors.push(`${message.text()} (${message.location().url})`);
  });
  page.on('dialog', (dialog) => {
    watch.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return { context, page, watch };
}

/**
 * Where screenshots go: `QUIVER_UI_SCREENSHOTS` (set it to `docs/ui` to refresh the README's),
 * else a folder under the system temp dir. Made if missing.
 */
export function screenshotDir(): string {
  const dir = process.env.QUIVER_UI_SCREENSHOTS ?? join(tmpdir(), 'quiver-ui-screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes a full-page screenshot `<name>.png` of the page as it is now; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(screenshotDir(), `${name}.png`);
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}

/** The visible text of a locator, for `expect.poll` (empty while it is not on the page). */
export function text(locator: Locator): () => Promise<string> {
  return async () => ((await locator.count()) === 0 ? '' : ((await locator.first().textContent()) ?? ''));
}
