/**
 * The trash in a real browser against two real nodes (issue 15): a picture deleted at node 2
 * shows in the trash page at node 1, and restored there it is back at node 2. Screenshots at
 * 390 and 1440 px.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TestCluster, type ClusterNode } from '../helpers/cluster.js';
import { cleanup, waitFor, type Api, type Picture } from '../helpers/node-process.js';
import { openTwoNodeGallery, shots } from '../helpers/two-node-gallery.js';

const cluster = new TestCluster({ syncIntervalMs: 300 });
let n1: ClusterNode;
let a2: Api;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let pics: Picture[];

beforeAll(async () => {
  ({ n1, a2, browser, context, page, pics } = await openTwoNodeGallery(cluster));
});

afterAll(async () => {
  await context.close();
  await browser.close();
  await cleanup();
});

describe('trash', () => {
  test('a picture restored from the trash page at node 1 is back at node 2', async () => {
    const victim = pics[5];
    if (!victim) throw new Error('no picture');
    expect((await a2.delete(`/api/pictures/${victim.id}`)).status).toBe(204);
    await page.goto(`${n1.node.url}/trash`);
    await waitFor(
      async () => {
        await page.reload();
        await page.getByRole('heading', { name: 'Trash', exact: true }).waitFor();
        return (await page.getByTestId('trash-item').count()) === 1;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: 'the deleted picture in the trash at node 1' },
    );
    await shots(page, 'trash');
    await page.getByRole('button', { name: `Restore ${victim.title}` }).click();
    await page.getByText(`“${victim.title}” is back in the gallery.`).waitFor();
    await page.getByText('The trash is empty').waitFor();
    await waitFor(async () => (await a2.get(`/api/pictures/${victim.id}`)).status === 200, {
      timeoutMs: 20_000,
      what: 'the restored picture at node 2',
    });
    const bytes = await a2.fetch(`/api/pictures/${victim.id}/file`);
    expect(bytes.status).toBe(200);
  });
});
