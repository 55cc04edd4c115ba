/**
 * The gallery's timeline draws only the days near the screen (web/src/components/Timeline.tsx),
 * in a real browser against a real node: with a library many screens long, the tiles on the
 * page stay a few screens' worth while the page is as tall as the whole library, a jump to an
 * old month shows its pictures, and a picture opened far down is the one in view, focused,
 * when the viewer closes. Tests run in order and share the node and the browser.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser, newPage, signIn } from '../helpers/browser.js';
import { ADMIN_PASSWORD, api, cleanup, login, startNode } from '../helpers/node-process.js';
import { photo } from '../helpers/photos.js';

/** One picture a day, newest on 2026-11-30: five months, ~40 screens at 1440 × 900. */
const DAYS = 150;
/** No more tiles than this on the page (the library has DAYS). */
const BOUND = 70;

let browser: Browser;
let context: BrowserContext;
let page: Page;
let url: string;

const titleOf = (n: number) => `Day ${n}`;

beforeAll(async () => {
  const node = await startNode();
  url = node.url;
  const admin = api(url, await login(url, 'admin', ADMIN_PASSWORD));
  const newest = Date.parse('2026-11-30T12:00:00Z');
  for (let n = 0; n < DAYS; n++) {
    const taken = new Date(newest - n * 86_400_000).toISOString().slice(0, 19);
    const up = await admin.upload({
      file: await photo(2000 + n, { taken: taken.replace('T', ' ').replace(/-/g, ':') }),
      fields: { title: titleOf(n) },
    });
    expect(up.status).toBe(201);
  }
  browser = await launchBrowser();
  ({ context, page } = await newPage(browser));
  await signIn(page, url);
}, 120_000);

afterAll(async () => {
  await context.close();
  await browser.close();
  await cleanup();
});

const tiles = (p: Page) => p.getByTestId('tile');

/** Whether the tile of `title` is on the page and inside the viewport. */
const inView = (title: string): Promise<boolean> =>
  page.evaluate(`(() => {
    const tile = [...document.querySelectorAll('[data-testid="tile"]')].find(
      (el) => el.getAttribute('aria-label') === ${JSON.stringify(title)},
    );
    if (!tile) return false;
    const r = tile.getBoundingClientRect();
    return r.bottom > 0 && r.top < window.innerHeight;
  })()`);

interface Step {
  readonly atEnd: boolean;
  readonly tiles: number;
}

interface Shape {
  readonly tiles: number;
  readonly scrollHeight: number;
  readonly screen: number;
  readonly rows: number;
  readonly empty: number;
  readonly flat: number;
}

describe('the gallery draws only the days near the screen', () => {
  test('a library many screens long keeps a few screens of tiles, and its whole height', async () => {
    await tiles(page).first().waitFor();
    // Scroll to the end, paging on, counting the tiles on the way.
    let most = 0;
    for (let step = 0; step < 400; step++) {
      // A string: this file is compiled without the DOM types.
      const state: Step = await page.evaluate(`(() => {
        window.scrollBy(0, window.innerHeight);
        return {
          atEnd:
            window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2 &&
            document.querySelectorAll('.more').length === 0,
          tiles: document.querySelectorAll('[data-testid="tile"]').length,
        };
      })()`);
      most = Math.max(most, state.tiles);
      if (state.atEnd) break;
      await page.waitForTimeout(30);
    }
    await expect.poll(() => page.locator('section.day').count()).toBe(DAYS);
    await tiles(page)
      .getByText(titleOf(DAYS - 1))
      .waitFor();
    const shape: Shape = await page.evaluate(`(() => {
      const lists = [...document.querySelectorAll('ul.rows')];
      return {
        tiles: document.querySelectorAll('[data-testid="tile"]').length,
        scrollHeight: document.documentElement.scrollHeight,
        screen: window.innerHeight,
        rows: lists.reduce((sum, ul) => sum + ul.getBoundingClientRect().height, 0),
        empty: lists.filter((ul) => ul.children.length === 0).length,
        flat: lists.filter((ul) => ul.getBoundingClientRect().height < 100).length,
      };
    })()`);
    most = Math.max(most, shape.tiles);
    expect(most).toBeLessThanOrEqual(BOUND);
    expect(shape.empty).toBeGreaterThan(DAYS / 2);
    // Every day keeps its rows' height, drawn or not: the page is as tall as the library.
    expect(shape.flat).toBe(0);
    expect(shape.scrollHeight).toBeGreaterThan(shape.rows);
    expect(shape.rows).toBeGreaterThan(20 * shape.screen);
  });

  test('a jump to an old month shows its pictures', async () => {
    await page.evaluate('window.scrollTo(0, 0)');
    await tiles(page).getByText(titleOf(0)).waitFor();
    // July 2026 begins (newest first) with its 31st: 122 days before 2026-11-30.
    await page
      .getByRole('navigation', { name: 'Jump to a month' })
      .getByRole('button', { name: 'July 2026' })
      .click();
    await expect.poll(() => inView(titleOf(122))).toBe(true);
    expect(await tiles(page).count()).toBeLessThanOrEqual(BOUND);
  });

  test('a picture opened far down is in view, focused, when the viewer closes', async () => {
    const title = titleOf(135);
    await page.locator('[data-day="2026-07-18"]').scrollIntoViewIfNeeded();
    await expect.poll(() => inView(title)).toBe(true);
    await tiles(page).getByText(title).click();
    await page.getByRole('heading', { name: title, level: 1 }).waitFor();
    // Next in the viewer: the gallery comes back to the picture shown last.
    await page.keyboard.press('ArrowRight');
    const next = titleOf(136);
    await page.getByRole('heading', { name: next, level: 1 }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('heading', { name: 'Gallery' }).waitFor();
    await expect.poll(() => inView(next)).toBe(true);
    await expect
      .poll(() => page.evaluate('document.activeElement?.getAttribute("aria-label")'))
      .toBe(next);
    expect(await page.evaluate('window.scrollY')).toBeGreaterThan(10_000);
    expect(await tiles(page).count()).toBeLessThanOrEqual(BOUND);
  });

  test('a shift-click selects across days that are not drawn', async () => {
    await page.evaluate('window.scrollTo(0, 0)');
    await tiles(page).getByText(titleOf(0)).hover();
    await page.getByRole('button', { name: `Select ${titleOf(0)}` }).click();
    await page.locator('[data-day="2026-10-01"]').scrollIntoViewIfNeeded();
    await tiles(page).getByText(titleOf(60)).hover();
    expect(await inView(titleOf(0))).toBe(false);
    await page
      .getByRole('button', { name: `Select ${titleOf(60)}` })
      .click({ modifiers: ['Shift'] });
    const bar = page.getByRole('toolbar', { name: 'Selected pictures' });
    await bar.getByText('61 selected').waitFor();
    await page.keyboard.press('Escape');
    await bar.waitFor({ state: 'detached' });
  });
});
