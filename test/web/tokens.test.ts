/**
 * API tokens on the Account page, in Chromium against two real nodes: a token made in the
 * browser at node 1 is shown once and works at node 2 once replicated; the list says what each
 * token is; revoking one (asked first) stops it at node 2 too.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchBrowser, newPage, screenshots, signIn } from '../helpers/browser.js';
import { TestCluster } from '../helpers/cluster.js';
import { api, cleanup, waitFor } from '../helpers/node-process.js';

let cluster: TestCluster;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let url2: string;

beforeAll(async () => {
  cluster = new TestCluster({ syncIntervalMs: 300 });
  const [n1, n2] = await cluster.startAll(2);
  if (!n1 || !n2) throw new Error('two nodes expected');
  url2 = n2.node.url;
  browser = await launchBrowser();
  ({ context, page } = await newPage(browser));
  await signIn(page, n1.node.url);
  await page.goto(`${n1.node.url}/account`);
});

afterAll(async () => {
  await context.close();
  await browser.close();
  await cleanup();
});

/** The status of `GET /api/auth/me` at node 2 with `token` as Bearer. */
async function meAtNode2(token: string): Promise<number> {
  return (await api(url2, { token }).get('/api/auth/me')).status;
}

test('a token made on the Account page is shown once, listed, works at the other node, and is revoked everywhere', async () => {
  const section = page.getByRole('region', { name: 'API tokens' });
  await section.getByText('No tokens.').waitFor();
  const form = section.getByRole('form', { name: 'New token' });
  // A name is required (the browser says so before anything is sent).
  await form.getByRole('button', { name: 'Make a token' }).click();
  expect(await section.getByTestId('token').count()).toBe(0);

  await form.getByLabel('New token’s name').fill('backup script');
  await form.getByLabel('Expires').selectOption({ label: 'In 30 days' });
  await form.getByRole('button', { name: 'Make a token' }).click();
  const secret = form.getByLabel('Token “backup script”');
  await secret.waitFor();
  const token = await secret.inputValue();
  expect(token).toMatch(/^mos_[A-Za-z0-9_-]{43}$/);
  await form.getByText('Copy it now: it is not shown again.', { exact: false }).waitFor();
  const row = section.getByTestId('token').filter({ hasText: 'backup script' });
  await row.getByText(/made .* · not used here · expires /).waitFor();
  await screenshots(page, 'account-tokens');

  await waitFor(async () => (await meAtNode2(token)) === 200, {
    what: 'the token accepted at node 2',
    timeoutMs: 20_000,
    intervalMs: 200,
  });
  // Shown once: a reload lists it without its secret.
  await page.reload();
  await row.waitFor();
  expect(await section.getByLabel('Token “backup script”').count()).toBe(0);

  await row.getByRole('button', { name: 'Revoke backup script' }).click();
  const dialog = page.getByRole('dialog', { name: 'Revoke “backup script”?' });
  await dialog.getByText(/stop working at every node/).waitFor();
  await dialog.getByRole('button', { name: 'Revoke' }).click();
  await row.waitFor({ state: 'detached' });
  await section.getByText('No tokens.').waitFor();
  await waitFor(async () => (await meAtNode2(token)) === 401, {
    what: 'the token refused at node 2',
    timeoutMs: 20_000,
    intervalMs: 200,
  });
});
