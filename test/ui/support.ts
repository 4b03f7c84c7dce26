// What the UI suites share: a team server's users with passwords, signing in through the page,
// and a report of the open pages when a test fails.
import type { Page } from 'playwright-core';
import { expect, onTestFailed } from 'vitest';
import type { SyncServer } from '../offline/support.js';
import { describeOpenPages } from '../support/browser.js';

export const PASSWORD = 'correct horse battery staple';

/** Sets a user's password through the admin route (as a server admin), as `quiver server user password` does. */
export async function setPassword(server: SyncServer, user: string): Promise<void> {
  const response = await fetch(`${server.url}/api/v1/admin/users/${user}/password`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${server.server.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ password: PASSWORD }),
  });
  expect(response.status).toBe(204);
}

/** Signs in on the sign-in page with a user name and {@link PASSWORD}, or with an API key. */
export async function signIn(
  page: Page,
  url: string,
  who: { user: string } | { apiKey: string },
  onForm?: () => Promise<unknown>,
): Promise<void> {
  await page.goto(`${url}/signin`);
  await page.getByLabel('Username').waitFor();
  await onForm?.();
  if ('user' in who) {
    await page.getByLabel('Username').fill(who.user);
    await page.getByLabel('Password').fill(PASSWORD);
  } else await page.getByLabel('API key').fill(who.apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'Registry' }).waitFor();
}

/** Call first in a test: if it fails, what each open page showed and still waited for is printed. */
export function reportPages(): void {
  onTestFailed(async () => {
    process.stderr.write(`${await describeOpenPages()}\n`);
  });
}
