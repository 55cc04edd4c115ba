/**
 * The photo library in a real browser against a real node process (issue 15, web half): the
 * justified timeline (tiles keep their pictures' aspect ratios, rows fill the width), the viewer
 * walked with keys and with a swipe on a phone, zoom and the original, Esc back to the same
 * scroll place, a long press that selects. Selecting and changing several pictures:
 * library-select.test.ts. Screenshots at 390 and 1440 px. Tests run in order and share the
 * node and the browser.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signIn } from '../helpers/browser.js';
import { COUNT, DESKTOP, PHONE, openLibrary, shots, tiles } from '../helpers/library-fixture.js';
import {
  ADMIN_PASSWORD,
  cleanup,
  type NodeProcess,
  type Picture,
} from '../helpers/node-process.js';

let node: NodeProcess;
let browser: Browser;
let desktop: BrowserContext;
let page: Page;
/** Newest first, as the gallery shows them. */
let pictures: Picture[];
/** When the pictures were uploaded (before `openLibrary` did it). */
let uploadedAt: Date;

beforeAll(async () => {
  uploadedAt = new Date();
  ({ node, browser, desktop, page, pictures } = await openLibrary());
});

afterAll(async () => {
  await desktop.close();
  await browser.close();
  await cleanup();
});

const pathOf = (p: Page) => new URL(p.url()).pathname;
const scrollY = (p: Page) => p.evaluate<number>('window.scrollY');

