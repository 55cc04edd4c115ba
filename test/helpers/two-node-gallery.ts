/**
 * The set-up of the two-node browser tests (test/web/albums-shares.test.ts, accounts.test.ts,
 * trash.test.ts): two real nodes of one cluster, six pictures of mixed shapes uploaded at node 1
 * and replicated to node 2, and a browser signed in at node 1 at desktop size. Each test file
 * starts its own.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { launchBrowser, screenshots, signIn } from './browser.js';
import type { ClusterNode, TestCluster } from './cluster.js';
import { makeImage, waitFor, type Api, type Picture } from './node-process.js';

export const PHONE = { width: 390, height: 844 } as const;
export const DESKTOP = { width: 1440, height: 900 } as const;
const SHAPES = [
  [400, 300],
  [300, 400],
  [480, 320],
  [320, 320],
  [500, 250],
  [280, 420],
] as const;

export interface TwoNodeGallery {
  n1: ClusterNode;
  n2: ClusterNode;
  a1: Api;
  a2: Api;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** The six pictures, in upload order (titles `Shot 0` to `Shot 5`). */
  pics: Picture[];
}

export async function openTwoNodeGallery(cluster: TestCluster): Promise<TwoNodeGallery> {
  const [n1, n2] = (await cluster.startAll(2)) as [ClusterNode, ClusterNode];
  const a1 = await n1.api();
  const a2 = await n2.api();
  const pics: Picture[] = [];
  for (let i = 0; i < SHAPES.length; i++) {
    const [width, height] = SHAPES[i] ?? [1, 1];
    const up = await a1.upload<Picture>({
      file: await makeImage({ seed: 700 + i, width, height, format: 'jpeg' }),
      filename: `s${i}.jpg`,
      fields: { title: `Shot ${i}` },
    });
    expect(up.status).toBe(201);
    pics.push(up.body);
  }
  await waitFor(
    async () =>
      (await a2.get<{ items: unknown[] }>('/api/pictures?limit=50')).body.items.length ===
      SHAPES.length,
    { timeoutMs: 20_000, what: 'the pictures at node 2' },
  );
  const browser = await launchBrowser();
  const context = await browser.newContext({ viewport: DESKTOP });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  await signIn(page, n1.node.url);
  return { n1, n2, a1, a2, browser, context, page, pics };
}

/** `<name>-390.png` and `<name>-1440.png`. */
export const shots = (p: Page, name: string) => screenshots(p, name, { phone: PHONE });

/** The titles of the tiles an album page shows, sorted. */
export async function titlesOn(p: Page): Promise<string[]> {
  // One evaluation: the album page re-renders every few seconds, so no per-tile round trips.
  const labels = await p
    .getByTestId('tile')
    .evaluateAll((els: { getAttribute(name: string): string | null }[]) =>
      els.map((el) => el.getAttribute('aria-label') ?? ''),
    );
  return labels.sort();
}
