/**
 * Photo facts, the timeline by date taken, HEIC, zip download and resumable uploads in a real
 * browser against a real node (issue 15): real JPEGs written with EXIF in several years (GPS,
 * a portrait orientation) and a real iPhone HEIC appear in date-taken order under their month
 * headers; the viewer shows the facts; two selected pictures download as one zip with the
 * right bytes; an upload whose connection is cut at 50 % resumes and completes.
 * Screenshots at 390 and 1440 px.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser, screenshots, signIn } from '../helpers/browser.js';
import {
  ADMIN_PASSWORD,
  api,
  cleanup,
  login,
  makeImage,
  startNode,
  type Api,
  type NodeProcess,
  type Picture,
} from '../helpers/node-process.js';
import { HEIC, photo, SONY_ILCE_7M3, unzip, uploadTitled } from '../helpers/photos.js';

const DESKTOP = { width: 1440, height: 900 } as const;

let node: NodeProcess;
let admin: Api;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let files: Map<string, Buffer>;

beforeAll(async () => {
  node = await startNode();
  admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
  const shots: [string, Buffer][] = [
    ['Christmas 2015', await photo(1, { taken: '2015:12:25 10:00:00' }, SONY_ILCE_7M3)],
    [
      'Lake 2021',
      await photo(2, { taken: '2021:06:01 17:20:00', gps: [46.45, 6.6] }, SONY_ILCE_7M3),
    ],
    [
      'Portrait 2023',
      await photo(3, { taken: '2023:10:15 08:00:00', orientation: 6 }, SONY_ILCE_7M3),
    ],
    ['Spring 2018', await photo(4, { taken: '2018:03:10 12:00:00' }, SONY_ILCE_7M3)],
    ['From the phone', await readFile(HEIC)],
  ];
  await uploadTitled(admin, shots);
  files = new Map(shots);
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
  context.setDefaultTimeout(15_000);
  page = await context.newPage();
  await signIn(page, node.url);
});

afterAll(async () => {
  await context.close();
  await browser.close();
  await cleanup();
});

describe('the library by date taken', () => {
  test('pictures show in date-taken order under their month headers, HEIC included', async () => {
    await expect.poll(() => page.getByTestId('tile').count()).toBe(5);
    expect(await page.locator('h2.month-head').allTextContents()).toEqual([
      'October 2023',
      'June 2021',
      'May 2021',
      'March 2018',
      'December 2015',
    ]);
    const titles = await Promise.all(
      (await page.getByTestId('tile').all()).map(async (el) => el.getAttribute('aria-label')),
    );
    expect(titles).toEqual([
      'Portrait 2023',
      'Lake 2021',
      'From the phone',
      'Spring 2018',
      'Christmas 2015',
    ]);
    // The HEIC's thumbnail (decoded by the node) is shown.
    const heic = page.getByRole('link', { name: 'From the phone' }).locator('img');
    await expect
      .poll(() => heic.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth))
      .toBeGreaterThan(0);
    await screenshots(page, 'media-timeline');
  });

  test('the viewer shows when and where a picture was taken, and the camera', async () => {
    await page.getByRole('link', { name: 'Lake 2021' }).click();
    const info = page.locator('aside.picture-info');
    await info.getByText('Taken').waitFor();
    const text = await info.innerText();
    expect(text).toMatch(/2021/);
    expect(text).toMatch(/SONY ILCE-7M3/);
    expect(text).toMatch(/46\.45000, 6\.60000/);
    await screenshots(page, 'media-viewer-facts');
    await page.keyboard.press('Escape');
    await page.getByRole('heading', { name: 'Gallery' }).waitFor();
  });

  test('two selected pictures download as one zip of their originals', async () => {
    for (const title of ['Christmas 2015', 'From the phone']) {
      await page.getByRole('button', { name: `Select ${title}` }).click();
    }
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download' }).click();
    const download = await downloading;
    const path = await download.path();
    const entries = await unzip(await readFile(path));
    expect([...entries.keys()].sort()).toEqual(['Christmas 2015.jpg', 'From the phone.heic']);
    expect(
      entries.get('Christmas 2015.jpg')?.equals(files.get('Christmas 2015') ?? Buffer.alloc(0)),
    ).toBe(true);
    expect(
      entries.get('From the phone.heic')?.equals(files.get('From the phone') ?? Buffer.alloc(0)),
    ).toBe(true);
    await page.getByRole('button', { name: 'Clear the selection' }).click();
  });
});

describe('resumable uploads', () => {
  test('an upload cut off at 50 % resumes where the node says and completes', async () => {
    // Two 5 MB chunks: the connection of the second one is cut once.
    const file = await makeImage({ width: 1900, height: 1800, seed: 4242 });
    expect(file.length).toBeGreaterThan(5 * 1024 * 1024 + 1000);
    const offsets: string[] = [];
    let cut = false;
    await page.route('**/api/uploads/tus/**', async (route) => {
      const request = route.request();
      if (request.method() === 'PATCH') offsets.push(request.headers()['upload-offset'] ?? '');
      if (request.method() === 'PATCH' && request.headers()['upload-offset'] !== '0' && !cut) {
        cut = true;
        await route.abort('connectionreset');
        return;
      }
      await route.continue();
    });
    await page.getByRole('link', { name: 'Upload' }).first().click();
    // From a file, which the browser reads itself: a 10 MB buffer goes to it as base64 over the
    // protocol, which took more than the 15 s timeout on a loaded machine (CI120).
    // The browser reads the file as it uploads: it stays until the upload is done.
    const dir = await mkdtemp(join(tmpdir(), 'mosaic-media-'));
    const path = join(dir, 'big-scan.png');
    await writeFile(path, file);
    try {
      await page.getByTestId('file-input').setInputFiles(path);
      await page.getByRole('button', { name: 'Upload 1 picture' }).click();
      await page.getByText('1 uploaded').waitFor({ timeout: 60_000 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const half = String(5 * 1024 * 1024);
    // The second chunk was cut, then sent again from where the node had stopped.
    expect(cut).toBe(true);
    expect(offsets).toEqual(['0', half, half]);
    const list = await admin.get<{ items: Picture[] }>('/api/pictures?limit=50');
    const made = list.body.items.find((p) => p.title === 'big scan');
    expect(made?.size).toBe(file.length);
    const bytes = Buffer.from(
      await (await admin.fetch(`/api/pictures/${made?.id ?? ''}/file`)).arrayBuffer(),
    );
    expect(bytes.equals(file)).toBe(true);
    await screenshots(page, 'media-upload-resumed');
  });
});
