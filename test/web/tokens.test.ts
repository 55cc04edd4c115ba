/**
 * API tokens on the Account page, in Chromium against two real nodes: a token made in the
 * browser at node 1 is shown once and works at node 2 once replicated; the list says what each
 * token is; revoking one (asked first) stops it at node 2 too. And copying a link or a token on
 * a page served over plain http by a host name (a home server's usual address), where the
 * browser gives no clipboard API.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchBrowser, newPage, screenshots, signIn } from '../helpers/browser.js';
import { TestCluster } from '../helpers/cluster.js';
import { api, cleanup, makeImage, waitFor, type Picture } from '../helpers/node-process.js';

let cluster: TestCluster;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let url1: string;
let url2: string;
/** Node 1 by a host name, over plain http: not a secure context, so no `navigator.clipboard`. */
const HOST = 'photos.home';

beforeAll(async () => {
  cluster = new TestCluster({ syncIntervalMs: 300 });
  const [n1, n2] = await cluster.startAll(2);
  if (!n1 || !n2) throw new Error('two nodes expected');
  url1 = n1.node.url;
  url2 = n2.node.url;
  browser = await launchBrowser([`--host-resolver-rules=MAP ${HOST} 127.0.0.1`]);
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
  // Said for someone whose laptop was lost, not only for whoever writes scripts.
  await section.getByRole('heading', { name: 'Laptops and programs (API tokens)' }).waitFor();
  await section.getByText('If a laptop is lost or sold, revoke its token here').waitFor();
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
  await row.getByText(/made .* · never used at this node · expires /).waitFor();
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

test('a share link and a token are copied, or selected to copy, on a page over plain http by host name', async () => {
  const byName = url1.replace('127.0.0.1', HOST);
  const admin = await cluster.nodes[0]?.api();
  const up = await admin?.upload<Picture>({
    file: await makeImage({ seed: 41, width: 60, height: 40 }),
    fields: { title: 'Lake at dusk' },
  });
  expect(up?.status).toBe(201);
  const { context: home, page: p } = await newPage(browser);
  const errors: string[] = [];
  p.on('pageerror', (error) => errors.push(error.message));
  try {
    await signIn(p, byName);
    expect(await p.evaluate('window.isSecureContext')).toBe(false);
    await p.goto(`${byName}/p/${up?.body.id ?? ''}`);
    await p.getByRole('button', { name: 'Share' }).click();
    const dialog = p.getByRole('dialog', { name: 'Share this picture' });
    await dialog.getByRole('button', { name: 'Make link' }).click();
    const link = await dialog.getByLabel('Link').inputValue();
    expect(link).toMatch(new RegExp(`^http://${HOST}:\\d+/s/[0-9a-f]{32}$`));
    await dialog.getByRole('button', { name: 'Copy' }).click();
    // Copied by the browser's own command, or selected with a word on how to copy it.
    await expect
      .poll(
        async () =>
          (await dialog.getByRole('button', { name: 'Copied' }).count()) +
          (await dialog
            .getByRole('status')
            .getByText(/Selected: copy it/)
            .count()),
      )
      .toBe(1);
    expect(
      await dialog.getByLabel('Link').evaluate((input) => {
        const { value, selectionStart, selectionEnd } = input as unknown as {
          value: string;
          selectionStart: number | null;
          selectionEnd: number | null;
        };
        return value.slice(selectionStart ?? 0, selectionEnd ?? 0);
      }),
    ).toBe(link);
    expect(errors).toEqual([]);
  } finally {
    await home.close();
  }
});
