import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Artifact, init, QuiverClient, type Store } from '@quiver/core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SyncServer, startSyncServer } from '../offline/support.js';
import { createUserWithKey } from '../support/backends.js';
import { ACTION_TIMEOUT_MS, launchBrowser, newPage, screenshot } from '../support/browser.js';
import { reportPages, setPassword, signIn } from './support.js';

// The attacks a registry UI must survive, tried in headless Chromium against a team server:
// cards and descriptions that carry scripts, event handlers, javascript: links and raw HTML; a
// viewer reaching for write controls and the API behind them; a write with the session cookie
// but no CSRF token.
const ATTACK = [
  '# Attack card <script>window.__pwned = "script"</script>',
  '',
  '<img src="x" onerror="window.__pwned = \'img\'">',
  '',
  '[click me](javascript:window.__pwned=%22link%22)',
  '',
  '<a href="javascript:window.__pwned=\'a\'">raw link</a>',
  '',
  '<iframe src="javascript:window.__pwned=\'iframe\'"></iframe>',
  '',
  '<div onmouseover="window.__pwned=\'hover\'">hover me</div>',
  '',
  '![pic](javascript:window.__pwned=%22md-img%22)',
  '',
  '[data link](data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX19wd25lZD0xPC9zY3JpcHQ+)',
  '',
  '<svg onload="window.__pwned=\'svg\'"><circle r="5"/></svg>',
  '',
  '<style>body { display: none }</style>',
].join('\n');

let root: string;
let server: SyncServer;
let store: Store;
let browser: Browser;
let ref: string;

/** What the attack left in a rendered markdown block: dangerous elements and attributes (none expected), and its text. */
async function inspectMarkdown(page: Page) {
  const markdown = page.getByTestId('markdown').first();
  await markdown.waitFor();
  // Hover and click what an attacker would want a user to hover and click.
  await markdown.getByText('hover me').hover();
  for (const name of ['click me', 'raw link', 'data link'])
    await markdown
      .getByText(name)
      .first()
      .click({ modifiers: [] })
      .catch(() => undefined);
  await page.waitForTimeout(200);
  return markdown.evaluate((element) => ({
    dangerous: [
      ...element.querySelectorAll(
        'script, iframe, svg, object, embed, style, img[onerror], [onmouseover], [onload], [onclick], [style]',
      ),
    ].map((node) => node.outerHTML),
    links: [...element.querySelectorAll('a[href]')].map((a) => a.getAttribute('href')),
    images: [...element.querySelectorAll('img')].map((img) => img.getAttribute('src')),
    text: element.textContent ?? '',
    pwned: (globalThis as { __pwned?: unknown }).__pwned ?? null,
    hidden:
      element.ownerDocument.body.offsetParent === null &&
      element.ownerDocument.body.getClientRects().length === 0,
  }));
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'quiver-ui-safety-'));
  server = await startSyncServer(root);
  await createUserWithKey(server.server, 'vic');
  const put = await fetch(`${server.url}/api/v1/admin/teams/vision/members/vic`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${server.server.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ role: 'viewer' }),
  });
  expect(put.status).toBe(200);
  for (const user of ['mia', 'vic']) await setPassword(server, user);
  store = await server.store(server.memberKey, join(root, 'client'));
  const run = await init({ store, project: 'attacks' });
  const version = await run.logArtifact(
    new Artifact('poisoned', 'model', { description: ATTACK }).addBytes('weights.bin', 'w'),
  );
  await run.finish();
  ref = version.ref;
  const client = new QuiverClient(store);
  await client.registry.createModel({ model: 'attack', card: ATTACK, tags: ['x'] });
  await client.registry.link(ref, { model: 'attack' }, { aliases: ['staging'] });
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await store?.close();
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

const versionUrl = () => `${server.url}/projects/vision/attacks/artifacts/poisoned/v0`;
const modelUrl = () => `${server.url}/registry/vision/model/attack`;

