/**
 * The cluster page in a real browser against two real node processes, each syncing a folder:
 * both nodes up, the folder with the laptops that sync it (one removed after a confirmation),
 * and what the page shows while this node stops answering. The rest of the web app end to end:
 * gallery.test.ts.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser, newPage, screenshots, signIn } from '../helpers/browser.js';
import { TestCluster } from '../helpers/cluster.js';
import { createToken } from '../helpers/device-process.js';
import { ADMIN_PASSWORD, cleanup, makeTempDir } from '../helpers/node-process.js';
import { deviceIdFor } from '../../src/devices/core/device-id.js';

let cluster: TestCluster;
let browser: Browser;
let context1: BrowserContext;
/** The admin, signed in at node 1. */
let page1: Page;
let url1: string;

beforeAll(async () => {
  // Each node also syncs a folder, for the page's folders.
  const folders = [
    `photos=${await makeTempDir('web-f1-')}`,
    `photos=${await makeTempDir('web-f2-')}`,
  ];
  cluster = new TestCluster({ folders });
  const [n1, n2] = await cluster.startAll(2);
  if (!n1 || !n2) throw new Error('two nodes expected');
  url1 = n1.node.url;
  browser = await launchBrowser();
  ({ context: context1, page: page1 } = await newPage(browser));
  await signIn(page1, url1);
});

afterAll(async () => {
  await context1.close();
  await browser.close();
  await cleanup();
});

const tab = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });

describe('the web app', () => {
  test('the cluster page shows both nodes up, and the laptops that sync each folder (one removed)', async () => {
    // A laptop of the admin's syncs "photos" with node 1 (what `mosaic sync` registers).
    const token = await createToken(url1, 'admin', ADMIN_PASSWORD);
    const nonce = 'e'.repeat(32);
    const registered = await fetch(`${url1}/api/folders/photos/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: deviceIdFor('admin', nonce), name: 'grans-laptop', nonce }),
    });
    expect(registered.status).toBe(200);
    await tab(page1, 'Cluster').click();
    const nodes = page1.getByTestId('node');
    await expect.poll(() => nodes.count()).toBe(2);
    await nodes.filter({ hasText: 'this node' }).getByText('n1').waitFor();
    await nodes.filter({ hasText: 'n2' }).getByText('up', { exact: true }).waitFor();
    await page1.getByText('1 of 1 peer reachable from n1').waitFor();
    const folder = page1.getByRole('region', { name: 'Folders' }).getByRole('listitem');
    await folder.getByText('photos', { exact: true }).waitFor();
    await folder.getByText('Conflicts').waitFor();
    const device = folder.getByTestId('device');
    await device.getByText('grans-laptop').waitFor();
    await device.getByText('(admin)').waitFor();
    await device.getByText(/seen here (just now|\d+ s ago)/).waitFor();
    await screenshots(page1, 'cluster');

    // This node stops answering the page: what it showed is marked as from before, not left
    // looking current under an error (it kept "this node", "up" and "1 of 1 peer reachable").
    await page1.route('**/api/cluster', (route) => route.abort('connectionrefused'));
    const alert = page1.getByRole('alert').filter({ hasText: 'This node (n1) is not answering' });
    await alert.getByText(/What is shown below is from/).waitFor();
    expect(await page1.locator('.stale[aria-busy="true"]').count()).toBe(1);
    await page1.unroute('**/api/cluster');
    await alert.waitFor({ state: 'detached' });
    expect(await page1.locator('.stale').count()).toBe(0);

    // The laptop is lost: removed after a confirmation, it is gone from the list.
    await folder.getByRole('button', { name: 'Remove grans-laptop' }).click();
    const dialog = page1.getByRole('dialog', { name: 'Remove grans-laptop?' });
    await dialog.getByRole('button', { name: 'Remove' }).click();
    await folder.getByText('No laptop syncs this folder').waitFor();
    expect(await device.count()).toBe(0);
  });
});
