/**
 * Selecting and changing several pictures in the photo library, in a real browser against a
 * real node process (issue 15, web half): multi-select with shift-click and bulk delete / set
 * category, a picture uploaded meanwhile inserted live, and a person who is neither owner nor
 * admin seeing no Edit/Delete, and offered no bulk change of someone else's pictures. The gallery and the viewer:
 * library.test.ts. Screenshots at 390 and 1440 px. Tests run in order and share the node and
 * the browser.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signIn } from '../helpers/browser.js';
import {
  BOB_PASSWORD,
  COUNT,
  DESKTOP,
  listPictures,
  openLibrary,
  shots,
  tiles,
} from '../helpers/library-fixture.js';
import {
  cleanup,
  makeImage,
  type Api,
  type NodeProcess,
  type Picture,
} from '../helpers/node-process.js';

let node: NodeProcess;
let admin: Api;
let browser: Browser;
let desktop: BrowserContext;
let page: Page;
/** Newest first, as the gallery shows them. */
let pictures: Picture[];

beforeAll(async () => {
  ({ node, admin, browser, desktop, page, pictures } = await openLibrary());
});

afterAll(async () => {
  await desktop.close();
  await browser.close();
  await cleanup();
});

const listAll = () => listPictures(admin);

describe('the photo library, several pictures at once', () => {
  test('selects three with a click and a shift-click, and deletes them', async () => {
    await page.evaluate('window.scrollTo(0, 0)');
    const victims = pictures.slice(3, 6);
    const [a, , c] = victims;
    if (!a || !c) throw new Error('pictures expected');
    await page.locator(`[data-id="${a.id}"]`).hover();
    await page.getByRole('button', { name: `Select ${a.title}` }).click();
    await page.getByRole('button', { name: `Select ${c.title}` }).click({ modifiers: ['Shift'] });
    const bar = page.getByRole('toolbar', { name: 'Selected pictures' });
    await bar.getByText('3 selected').waitFor();
    await shots(page, 'library-selection');
    await bar.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('heading', { name: 'Delete 3 pictures?' }).waitFor();
    await dialog
      .getByText(/go to the trash for 30 days, at every node, and can be restored/)
      .waitFor();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await bar.waitFor({ state: 'detached' });
    await expect.poll(() => tiles(page).count()).toBe(COUNT - 2);
    const left = new Set((await listAll()).map((p) => p.id));
    for (const v of victims) expect(left.has(v.id)).toBe(false);
    expect(left.size).toBe(COUNT - 2);
    pictures = await listAll();
  });

  test('sets the category of several at once', async () => {
    const [a, b] = pictures.slice(0, 2);
    if (!a || !b) throw new Error('pictures expected');
    await page.locator(`[data-id="${a.id}"]`).hover();
    await page.getByRole('button', { name: `Select ${a.title}` }).click();
    // While selecting, a click on a tile selects it rather than opening it.
    await page.locator(`[data-id="${b.id}"] .tile`).click();
    const bar = page.getByRole('toolbar', { name: 'Selected pictures' });
    await bar.getByText('2 selected', { exact: true }).waitFor();
    // Esc in a dialog closes the dialog only: the selection stays.
    await bar.getByRole('button', { name: 'Set category' }).click();
    await page.getByRole('dialog').getByLabel('Category').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    await bar.getByText('2 selected', { exact: true }).waitFor();
    await bar.getByRole('button', { name: 'Set category' }).click();
    await page.getByRole('dialog').getByLabel('Category').fill('holiday');
    await page.getByRole('dialog').getByRole('button', { name: 'Set category' }).click();
    await bar.waitFor({ state: 'detached' });
    await page.getByRole('link', { name: 'holiday', exact: true }).click();
    await expect.poll(() => tiles(page).count()).toBe(2);
    await page.getByRole('link', { name: 'All', exact: true }).click();
  });

  test('a picture uploaded meanwhile is inserted without reloading the list', async () => {
    await expect.poll(() => tiles(page).count()).toBe(pictures.length);
    const kept = pictures[4];
    if (!kept) throw new Error('pictures expected');
    // Mark a tile's image element: a reload of the list would replace it.
    await page.evaluate(
      `document.querySelector('[data-id="${kept.id}"] img').dataset.mark = 'kept'`,
    );
    const lists: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/pictures') lists.push(r.url());
    });
    const up = await admin.upload({
      file: await makeImage({ seed: 950, width: 500, height: 250, format: 'jpeg' }),
      fields: { title: 'Arrived live', category: 'even' },
    });
    expect(up.status).toBe(201);
    await tiles(page).getByText('Arrived live').waitFor({ timeout: 20_000 });
    await expect.poll(() => tiles(page).count()).toBe(pictures.length + 1);
    expect(await page.locator(`[data-id="${kept.id}"] img[data-mark="kept"]`).count()).toBe(1);
    expect(lists).toEqual([]);
    // The newest goes first.
    expect(await tiles(page).first().getAttribute('aria-label')).toBe('Arrived live (even)');
    pictures = await listAll();
  });

  test('someone who is neither the owner nor an admin sees no Edit or Delete', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    context.setDefaultTimeout(15_000);
    const p = await context.newPage();
    try {
      await signIn(p, node.url, { username: 'bob', password: BOB_PASSWORD });
      const theirs = pictures.find((x) => x.owner === 'admin');
      const own = pictures.find((x) => x.owner === 'bob');
      if (!theirs || !own) throw new Error('pictures expected');
      await p.goto(`${node.url}/p/${theirs.id}`);
      await p.getByRole('heading', { name: theirs.title, level: 1 }).waitFor();
      await p.getByRole('link', { name: 'Download', exact: true }).first().waitFor();
      expect(await p.getByRole('button', { name: 'Edit' }).count()).toBe(0);
      expect(await p.getByRole('button', { name: 'Delete' }).count()).toBe(0);
      await shots(p, 'library-viewer-not-owner', { fullPage: false });
      await p.goto(`${node.url}/p/${own.id}`);
      await p.getByRole('button', { name: 'Edit' }).waitFor();
      await p.getByRole('button', { name: 'Delete' }).waitFor();

      // Someone else's picture selected alone: nothing offered that the server would refuse
      // (Share, Set category and Delete were offered, and answered 403).
      await p.keyboard.press('Escape');
      await p.getByRole('heading', { name: 'Gallery' }).waitFor();
      await p.locator(`[data-id="${theirs.id}"]`).hover();
      await p.getByRole('button', { name: `Select ${theirs.title}` }).click();
      const bar = p.getByRole('toolbar', { name: 'Selected pictures' });
      await bar.getByText('1 selected', { exact: true }).waitFor();
      await bar.getByRole('button', { name: 'Download' }).waitFor();
      for (const name of ['Share', 'Set category', 'Delete']) {
        expect(await bar.getByRole('button', { name }).count()).toBe(0);
      }

      // With one's own too, a delete takes one's own and says the other stays.
      await p.locator(`[data-id="${own.id}"] .tile`).click();
      await bar.getByText('2 selected', { exact: true }).waitFor();
      expect(await bar.getByRole('button', { name: 'Share' }).count()).toBe(0);
      await bar.getByRole('button', { name: 'Delete' }).click();
      const dialog = p.getByRole('dialog', { name: 'Delete 1 picture?' });
      await dialog.getByText('1 of the 2 selected is someone else’s and stays as it is.').waitFor();
      await dialog.getByRole('button', { name: 'Delete' }).click();
      await bar.getByText('1 selected', { exact: true }).waitFor();
      expect(await bar.getByRole('alert').count()).toBe(0); // nothing refused
      await shots(p, 'library-bulk-others');
      const left = new Set((await listAll()).map((x) => x.id));
      expect(left.has(own.id)).toBe(false);
      expect(left.has(theirs.id)).toBe(true);

      // The Cluster page tells a person who is not an admin the truth about folders.
      await p.keyboard.press('Escape');
      await p.getByRole('link', { name: 'Cluster' }).first().click();
      await p.getByText('No synced folder of this node is shared with you.').waitFor();
    } finally {
      await context.close();
    }
  });
});