describe('web UI safety', () => {
  it('shows cards and descriptions with scripts, handlers, javascript: links and HTML as inert text — with the CSP and without it', async () => {
    reportPages();
    for (const bypassCSP of [false, true]) {
      // bypassCSP: the page as if the server sent no CSP, so the rendering alone must be safe.
      const context = await browser.newContext({ bypassCSP, viewport: { width: 1280, height: 860 } });
      context.setDefaultTimeout(ACTION_TIMEOUT_MS);
      const page = await context.newPage();
      const dialogs: string[] = [];
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      await signIn(page, server.url, { user: 'mia' });
      for (const url of [modelUrl(), versionUrl()]) {
        await page.goto(url);
        const found = await inspectMarkdown(page);
        expect(found.pwned, `${url}: a script ran`).toBeNull();
        expect(found.dangerous, url).toEqual([]);
        expect(found.hidden, `${url}: a <style> took effect`).toBe(false);
        expect(
          found.links.filter((href) => !/^https?:/.test(href ?? '')),
          url,
        ).toEqual([]);
        expect(
          found.images.filter((src) => /^javascript:/i.test(src ?? '')),
          url,
        ).toEqual([]);
        // The markup is there as text for the reader to see, not as elements.
        expect(found.text).toContain('<script>window.__pwned = "script"</script>');
        expect(found.text).toContain('onerror=');
        expect(page.url(), `${url}: a link navigated away`).toBe(url);
        if (!bypassCSP) await screenshot(page, url === modelUrl() ? 'safety-card' : 'safety-description');
      }
      expect(dialogs).toEqual([]);
      await context.close();
    }
  }, 300_000);

  it('shows a viewer no write control, and the API refuses the viewer’s write anyway', async () => {
    reportPages();
    const { page, watch, context } = await newPage(browser);
    await signIn(page, server.url, { user: 'vic' });
    const writeControls = [
      'Link to registry',
      'Add alias',
      'Add tag',
      'Edit card',
      'Save card',
      'Set alias',
      /^Remove /,
    ];
    for (const url of [versionUrl(), modelUrl()]) {
      await page.goto(url);
      await page.getByTestId('markdown').first().waitFor();
      await page.getByRole('heading', { level: 1 }).waitFor();
      for (const name of writeControls)
        expect(await page.getByRole('button', { name }).count(), `${url}: ${String(name)}`).toBe(0);
      expect(await page.getByLabel('Alias', { exact: true }).count(), url).toBe(0);
    }
    await screenshot(page, 'viewer-model');
    // The same write through the API, from the viewer's page, with the session's CSRF token.
    const answer = await page.evaluate(async (target) => {
      const session = (await (await fetch('/api/v1/session')).json()) as { csrfToken: string };
      const response = await fetch('/api/v1/refs/aliases', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-quiver-csrf': session.csrfToken },
        body: JSON.stringify({ ref: target, alias: 'viewer-was-here' }),
      });
      return { status: response.status, body: (await response.json()) as { code: string; message: string } };
    }, ref);
    expect(answer.status).toBe(403);
    expect(answer.body.code).toBe('E_FORBIDDEN');
    // Refused for the role, not for the CSRF token (which it carried).
    expect(answer.body.message).toContain('viewer');
    expect((await store.backend.artifacts.resolve(ref)).version.aliases).not.toContain('viewer-was-here');
    expect(watch.errors.filter((error) => !error.includes('403'))).toEqual([]);
    await context.close();
  }, 300_000);

  it('refuses a write that carries the session cookie but no CSRF token, and changes nothing', async () => {
    reportPages();
    const { page, context } = await newPage(browser);
    await signIn(page, server.url, { user: 'mia' });
    await page.goto(versionUrl());
    const attempts = await page.evaluate(async (target) => {
      const post = async (headers: Record<string, string>) => {
        const response = await fetch('/api/v1/refs/aliases', {
          method: 'POST',
          credentials: 'include',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ ref: target, alias: 'forged' }),
        });
        return { status: response.status, code: ((await response.json()) as { code: string }).code };
      };
      return [await post({}), await post({ 'x-quiver-csrf': 'guessed' })];
    }, ref);
    expect(attempts).toEqual([
      { status: 403, code: 'E_FORBIDDEN' },
      { status: 403, code: 'E_FORBIDDEN' },
    ]);
    expect((await store.backend.artifacts.resolve(ref)).version.aliases).not.toContain('forged');
    // The cookie itself is out of the page's reach (HttpOnly), so a script cannot lift the session.
    const pageCookies = await page.evaluate(
      () => (globalThis as unknown as { document: { cookie: string } }).document.cookie,
    );
    expect(pageCookies).not.toContain('quiver_session');
    const cookies = await context.cookies();
    expect(cookies.find((cookie) => cookie.name === 'quiver_session')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
    });
    await context.close();
  }, 300_000);
});