interface TileBox {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

async function tileBoxes(p: Page): Promise<TileBox[]> {
  return p.evaluate(`[...document.querySelectorAll('[data-id]')].map((el) => {
    const r = el.getBoundingClientRect();
    return { id: el.dataset.id, x: r.x, y: r.y + window.scrollY, width: r.width, height: r.height };
  })`);
}

describe('the photo library', () => {
  test('lays the pictures out in justified rows that keep their aspect ratios', async () => {
    await expect.poll(() => tiles(page).count()).toBe(COUNT + 1);
    // Uploaded today, or yesterday when the run crossed midnight since (CI126 ran it at 00:00).
    await page
      .getByRole('heading', { name: /^(Today|Yesterday)$/, level: 3 })
      .first()
      .waitFor();
    const month = uploadedAt.toLocaleString('en-US', { month: 'long', year: 'numeric' });
    await page.getByRole('heading', { name: month, level: 2 }).waitFor();

    for (const viewport of [DESKTOP, PHONE]) {
      await page.setViewportSize(viewport);
      // After a resize the rows are laid out again for the new width.
      const wrapRight = () =>
        page.evaluate<number>(
          "document.querySelector('.timeline-wrap').getBoundingClientRect().right",
        );
      await expect
        .poll(async () => {
          const right = await wrapRight();
          return Math.max(...(await tileBoxes(page)).map((b) => b.x + b.width)) - right;
        })
        .toBeCloseTo(0, 0);
      const right = await wrapRight();
      const boxes = await tileBoxes(page);
      expect(boxes).toHaveLength(COUNT + 1);
      for (const box of boxes) {
        const picture = pictures.find((x) => x.id === box.id);
        if (!picture) throw new Error(`no picture ${box.id}`);
        const ratio = box.width / box.height / (picture.width / picture.height);
        expect(ratio, `tile of ${picture.title} at ${viewport.width} px`).toBeGreaterThan(0.97);
        expect(ratio).toBeLessThan(1.03);
      }
      // Rows: tiles of a row share their top and height; every row but the last fills it.
      const rows = new Map<number, TileBox[]>();
      for (const b of boxes) rows.set(Math.round(b.y), [...(rows.get(Math.round(b.y)) ?? []), b]);
      expect(rows.size).toBeGreaterThan(2);
      for (const [i, row] of [...rows.values()].entries()) {
        expect(new Set(row.map((b) => Math.round(b.height))).size).toBe(1);
        const end = Math.max(...row.map((b) => b.x + b.width));
        if (i < rows.size - 1) expect(Math.abs(right - end), `row ${i}`).toBeLessThan(2);
      }
      // Several tiles a row, not one picture per line.
      expect(boxes.length / rows.size).toBeGreaterThan(viewport === PHONE ? 2 : 4);
    }
    await page.setViewportSize(DESKTOP);
    // The title shows on hover, not over every tile.
    const opacity = () =>
      page.evaluate<string>(
        "getComputedStyle(document.querySelector('.tile .tile-caption')).opacity",
      );
    expect(await opacity()).toBe('0');
    await tiles(page).first().hover();
    await expect.poll(opacity).toBe('1');
    await page.mouse.move(0, 0);
    await shots(page, 'library-gallery');
  });

  test('the viewer walks with the arrow keys, zooms, and shows the original', async () => {
    const [first, second, third] = pictures;
    if (!first || !second || !third) throw new Error('pictures expected');
    // The next picture's preview is fetched before it is asked for.
    const preload = page.waitForRequest((r) =>
      r.url().endsWith(`/api/pictures/${second.id}/thumb?size=large`),
    );
    await tiles(page).first().click();
    await page.getByRole('heading', { name: first.title, level: 1 }).waitFor();
    expect(pathOf(page)).toBe(`/p/${first.id}`);
    await preload;
    await page.keyboard.press('ArrowRight');
    await page.getByRole('heading', { name: second.title, level: 1 }).waitFor();
    expect(pathOf(page)).toBe(`/p/${second.id}`);
    await page.keyboard.press('ArrowRight');
    await page.getByRole('heading', { name: third.title, level: 1 }).waitFor();
    await page.keyboard.press('ArrowLeft');
    await page.getByRole('heading', { name: second.title, level: 1 }).waitFor();
    // A reload keeps the picture (a URL per picture) and its neighbours.
    await page.reload();
    await page.getByRole('heading', { name: second.title, level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Next picture' }).click();
    await page.getByRole('heading', { name: third.title, level: 1 }).waitFor();
    await page.getByText(`3 of ${COUNT + 1}`).waitFor();
    await shots(page, 'library-viewer', { fullPage: false });

    // Wheel zoom; zoomed in far enough, the original replaces the preview.
    const stage = page.getByTestId('stage');
    const img = stage.locator('img');
    expect(await img.getAttribute('src')).toContain('/thumb?size=large');
    const box = await stage.boundingBox();
    if (!box) throw new Error('no stage');
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -100);
    await expect
      .poll(async () => Number(await stage.getAttribute('data-scale')))
      .toBeGreaterThan(2);
    await expect.poll(() => img.getAttribute('src')).toBe(`/api/pictures/${third.id}/file`);
    await page.mouse.dblclick(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(() => stage.getAttribute('data-scale')).toBe('1.00');
    await page.keyboard.press('Escape');
    await page.getByRole('heading', { name: 'Gallery' }).waitFor();
  });

  test('Esc brings the gallery back at the same scroll place', async () => {
    await page.evaluate('window.scrollTo(0, 700)');
    await expect.poll(() => scrollY(page)).toBe(700);
    await page.waitForTimeout(200);
    // A tile in the middle of the window.
    const boxes = await tileBoxes(page);
    const inView = boxes.find((b) => b.y > 700 + 200 && b.y + b.height < 700 + DESKTOP.height);
    if (!inView) throw new Error('no tile in view');
    await page.locator(`[data-id="${inView.id}"] .tile`).click();
    await page.getByRole('button', { name: 'Next picture' }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('heading', { name: 'Gallery' }).waitFor();
    await expect.poll(() => scrollY(page)).toBe(700);
    // The filter is kept too: opened from "odd", Esc goes back to "odd".
    await page.getByRole('link', { name: 'odd', exact: true }).click();
    await expect.poll(() => tiles(page).count()).toBe(COUNT / 2);
    await tiles(page).nth(2).click();
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => new URL(page.url()).searchParams.get('category')).toBe('odd');
    await page.keyboard.press('Escape');
    await expect.poll(() => new URL(page.url()).search).toBe('?category=odd');
    await expect.poll(() => tiles(page).count()).toBe(COUNT / 2);
    await page.getByRole('link', { name: 'All', exact: true }).click();
    await expect.poll(() => tiles(page).count()).toBe(COUNT + 1);
  });

  test('the keyboard goes past the month list to the pictures in one step', async () => {
    // After the categories came every month of the month list, then the first picture.
    await page.evaluate('window.scrollTo(0, 0)');
    await page.getByRole('navigation', { name: 'Categories' }).getByRole('link').last().focus();
    await page.keyboard.press('Tab');
    const focused = () => page.evaluate('document.activeElement?.textContent?.trim() ?? ""');
    expect(await focused()).toBe('Skip to the pictures');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('pictures');
    await page.keyboard.press('Tab');
    expect(
      await page.evaluate('document.activeElement?.closest(".timeline-wrap [data-id]") !== null'),
    ).toBe(true);
  });

  test('a phone swipes through the viewer and selects by long press', async () => {
    const phone = await browser.newContext({ viewport: PHONE, hasTouch: true, isMobile: true });
    phone.setDefaultTimeout(15_000);
    const p = await phone.newPage();
    try {
      await signIn(p, node.url, { username: 'admin', password: ADMIN_PASSWORD });
      await expect.poll(() => tiles(p).count()).toBe(pictures.length);
      // The category chips never run under the month list (they did), nor does it cut them
      // short (a third chip was clipped): beside it when all fit, else it goes under them.
      const chips = await p.locator('.gallery-bar .chips').boundingBox();
      const jump = await p.locator('.jump-select').boundingBox();
      if (!chips || !jump) throw new Error('the chips and the month list expected');
      const beside = chips.x + chips.width <= jump.x;
      const under = jump.y >= chips.y + chips.height - 1;
      expect(beside || under).toBe(true);
      // With a few categories, every chip shows whole (the third was cut off beside the list).
      const overflow = await p.locator('.gallery-bar .chips').evaluate((el) => {
        const { scrollWidth, clientWidth } = el as unknown as {
          scrollWidth: number;
          clientWidth: number;
        };
        return scrollWidth - clientWidth;
      });
      expect(overflow).toBeLessThanOrEqual(0);
      const [first, second] = pictures;
      if (!first || !second) throw new Error('pictures expected');
      await tiles(p).first().tap();
      await p.getByRole('heading', { name: first.title, level: 1 }).waitFor();
      const cdp = await phone.newCDPSession(p);
      const swipe = async (fromX: number, toX: number) => {
        const y = 300;
        await cdp.send('Input.dispatchTouchEvent', {
          type: 'touchStart',
          touchPoints: [{ x: fromX, y }],
        });
        for (let i = 1; i <= 5; i++) {
          await cdp.send('Input.dispatchTouchEvent', {
            type: 'touchMove',
            touchPoints: [{ x: fromX + ((toX - fromX) * i) / 5, y: y + i }],
          });
        }
        await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
      };
      await swipe(320, 80);
      await p.getByRole('heading', { name: second.title, level: 1 }).waitFor();
      expect(pathOf(p)).toBe(`/p/${second.id}`);
      await swipe(80, 320);
      await p.getByRole('heading', { name: first.title, level: 1 }).waitFor();
      await shots(p, 'library-viewer-phone', { fullPage: false });
      // Two fingers moving apart zoom in; then one finger pans instead of swiping.
      const stage = p.getByTestId('stage');
      const touch = (
        type: 'touchStart' | 'touchMove' | 'touchEnd',
        points: { x: number; y: number }[],
      ) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points });
      await touch('touchStart', [
        { x: 170, y: 300 },
        { x: 220, y: 300 },
      ]);
      for (let i = 1; i <= 5; i++) {
        await touch('touchMove', [
          { x: 170 - i * 20, y: 300 },
          { x: 220 + i * 20, y: 300 },
        ]);
      }
      await touch('touchEnd', []);
      await expect
        .poll(async () => Number(await stage.getAttribute('data-scale')))
        .toBeGreaterThan(2.5);
      await swipe(320, 80);
      expect(pathOf(p)).toBe(`/p/${first.id}`);
      await p.keyboard.press('Escape');
      await p.getByRole('heading', { name: 'Gallery' }).waitFor();

      // A long press selects instead of opening.
      const box = await tiles(p).nth(1).boundingBox();
      if (!box) throw new Error('no tile');
      const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [at] });
      await p.waitForTimeout(700);
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
      await p.getByText('1 selected').waitFor();
      expect(pathOf(p)).toBe('/');
      await shots(p, 'library-selection-phone');
    } finally {
      await phone.close();
    }
  });

  test('a phone is told once how to select (its circles are hidden until a long press)', async () => {
    // A screen with a mouse shows the circles on hover: no hint there.
    await page.goto(node.url);
    await page.getByRole('heading', { name: 'Gallery' }).waitFor();
    expect(await page.getByTestId('select-hint').count()).toBe(0);
    const phone = await browser.newContext({ viewport: PHONE, hasTouch: true, isMobile: true });
    phone.setDefaultTimeout(15_000);
    const p = await phone.newPage();
    try {
      await signIn(p, node.url, { username: 'admin', password: ADMIN_PASSWORD });
      const hint = p.getByTestId('select-hint');
      await hint.getByText('Press and hold a picture to select it').waitFor();
      const gotIt = hint.getByRole('button', { name: 'Got it' });
      // A finger's 44 px, as every control on a touch screen.
      expect((await gotIt.boundingBox())?.height).toBeGreaterThanOrEqual(44);
      await gotIt.tap();
      await hint.waitFor({ state: 'detached' });
      await p.reload();
      await p.getByRole('heading', { name: 'Gallery' }).waitFor();
      await expect.poll(() => tiles(p).count()).toBe(pictures.length);
      expect(await hint.count()).toBe(0);
    } finally {
      await phone.close();
    }
  });
});
