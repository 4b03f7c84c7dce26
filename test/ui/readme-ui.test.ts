import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, newPage, POLL, screenshot, text } from '../support/browser.js';
import { outcomeOf, ROOT } from '../support/processes.js';
import { reportPages } from './support.js';

// The README's "Look at it in the browser" commands, run as written on a fresh store: the demo,
// then `pnpm quiver ui`, whose page must show the demo's run, checkpoints and registry entry.
// The only change: QUIVER_UI_PORT=0 lets the server pick a free port (it prints the URL).
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const block = /<!-- ui -->\n```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
const lines = block
  .split('\n')
  .map((line) => line.replace(/\s+#.*$/, '').trim())
  .filter(Boolean);

let dir: string;
let browser: Browser;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quiver-ui-readme-'));
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the README's quiver ui commands", () => {
  it("show the demo's run, its checkpoints with best, and its registry entry", async () => {
    reportPages();
    expect(lines).toEqual(['pnpm demo', 'pnpm quiver ui']);
    const env = {
      ...process.env,
      QUIVER_DIR: join(dir, 'store'),
      QUIVER_BASE_URL: '',
      QUIVER_API_KEY: '',
      QUIVER_MODE: '',
      QUIVER_ENTITY: '',
      QUIVER_UI_PORT: '0',
      DEMO_EPOCHS: '6',
    };
    const demo = await outcomeOf(
      spawn('bash', ['-euo', 'pipefail', '-c', lines[0]!], {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    expect(demo.code, demo.stderr).toBe(0);
    // The demo ends by saying how to look at its run in the UI.
    expect(demo.stdout).toContain('pnpm quiver ui');
    const runId = /run show (\w+)/.exec(demo.stdout)?.[1];
    expect(runId).toBeDefined();

    const ui = spawn('bash', ['-euo', 'pipefail', '-c', `exec ${lines[1]}`], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const ended = outcomeOf(ui);
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        ui.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (match) resolve(match[1]!);
        });
        void ended.then((outcome) =>
          reject(new Error(`quiver ui exited: ${outcome.code} ${outcome.stderr}`)),
        );
      });
      const { page, watch, context } = await newPage(browser);
      // No sign-in: the home page goes to the local user's projects.
      await page.goto(url);
      await page.getByRole('link', { name: 'quiver-demo' }).first().click();
      await page
        .getByRole('link', { name: `model-${runId}` })
        .first()
        .waitFor();
      await expect
        .poll(() => page.locator('.chip.alias', { hasText: /^best$/ }).count(), POLL)
        .toBeGreaterThan(0);
      await screenshot(page, 'local-artifacts');
      // The run, with its charts.
      await page.getByRole('link', { name: 'Runs' }).click();
      await expect.poll(() => page.getByTestId('run-row').count(), POLL).toBe(1);
      await page.getByTestId('run-row').getByRole('link').first().click();
      await page.locator('body[data-ready="run"]').waitFor({ state: 'attached' });
      await page.locator('[data-testid="metric-chart"][data-key="val_loss"]').waitFor({ state: 'visible' });
      // The registry entry the demo linked, with `staging`.
      await page.getByRole('link', { name: 'Registry' }).click();
      const row = page.getByTestId('model-row').filter({ hasText: 'spiral-classifier' });
      await expect.poll(text(row), POLL).toContain('staging');
      await screenshot(page, 'local-registry');
      expect(watch.errors).toEqual([]);
      await context.close();
      // Ctrl+C (SIGTERM here) stops it: the address answers no more.
      process.kill(-ui.pid!, 'SIGTERM');
      await ended;
      await expect(fetch(`${url}api/v1/session`)).rejects.toThrow();
    } finally {
      if (ui.exitCode === null && ui.signalCode === null) process.kill(-ui.pid!, 'SIGTERM');
      await ended;
    }
  }, 300_000);
});
