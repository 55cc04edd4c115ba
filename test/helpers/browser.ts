/**
 * Browser harness for the web app's end-to-end tests: Debian's chromium (`/usr/bin/chromium`,
 * installed by .ci/run) driven by playwright-core, headless. Screenshots go to
 * test-results/screenshots/ at phone (375 px) and desktop (1440 px) width.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN_PASSWORD, REPO_ROOT } from './node-process.js';

export const CHROMIUM = process.env['MOSAIC_CHROMIUM'] ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(REPO_ROOT, 'test-results', 'screenshots');

export const PHONE = { width: 375, height: 812 } as const;
export const DESKTOP = { width: 1440, height: 900 } as const;

/** `args`: more Chromium switches (e.g. `--host-resolver-rules` to reach 127.0.0.1 by a name). */
export async function launchBrowser(args: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', ...args],
  });
}

/** A fresh context (its own cookies), desktop-sized; pages fail fast rather than hang. */
export async function newPage(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: DESKTOP });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  return { context, page };
}

export async function signIn(
  page: Page,
  url: string,
  { username = 'admin', password = ADMIN_PASSWORD } = {},
): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Gallery' }).waitFor();
}

export interface ShotOptions {
  /** The whole page, or what the viewport shows (a viewer that fills it). */
  readonly fullPage?: boolean;
  /** The phone size (its width names the file). */
  readonly phone?: { readonly width: number; readonly height: number };
  /** Wait for lazy images off screen too. */
  readonly lazyToo?: boolean;
}

/**
 * Saves `<name>-<phone width>.png` and `<name>-1440.png` and puts the viewport back. Waits for
 * the images on the page to finish loading first, so the shots show them; animations (a
 * thumbnail's fade-in) are run to their end.
 */
export async function screenshots(
  page: Page,
  name: string,
  { fullPage = true, phone = PHONE, lazyToo = false }: ShotOptions = {},
): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const before = page.viewportSize() ?? DESKTOP;
  for (const size of [phone, DESKTOP]) {
    await page.setViewportSize(size);
    await imagesLoaded(page, { lazyToo });
    await capture(page, join(SCREENSHOTS, `${name}-${size.width}.png`), fullPage);
  }
  await page.setViewportSize(before);
}

/**
 * One screenshot, tried twice. Chromium's capture has once in ~150 CI runs hung past its
 * timeout after the page was ready (fonts loaded, then no frame came back); the shots are the
 * suite's record of each screen, not what a test asserts, so a hung capture is asked again
 * rather than failing the behaviour the test checked. A second failure fails the test.
 */
async function capture(page: Page, path: string, fullPage: boolean): Promise<void> {
  const shot = (): Promise<Buffer> =>
    page.screenshot({ path, fullPage, animations: 'disabled', timeout: 20_000 });
  try {
    await shot();
  } catch (err) {
    if (!(err instanceof Error) || err.name !== 'TimeoutError') throw err;
    console.warn(`screenshot ${path}: ${err.message.split('\n')[0]}; taking it again`);
    await shot();
  }
}

interface PageImages {
  readonly document: { readonly images: ArrayLike<{ complete: boolean; loading: string }> };
}

/**
 * Waits until every image of the page has loaded (lazy ones that are off screen excepted). A
 * function, not a string: a string predicate is evaluated with `eval`, which the app's
 * Content-Security-Policy refuses. (This file is compiled without the DOM types.)
 */
export async function imagesLoaded(page: Page, { lazyToo = false } = {}): Promise<void> {
  await page.waitForFunction(
    (all) =>
      Array.from((globalThis as unknown as PageImages).document.images).every(
        (img) => img.complete || (!all && img.loading === 'lazy'),
      ),
    lazyToo,
  );
}
