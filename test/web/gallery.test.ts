/**
 * The web app end to end, in a real browser against two real node processes: sign in, upload
 * with progress (and the errors for non-images, oversize files and duplicates), the gallery
 * with its category filter and search, an edit seen live at the other node, delete, paging,
 * sign-out, and how the node serves the app (cache headers, SPA fallback). The cluster page:
 * cluster-page.test.ts. Tests run in order and share the nodes and the browser.
 */
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser, newPage, screenshots, signIn } from '../helpers/browser.js';
import { TestCluster, allPictures } from '../helpers/cluster.js';
import { cleanup, makeImage, waitFor } from '../helpers/node-process.js';

const MAX_UPLOAD = 1_000_000;

let cluster: TestCluster;
let browser: Browser;
let context1: BrowserContext;
let context2: BrowserContext;
/** A person at node 1, and another at node 2. */
let page1: Page;
let page2: Page;
let url1: string;
let url2: string;

beforeAll(async () => {
  cluster = new TestCluster({ extraArgs: ['--max-upload-bytes', String(MAX_UPLOAD)] });
  const [n1, n2] = await cluster.startAll(2);
  if (!n1 || !n2) throw new Error('two nodes expected');
  url1 = n1.node.url;
  url2 = n2.node.url;
  browser = await launchBrowser();
  ({ context: context1, page: page1 } = await newPage(browser));
  ({ context: context2, page: page2 } = await newPage(browser));
});

afterAll(async () => {
  await context1.close();
  await context2.close();
  await browser.close();
  await cleanup();
});

const tiles = (page: Page) => page.getByTestId('tile');
const tab = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });

