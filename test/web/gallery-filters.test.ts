/**
 * The gallery's filters in a real browser against a real node, with more pictures than a page
 * (73, pages of 48, taken in many months): the category chips offer every category of the
 * library from the first page (they offered only those of the pictures loaded), also opened on
 * `/?category=…`, and a new category at once through the live feed; the month list is that of
 * what the search lists (it was the whole library's); a search of symbols alone finds nothing
 * (it showed the whole library). Tests run in order and share the node and the browser.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser, signIn } from '../helpers/browser.js';
import {
  ADMIN_PASSWORD,
  api,
  cleanup,
  login,
  startNode,
  type Api,
  type NodeProcess,
} from '../helpers/node-process.js';
import { photo, uploadTitled } from '../helpers/photos.js';

const DESKTOP = { width: 1440, height: 900 } as const;
const COUNT = 73;

let node: NodeProcess;
let admin: Api;
let browser: Browser;
let context: BrowserContext;
let page: Page;

/** `YYYY:MM:DD hh:mm:ss` of picture `i`: one a month from 2020 on, the oldest in 2015. */
function takenOf(i: number): string {
  if (i === 0) return '2015:01:10 12:00:00';
  const month = i - 1;
  const year = 2020 + Math.floor(month / 12);
  return `${year}:${String((month % 12) + 1).padStart(2, '0')}:15 12:00:00`;
}

beforeAll(async () => {
  node = await startNode();
  admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
  // The oldest picture (the last one the gallery pages to) alone is in "holidays".
  await uploadTitled(admin, [['Lighthouse at dusk', await photo(1, { taken: takenOf(0) })]], {
    category: 'holidays',
  });
  const street: [string, Buffer][] = [];
  for (let i = 1; i < COUNT; i++)
    street.push([`Street ${i}`, await photo(1 + i, { taken: takenOf(i) })]);
  await uploadTitled(admin, street, { category: 'city' });
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: DESKTOP });
  context.setDefaultTimeout(15_000);
  page = await context.newPage();
  await signIn(page, node.url);
});

afterAll(async () => {
  await context.close();
  await browser.close();
  await cleanup();
});

/**
 * How many pictures the gallery lists (the timeline's count: its days far from the screen have
 * no tiles in the page, so tiles are not counted); 0 with no timeline.
 */
const listed = (p: Page) =>
  p
    .locator('[data-testid="timeline"]')
    .evaluateAll((els: { getAttribute(name: string): string | null }[]) =>
      els.reduce((n, el) => n + Number(el.getAttribute('data-pictures')), 0),
    );
const chips = (p: Page) =>
  p.getByRole('navigation', { name: 'Categories' }).getByRole('link').allTextContents();
const monthOptions = (p: Page) => p.locator('.jump-select option').allTextContents();
const scrubberMonths = (p: Page) =>
  p.getByRole('navigation', { name: 'Jump to a month' }).getByRole('button');

describe('the gallery’s filters', () => {
  test('the chips offer every category of the library, whatever is loaded', async () => {
    await expect.poll(() => listed(page)).toBe(48);
    await expect.poll(() => chips(page)).toEqual(['All', 'city', 'holidays']);
    // Opened on a category: the others are offered too.
    await page.goto(`${node.url}/?category=holidays`);
    await expect.poll(() => listed(page)).toBe(1);
    await expect.poll(() => chips(page)).toEqual(['All', 'city', 'holidays']);
    await page.getByRole('link', { name: 'city', exact: true }).click();
    await expect.poll(() => listed(page)).toBe(48);
    // A category that appears elsewhere is offered at once (the live feed), without a reload.
    await uploadTitled(admin, [['Dune', await photo(500, { taken: '2010:05:05 10:00:00' })]], {
      category: 'desert',
    });
    await expect.poll(() => chips(page)).toEqual(['All', 'city', 'desert', 'holidays']);
    await page.getByRole('link', { name: 'All', exact: true }).click();
    await expect.poll(() => listed(page)).toBe(48);
  });

  test('the month list is that of what the search lists', async () => {
    // Every month of the library, with the one just added (the live feed) and 2015's.
    await expect.poll(async () => (await monthOptions(page)).length).toBe(COUNT + 1);
    await page.getByRole('searchbox').fill('lighthouse');
    await expect.poll(() => listed(page)).toBe(1);
    await expect.poll(() => monthOptions(page)).toEqual(['Jan 2015 · 1']);
    await expect.poll(() => scrubberMonths(page).count()).toBe(1);
    await scrubberMonths(page).first().click();
    await expect.poll(() => page.locator('.scrubber-month.current').count()).toBe(1);
    // A picture that matches the search arrives: its month is added.
    await uploadTitled(admin, [
      ['Lighthouse by day', await photo(501, { taken: '2016:08:08 10:00:00' })],
    ]);
    await expect.poll(() => listed(page)).toBe(2);
    await expect.poll(() => monthOptions(page)).toEqual(['Aug 2016 · 1', 'Jan 2015 · 1']);
    // And within a category, only that category's.
    await page.getByRole('link', { name: 'holidays', exact: true }).click();
    await expect.poll(() => listed(page)).toBe(1);
    await expect.poll(() => monthOptions(page)).toEqual(['Jan 2015 · 1']);
  });

  test('a search of symbols alone finds nothing, as a miss does', async () => {
    await page.goto(node.url);
    await expect.poll(() => listed(page)).toBe(48);
    await page.getByRole('searchbox').fill(`%_\\'`);
    await page.getByRole('heading', { name: 'Nothing matches' }).waitFor();
    expect(await listed(page)).toBe(0);
    expect(new URL(page.url()).searchParams.get('q')).toBe(`%_\\'`);
    await page.getByRole('searchbox').fill('zzzqqq');
    await page.getByRole('heading', { name: 'Nothing matches' }).waitFor();
    await page.getByRole('link', { name: 'Show everything' }).click();
    await expect.poll(() => listed(page)).toBe(48);
  });
});
