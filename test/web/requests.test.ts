/**
 * What the web app asks the node for that nobody asked it to, in a real browser against a
 * real node: one live feed (`/api/stream`) for a signed-in session however often the pages
 * change (each page opened its own, aborting the last), closed at sign-out; one fetch of a
 * deleted picture whose link is opened (there were two 404s); one fetch of what the gallery or
 * an album shows when opened by its link, while the feed connects (each asked twice), and the
 * page shown all the same when the feed does not connect (after 3 s) or fails (at once); and no
 * error in the console of a signed-out visitor to the sign-in page or a share link (`GET
 * /api/auth/me` answered 401).
 * Tests run in order and share the node and the browser.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
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

/** The requests to the paths named, counted by path (query strings aside), each with its time. */
function counted(page: Page, paths: readonly string[]) {
  const asked = new Map<string, number[]>(paths.map((path) => [path, []]));
  let connected = false;
  page.on('request', (req) => {
    if (req.method() === 'GET') asked.get(new URL(req.url()).pathname)?.push(Date.now());
  });
  page.on('response', (res) => {
    if (isStream(res.url()) && res.status() === 200) connected = true;
  });
  return {
    /** The live feed has answered (it is open). */
    connected: () => connected,
    count: (path: string) => asked.get(path)?.length ?? 0,
    /** When `path` was first asked for, after the live feed was. */
    after: (path: string) => (asked.get(path)?.[0] ?? NaN) - (asked.get('/api/stream')?.[0] ?? NaN),
  };
}

/**
 * A page of its own, signed in, its gallery done loading: what that asks for (as its feed
 * connects) is not counted with what the next page asks for.
 */
async function signedIn(): Promise<{ context: BrowserContext; page: Page }> {
  const opened = await newPage(browser);
  await signIn(opened.page, url);
  await opened.page.locator('.live-live').waitFor();
  await tiles(opened.page).first().waitFor();
  return opened;
}

/** The app's own wait for a connecting feed (CONNECT_GRACE_MS in web/src/first-load.ts). */
const GRACE_MS = 3_000;

describe('a page opened by its link', () => {
  // Opened fresh, the app's live feed is still connecting; its connecting asks again for what
  // changed meanwhile, and the page's own first fetch waits for that rather than asking twice.
  test('the gallery asks once for its list, months and categories, then follows live', async () => {
    const { context, page } = await signedIn();
    const asked = counted(page, [
      '/api/stream',
      '/api/pictures',
      '/api/timeline',
      '/api/categories',
    ]);
    await page.goto(url);
    await tiles(page).getByText('Harbour').waitFor();
    await page.locator('.live-live').waitFor();
    // Whatever the feed's connecting asks for is asked as it opens, before it shows as live;
    // a moment more for the browser to report it.
    await page.waitForTimeout(500);
    expect(['/api/pictures', '/api/timeline', '/api/categories'].map(asked.count)).toEqual([
      1, 1, 1,
    ]);
    // A change made once the feed is live still shows.
    const up = await admin.upload<Picture>({
      file: await makeImage({ seed: 4, width: 320, height: 240 }),
      fields: { title: 'Arrived after the first load' },
    });
    expect(up.status).toBe(201);
    await tiles(page).getByText('Arrived after the first load').waitFor();
    expect(asked.count('/api/pictures')).toBe(1);
    await context.close();
  });

  test('an album asks once for itself and its pictures, then follows live', async () => {
    const made = await admin.post<{ id: string }>('/api/albums', { name: 'Coast' });
    expect(made.status).toBe(201);
    const albumId = made.body.id;
    const add = (title: string) =>
      admin.post(`/api/albums/${albumId}/pictures`, { add: [ids.get(title)] });
    expect((await add('Harbour')).status).toBe(200);
    const { context, page } = await signedIn();
    const album = `/api/albums/${albumId}`;
    const asked = counted(page, ['/api/stream', album, `${album}/pictures`]);
    await page.goto(`${url}/a/${albumId}`);
    await page.getByRole('heading', { name: 'Coast' }).waitFor();
    await tiles(page).getByText('Harbour').waitFor();
    await expect.poll(asked.connected).toBe(true);
    await page.waitForTimeout(500);
    expect([album, `${album}/pictures`].map(asked.count)).toEqual([1, 1]);
    // Changed at the node once the feed is live: shown.
    expect((await add('Lighthouse')).status).toBe(200);
    await tiles(page).getByText('Lighthouse').waitFor();
    await context.close();
  });
});

describe('a live feed that does not connect', () => {
  test('the viewer shows its picture after the grace, once; at once if the feed fails', async () => {
    const id = ids.get('Harbour') ?? '';
    const picture = `/api/pictures/${id}`;
    for (const stream of ['held', 'refused'] as const) {
      const { context, page } = await signedIn();
      // Held: never answered (the feed stays connecting). Refused: it fails at once.
      await page.route('**/api/stream', (route) =>
        stream === 'refused' ? route.abort() : new Promise<void>(() => undefined),
      );
      const asked = counted(page, ['/api/stream', picture]);
      await page.goto(`${url}/p/${id}`);
      await page.locator('.picture-title').getByText('Harbour', { exact: true }).waitFor();
      if (stream === 'held') expect(asked.after(picture)).toBeGreaterThanOrEqual(GRACE_MS - 100);
      else expect(asked.after(picture)).toBeLessThan(GRACE_MS - 1_000);
      expect(asked.count(picture)).toBe(1);
      await context.close();
    }
  });

  test('the gallery shows its list after the grace, and follows once the feed connects', async () => {
    const { context, page } = await signedIn();
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route('**/api/stream', async (route) => {
      await released;
      await route.continue();
    });
    const asked = counted(page, ['/api/stream', '/api/pictures', '/api/timeline']);
    await page.goto(url);
    await tiles(page).getByText('Harbour').waitFor();
    await page.locator('.live-connecting').waitFor();
    expect(asked.after('/api/pictures')).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(asked.after('/api/timeline')).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(asked.count('/api/pictures')).toBe(1);
    // Let through: connected, it asks again (what changed meanwhile), then hears changes.
    release();
    await page.locator('.live-live').waitFor();
    await expect.poll(() => asked.count('/api/pictures')).toBe(2);
    const up = await admin.upload<Picture>({
      file: await makeImage({ seed: 5, width: 320, height: 240 }),
      fields: { title: 'Arrived once connected' },
    });
    expect(up.status).toBe(201);
    await tiles(page).getByText('Arrived once connected').waitFor();
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