describe('the web app', () => {
  test('is served at / with long-cached assets and a fallback to the app for pages', async () => {
    const index = await fetch(`${url1}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${url1}${asset ?? ''}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');

    // Client routes get the app; API paths and missing files keep their 404s.
    const deep = await fetch(`${url1}/p/some-picture`);
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(html);
    expect((await fetch(`${url1}/assets/missing.js`)).status).toBe(404);
    // An API path that matched no route: the same JSON 404 for everyone (nothing leaks).
    const api = await fetch(`${url1}/api/nothing-here`);
    expect(api.status).toBe(404);
    const peer = await fetch(`${url1}/peer/nothing-here`);
    expect(peer.headers.get('content-type')).toContain('json');
  });

  test('signs in', async () => {
    await page1.goto(url1);
    await page1.getByLabel('Username').waitFor();
    await screenshots(page1, 'sign-in');
    await page1.getByLabel('Username').fill('admin');
    await page1.getByLabel('Password').fill('wrong password');
    await page1.getByRole('button', { name: 'Sign in' }).click();
    await page1.getByRole('alert').waitFor();

    await signIn(page1, url1);
    await page1.getByRole('heading', { name: 'No pictures yet' }).waitFor();
    await screenshots(page1, 'gallery-empty');
  });

  test('uploads three pictures with progress, and says what went wrong with the others', async () => {
    await tab(page1, 'Upload').click();
    await page1.getByRole('heading', { name: 'Upload' }).waitFor();
    const big = await makeImage({ width: 700, height: 700, seed: 9 }); // > MAX_UPLOAD
    expect(big.length).toBeGreaterThan(MAX_UPLOAD);
    await page1.getByTestId('file-input').setInputFiles([
      {
        name: 'sunset_on-the-beach.png',
        mimeType: 'image/png',
        buffer: await makeImage({ seed: 1, width: 400, height: 300 }),
      },
      {
        name: 'Beach umbrellas.jpg',
        mimeType: 'image/jpeg',
        buffer: await makeImage({ seed: 2, width: 300, height: 400, format: 'jpeg' }),
      },
      {
        name: 'night-city.webp',
        mimeType: 'image/webp',
        buffer: await makeImage({ seed: 3, width: 480, height: 320, format: 'webp' }),
      },
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture at all') },
      { name: 'fake.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('text named like a JPEG') },
      { name: 'huge.png', mimeType: 'image/png', buffer: big },
    ]);
    const rows = page1.getByTestId('upload-row');
    await expect.poll(() => rows.count()).toBe(6);
    // A file the browser cannot show has the upload icon, not a broken image.
    await expect.poll(() => rows.filter({ hasText: 'fake.jpg' }).locator('img').count()).toBe(0);
    // Titles come from the file names.
    await expect
      .poll(() => page1.getByLabel('Title of sunset_on-the-beach.png').inputValue())
      .toBe('sunset on the beach');
    // A category for all, then a different one for the city picture.
    await page1.getByLabel('Category', { exact: true }).fill('beach');
    await page1.getByLabel('Category of night-city.webp').fill('city');
    await page1.getByLabel('Description of night-city.webp').fill('Lights over the river');
    await page1.getByRole('button', { name: 'Upload 6 pictures' }).click();

    const row = (file: string) => rows.filter({ hasText: file });
    for (const file of ['sunset_on-the-beach.png', 'Beach umbrellas.jpg', 'night-city.webp']) {
      await row(file).getByText('Uploaded', { exact: true }).waitFor();
      expect(await row(file).getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    }
    for (const file of ['notes.txt', 'fake.jpg']) {
      await row(file)
        .getByText(/not an image Mosaic can read/)
        .waitFor();
    }
    await row('huge.png')
      .getByText(/Too large: this node accepts files up to 977 KB/)
      .waitFor();
    await screenshots(page1, 'upload');

    // The same bytes again: reported as already there (the server answers 200).
    await page1.getByRole('button', { name: 'Clear finished' }).click();
    await page1.getByTestId('file-input').setInputFiles([
      {
        name: 'again.png',
        mimeType: 'image/png',
        buffer: await makeImage({ seed: 1, width: 400, height: 300 }),
      },
    ]);
    // The files the server refused (not images, too large) are not sent again with it.
    await page1.getByRole('button', { name: 'Upload 1 picture' }).click();
    // Under the title the library has: the one made from this file's name is not used.
    await row('again.png').getByText('Already in the library as “sunset on the beach”').waitFor();
    await screenshots(page1, 'upload-errors');
  });

  test('the gallery shows them, filters by category and searches', async () => {
    await tab(page1, 'Gallery').click();
    await expect.poll(() => tiles(page1).count()).toBe(3);
    await page1.getByRole('img', { name: 'night city' }).waitFor();
    await screenshots(page1, 'gallery');
    await page1.emulateMedia({ colorScheme: 'dark' });
    await screenshots(page1, 'gallery-dark');
    await page1.emulateMedia({ colorScheme: 'light' });

    await page1.getByRole('link', { name: 'city', exact: true }).click();
    await expect.poll(() => tiles(page1).count()).toBe(1);
    await tiles(page1).getByText('night city').waitFor();
    await page1.getByRole('link', { name: 'beach', exact: true }).click();
    await expect.poll(() => tiles(page1).count()).toBe(2);
    await page1.getByRole('link', { name: 'All', exact: true }).click();
    await expect.poll(() => tiles(page1).count()).toBe(3);

    await page1.getByRole('searchbox').fill('river');
    await expect.poll(() => tiles(page1).count()).toBe(1);
    await tiles(page1).getByText('night city').waitFor();
    await page1.getByRole('searchbox').fill('no such words');
    await page1.getByRole('heading', { name: 'Nothing matches' }).waitFor();
    await screenshots(page1, 'gallery-no-match');
    await page1.getByRole('link', { name: 'Show everything' }).click();
    await expect.poll(() => tiles(page1).count()).toBe(3);
  });

  test('an edit at one node shows in the other node’s gallery without a reload', async () => {
    const [n2] = [cluster.nodes[1]];
    if (!n2) throw new Error('no node 2');
    // Both pictures' bytes have reached node 2 before its gallery is opened.
    await waitFor(async () => (await allPictures(await n2.api())).length === 3, {
      timeoutMs: 20_000,
      what: 'the pictures at node 2',
    });
    await signIn(page2, url2);
    await expect.poll(() => tiles(page2).count()).toBe(3);
    await page2.locator('.live-live').waitFor();

    await tiles(page1).filter({ hasText: 'sunset on the beach' }).click();
    await page1.getByRole('heading', { name: 'sunset on the beach' }).waitFor();
    await page1.getByTestId('origin').getByText('n1').waitFor();
    // The facts in a family's words: where it was uploaded, its format by name; the media type
    // and the id (they read "From node", "Type image/png", "Id …") only under a closed details.
    await page1.getByRole('term').getByText('Uploaded at', { exact: true }).waitFor();
    expect(await page1.getByRole('term').getByText('From node').count()).toBe(0);
    const technical = page1.locator('.facts-more');
    expect(await technical.getAttribute('open')).toBeNull();
    await technical.getByText('Technical details').click();
    await expect.poll(() => technical.getAttribute('open')).toBe('');
    await technical.getByText(/Type image\//).waitFor();
    await screenshots(page1, 'picture');
    await page1.getByRole('button', { name: 'Edit' }).click();
    await page1.getByLabel('Title').fill('Golden hour at the beach');
    await screenshots(page1, 'picture-edit');
    await page1.getByRole('button', { name: 'Save' }).click();
    await page1.getByRole('heading', { name: 'Golden hour at the beach' }).waitFor();

    await tiles(page2).getByText('Golden hour at the beach').waitFor({ timeout: 20_000 });
    await screenshots(page2, 'gallery-node2-live');
  });

  test('deletes a picture after a confirmation, at both nodes', async () => {
    // Node 2's open gallery learns of the delete from the live feed: one lookup, no 404 (it
    // used to ask for the picture itself and log the 404 in the console).
    const failed: string[] = [];
    let lookups = 0;
    const watch = (res: Response) => {
      if (res.status() >= 400) failed.push(`${res.status()} ${res.url()}`);
      if (res.url().endsWith('/api/pictures/lookup')) lookups++;
    };
    page2.on('response', watch);
    await page1.getByRole('button', { name: 'Delete' }).click();
    const dialog = page1.getByRole('dialog');
    // It says where the picture goes: the trash, for the node's retention, restorable there.
    await dialog
      .getByText(/goes to the trash for 30 days, at every node, and can be restored/)
      .waitFor();
    expect(await dialog.getByText('disappears from every node').count()).toBe(0);
    await screenshots(page1, 'picture-delete');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    // The viewer moves on to a neighbour, as photo apps do; Escape goes back to the gallery.
    await page1.getByRole('heading', { name: 'Golden hour at the beach' }).waitFor({
      state: 'detached',
    });
    await page1.getByRole('button', { name: 'Edit' }).waitFor();
    await page1.keyboard.press('Escape');
    await page1.getByRole('heading', { name: 'Gallery' }).waitFor();
    await expect.poll(() => tiles(page1).count()).toBe(2);
    await expect.poll(() => tiles(page2).count(), { timeout: 20_000 }).toBe(2);
    page2.off('response', watch);
    expect(failed).toEqual([]);
    expect(lookups).toBeGreaterThan(0);

    // Keyboard: a tile opens with Enter, Escape goes back.
    await tiles(page1).first().focus();
    await page1.keyboard.press('Enter');
    await page1.getByRole('button', { name: 'Edit' }).waitFor();
    await page1.keyboard.press('Escape');
    await page1.getByRole('heading', { name: 'Gallery' }).waitFor();
  });

  test('a picture uploaded at the other node appears without a reload', async () => {
    const n2 = cluster.nodes[1];
    if (!n2) throw new Error('no node 2');
    const up = await (
      await n2.api()
    ).upload({
      file: await makeImage({ seed: 12, width: 320, height: 320 }),
      filename: 'harbour.png',
      fields: { title: 'Harbour from node two', category: 'city' },
    });
    expect(up.status).toBe(201);
    await tiles(page1).getByText('Harbour from node two').waitFor({ timeout: 20_000 });
    await expect.poll(() => tiles(page1).count()).toBe(3);
  });

  test('a picture that arrives while the live feed is connecting is shown once it connects', async () => {
    const [n1, n2] = cluster.nodes;
    if (!n1 || !n2) throw new Error('two nodes expected');
    // The page's live feed is held back while it loads, as on a slow or waking phone.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page1.route('**/api/stream', async (route) => {
      await held;
      await route.continue();
    });
    await page1.reload();
    // Its first page is the one the feed's connecting asks for, or, as that does not come,
    // asked 3 s on (useFirstLoad).
    await expect.poll(() => tiles(page1).count(), { timeout: 10_000 }).toBe(3);
    const up = await (
      await n2.api()
    ).upload({
      file: await makeImage({ seed: 13, width: 320, height: 240 }),
      filename: 'lighthouse.png',
      fields: { title: 'Lighthouse from node two', category: 'city' },
    });
    expect(up.status).toBe(201);
    const at1 = await n1.api();
    await waitFor(async () => (await allPictures(at1)).length === 4, {
      timeoutMs: 20_000,
      what: 'the lighthouse at node 1',
    });
    expect(await tiles(page1).count()).toBe(3); // the page has heard nothing yet
    release();
    await tiles(page1).getByText('Lighthouse from node two').waitFor({ timeout: 20_000 });
    await page1.unroute('**/api/stream');
  });

  test('pages through a long gallery as it scrolls', async () => {
    const n1 = cluster.nodes[0];
    if (!n1) throw new Error('no node 1');
    const admin = await n1.api();
    for (let i = 0; i < 50; i++) {
      const up = await admin.upload({
        file: await makeImage({ seed: 100 + i, width: 16, height: 16 }),
        fields: { title: `Tiny ${i}`, category: 'tiny' },
      });
      expect(up.status).toBe(201);
    }
    await page1.reload();
    // The first page is 48 pictures; the rest come when the end of the grid is near.
    await expect.poll(() => tiles(page1).count()).toBe(48);
    await tiles(page1).last().scrollIntoViewIfNeeded();
    await expect.poll(() => tiles(page1).count()).toBe(54);
    await page1.getByRole('button', { name: 'Load more' }).waitFor({ state: 'detached' });
  });

  test('pages on when the end of the grid came near while the first page was being refreshed', async () => {
    // The live feed connects after the first page is shown and the page asks for it again;
    // someone who scrolls to the end meanwhile must still get the next page when that answers
    // (CI failed here: the observer had fired during the refresh and never fired again).
    let releaseStream = () => {};
    const streamHeld = new Promise<void>((resolve) => {
      releaseStream = resolve;
    });
    await page1.route('**/api/stream', async (route) => {
      await streamHeld;
      await route.continue();
    });
    await page1.evaluate('window.scrollTo(0, 0)');
    await page1.reload();
    await expect.poll(() => tiles(page1).count(), { timeout: 10_000 }).toBe(48); // 3 s on
    let releaseRefresh = () => {};
    const refreshHeld = new Promise<void>((resolve) => {
      releaseRefresh = resolve;
    });
    let refreshes = 0;
    await page1.route(
      (url) => url.pathname === '/api/pictures' && !url.searchParams.has('cursor'),
      async (route) => {
        refreshes++;
        await refreshHeld;
        await route.continue();
      },
    );
    releaseStream();
    await expect.poll(() => refreshes).toBe(1); // the refresh on connecting is under way
    await tiles(page1).last().scrollIntoViewIfNeeded();
    // Two frames: the observer has been told the end is near (it is, meanwhile, loading).
    await page1.evaluate(
      'new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))',
    );
    releaseRefresh();
    await expect.poll(() => tiles(page1).count()).toBe(54);
    await page1.unrouteAll();
  });

  test('signs out', async () => {
    await page1.getByRole('button', { name: 'Sign out' }).click();
    await page1.getByLabel('Username').waitFor();
    await page1.goto(`${url1}/upload`);
    await page1.getByLabel('Username').waitFor();
  });
});
