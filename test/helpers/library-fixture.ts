/**
 * The photo library's browser tests' set-up (test/web/library*.test.ts): one real node with
 * COUNT pictures of mixed shapes by the admin and one by bob, and a browser signed in as the
 * admin at desktop size. Each test file starts its own.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { launchBrowser, screenshots, signIn, type ShotOptions } from './browser.js';
import {
  ADMIN_PASSWORD,
  addUser,
  api,
  login,
  makeImage,
  startNode,
  type Api,
  type NodeProcess,
  type Picture,
  type PictureList,
} from './node-process.js';

export const PHONE = { width: 390, height: 844 } as const;
export const DESKTOP = { width: 1440, height: 900 } as const;
export const BOB_PASSWORD = 'bob-password-for-tests';

/** Width × height of the pictures, cycled: landscape, portrait, panorama, square… */
const SHAPES = [
  [400, 300],
  [300, 400],
  [480, 320],
  [320, 480],
  [500, 250],
  [300, 300],
  [420, 280],
  [280, 420],
  [360, 240],
  [450, 300],
  [320, 240],
  [240, 320],
] as const;
export const COUNT = 36;

export interface Library {
  node: NodeProcess;
  admin: Api;
  browser: Browser;
  desktop: BrowserContext;
  page: Page;
  /** Newest first, as the gallery shows them. */
  pictures: Picture[];
}

export async function openLibrary(): Promise<Library> {
  const node = await startNode();
  const admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
  for (let i = 0; i < COUNT; i++) {
    const [width, height] = SHAPES[i % SHAPES.length] ?? [1, 1];
    const up = await admin.upload({
      file: await makeImage({ seed: 500 + i, width, height, format: 'jpeg' }),
      filename: `p${i}.jpg`,
      fields: { title: `Picture ${i}`, category: i % 2 ? 'odd' : 'even' },
    });
    expect(up.status).toBe(201);
  }
  await addUser(node.dataDir, 'bob', BOB_PASSWORD);
  const bob = api(node.url, await login(node.url, 'bob', BOB_PASSWORD));
  const own = await bob.upload({
    file: await makeImage({ seed: 900, width: 300, height: 200, format: 'jpeg' }),
    fields: { title: 'Bob’s cat' },
  });
  expect(own.status).toBe(201);
  const pictures = await listPictures(admin);
  const browser = await launchBrowser();
  const desktop = await browser.newContext({ viewport: DESKTOP });
  desktop.setDefaultTimeout(15_000);
  const page = await desktop.newPage();
  await signIn(page, node.url, { username: 'admin', password: ADMIN_PASSWORD });
  return { node, admin, browser, desktop, page, pictures };
}

/** Every picture (up to 200), newest first. */
export async function listPictures(admin: Api): Promise<Picture[]> {
  const res = await admin.get<PictureList>('/api/pictures?limit=200');
  return res.body.items;
}

export const tiles = (p: Page) => p.getByTestId('tile');

/** `<name>-390.png` and `<name>-1440.png`. */
export const shots = (p: Page, name: string, options: ShotOptions = {}) =>
  screenshots(p, name, { phone: PHONE, ...options });
