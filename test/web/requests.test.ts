/**
 * What the web app asks the node for that nobody asked it to, in a real browser against a
 * real node: one live feed (`/api/stream`) for a signed-in session however often the pages
 * change (each page opened its own, aborting the last), closed at sign-out; one fetch of a
 * deleted picture whose link is opened (there were two 404s); and no error in the console of
 * a signed-out visitor to the sign-in page or a share link (`GET /api/auth/me` answered 401).
 * Tests run in order and share the node and the browser.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser, newPage, signIn } from '../helpers/browser.js';
import { TestCluster } from '../helpers/cluster.js';
import { cleanup, makeImage, type Api, type Picture } from '../helpers/node-process.js';
import { uploadTitled } from '../helpers/photos.js';

let cluster: TestCluster;
let admin: Api;
let browser: Browser;
let url: string;
let ids: Map<string, string>;

beforeAll(async () => {
  cluster = new TestCluster();
  const [n1] = await cluster.startAll(1);
  if (!n1) throw new Error('one node expected');
  url = n1.node.url;
  admin = await n1.api();
  ids = await uploadTitled(admin, [
    ['Harbour', await makeImage({ seed: 1, width: 320, height: 240 })],
    ['Lighthouse', await makeImage({ seed: 2, width: 320, height: 240 })],
  ]);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser.close();
  await cleanup();
});

const tiles = (p: Page) => p.getByTestId('tile');
const isStream = (u: string) => new URL(u).pathname === '/api/stream';

describe('the live feed', () => {
  test('is opened once for a session, kept across pages, and closed at sign-out', async () => {
    const { context, page } = await newPage(browser);
    let opened = 0;
    let aborted = 0;
    page.on('request', (req) => {
      if (isStream(req.url())) opened++;
    });
    page.on('requestfailed', (req) => {
      if (isStream(req.url())) aborted++;
    });
    await signIn(page, url);
    await page.locator('.live-live').waitFor();

    // Gallery → viewer → back, then every tab, and back to the gallery.
    await tiles(page).getByText('Harbour').click();
    await page.locator('.picture-title').getByText('Harbour', { exact: true }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('heading', { name: 'Gallery' }).waitFor();
    for (const [tab, heading] of [
      ['Albums', 'Albums'],
      ['Upload', 'Upload'],
      ['Events', 'Events'],
      ['Cluster', 'Cluster'],
      ['Gallery', 'Gallery'],
    ] as const) {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: tab }).click();
      await page.getByRole('heading', { name: heading, exact: true }).first().waitFor();
    }
    await page.locator('.live-live').waitFor();
    // The gallery, subscribed again, still hears what changes.
    const up = await admin.upload<Picture>({
      file: await makeImage({ seed: 3, width: 320, height: 240 }),
      fields: { title: 'Arrived while browsing' },
    });
    expect(up.status).toBe(201);
    await tiles(page).getByText('Arrived while browsing').waitFor();
    expect({ opened, aborted }).toEqual({ opened: 1, aborted: 0 });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username').waitFor();
    await expect.poll(() => aborted).toBe(1);
    expect(opened).toBe(1);
    await context.close();
  });
});

describe('a deleted picture', () => {
  test('its link fetches it once (one 404), and again only when the feed says it is back', async () => {
    const id = ids.get('Lighthouse');
    if (!id) throw new Error('no picture');
    expect((await admin.delete(`/api/pictures/${id}`)).status).toBe(204);
    const { context, page } = await newPage(browser);
    await signIn(page, url);
    const answers: number[] = [];
    page.on('response', (res) => {
      if (new URL(res.url()).pathname === `/api/pictures/${id}`) answers.push(res.status());
    });
    await page.goto(`${url}/p/${id}`);
    await page.getByRole('heading', { name: 'Picture not available' }).waitFor();
    // Restored: the live feed names it and the viewer shows it. Whatever the page asked for
    // before had been asked by then.
    expect((await admin.post(`/api/trash/${id}/restore`)).status).toBe(204);
    await page.locator('.picture-title').getByText('Lighthouse', { exact: true }).waitFor();
    expect(answers).toEqual([404, 200]);
    await context.close();
  });
});

describe('a signed-out visitor', () => {
  test('sees no error in the console on the sign-in page or a share link', async () => {
    const harbour = ids.get('Harbour');
    const share = await admin.post<{ path: string }>('/api/shares', {
      target: 'picture',
      targetId: harbour,
    });
    expect(share.status).toBe(201);
    const { context, page } = await newPage(browser);
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('response', (res) => {
      if (res.status() >= 400) errors.push(`${res.status()} ${res.url()}`);
    });

    await page.goto(url);
    await page.getByLabel('Username').waitFor();
    await page.goto(`${url}${share.body.path}`);
    await page.getByRole('heading', { name: 'Harbour' }).waitFor();
    await page.goto(`${url}/upload`);
    await page.getByLabel('Username').waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });
});
