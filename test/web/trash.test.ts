/**
 * The trash in a real browser against two real nodes (issue 15): a picture deleted at node 2
 * shows in the trash page at node 1, and restored there it is back at node 2. A trash of more
 * than one page shows the rest on "Load more"; "Delete for good" asks first; a selection is
 * restored (a refusal said) or deleted for good once confirmed; "Empty trash" says
 * how many it will empty, empties them all, and the page says the trash is empty once. A picture
 * open at node 2 follows an edit at node 1 (an open edit form keeps its draft), then says it was
 * deleted there and leads to the trash. Screenshots at 390 and 1440 px.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { newPage, signIn } from '../helpers/browser.js';
import { TestCluster, type ClusterNode } from '../helpers/cluster.js';
import { cleanup, makeImage, waitFor, type Api, type Picture } from '../helpers/node-process.js';
import { openTwoNodeGallery, shots } from '../helpers/two-node-gallery.js';

/** The web app's page of the trash (web/src/api/library.ts TRASH_PAGE). */
const TRASH_PAGE = 50;

const cluster = new TestCluster({ syncIntervalMs: 300 });
let n1: ClusterNode;
let n2: ClusterNode;
let a1: Api;
let a2: Api;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let pics: Picture[];

beforeAll(async () => {
  ({ n1, n2, a1, a2, browser, context, page, pics } = await openTwoNodeGallery(cluster));
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

  test('a trash of more than a page: "Load more" shows the rest, "Empty trash" empties all', async () => {
    // One page and one more picture, uploaded and deleted at node 1.
    const count = TRASH_PAGE + 1;
    for (let i = 0; i < count; i++) {
      const up = await a1.upload<Picture>({
        file: await makeImage({ seed: 900 + i, width: 16, height: 12 }),
        fields: { title: `Old ${i}` },
      });
      expect(up.status).toBe(201);
      expect((await a1.delete(`/api/pictures/${up.body.id}`)).status).toBe(204);
    }
    await page.goto(`${n1.node.url}/trash`);
    await page.getByRole('heading', { name: 'Trash', exact: true }).waitFor();
    await page.getByText(`${count} in the trash.`).waitFor();
    expect(await page.getByTestId('trash-item').count()).toBe(TRASH_PAGE);
    // The oldest delete is on the second page.
    expect(await page.getByText('Old 0', { exact: true }).count()).toBe(0);
    await page.getByRole('button', { name: 'Load more' }).click();
    await page.getByText('Old 0', { exact: true }).waitFor();
    expect(await page.getByTestId('trash-item').count()).toBe(count);
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);

    // "Delete for good" on one asks first, naming it; Cancel keeps it.
    const forGood = page.getByRole('button', { name: 'Delete Old 0 for good' });
    const dialog = page.getByRole('dialog');
    await forGood.click();
    await dialog.getByRole('heading', { name: 'Delete “Old 0” for good?' }).waitFor();
    // Named by its own title, not by the page's first dialog's (Empty the trash).
    await page.getByRole('dialog', { name: 'Delete “Old 0” for good?' }).waitFor();
    await dialog.getByText('cannot be undone').waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.getByTestId('trash-item').count()).toBe(count);
    await forGood.click();
    await dialog.getByRole('button', { name: 'Delete for good' }).click();
    await page.getByText('“Old 0” is gone for good.').waitFor();
    await forGood.waitFor({ state: 'detached' });

    // Several at once: select two and restore them, one of them refused (a partial failure is
    // said: how many of how many, and why); then two deleted for good, after a confirmation.
    await page.getByRole('checkbox', { name: 'Select Old 1', exact: true }).check();
    await page.getByRole('checkbox', { name: 'Select Old 2', exact: true }).check();
    await page.getByTestId('trash-selected').getByText('2 selected').waitFor();
    const old2 = (
      await a1.get<{ items: { id: string; title: string }[] }>('/api/trash?limit=100')
    ).body.items.find((t) => t.title === 'Old 2');
    if (!old2) throw new Error('no Old 2');
    await page.route(`**/api/trash/${old2.id}/restore`, (route) =>
      route.fulfill({
        status: 403,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'forbidden', message: 'Refused by the test.' } }),
      }),
    );
    await page.getByRole('button', { name: 'Restore 2' }).click();
    await page.getByText('1 picture back in the gallery.').waitFor();
    await page.getByText('1 of 2 could not be restored: Refused by the test.').waitFor();
    await page.unroute(`**/api/trash/${old2.id}/restore`);
    expect(await page.getByText('Old 1', { exact: true }).count()).toBe(0);
    expect(await page.getByText('Old 2', { exact: true }).count()).toBe(1);
    await page.getByRole('checkbox', { name: 'Select Old 2', exact: true }).check();
    await page.getByRole('checkbox', { name: 'Select Old 3', exact: true }).check();
    await page.getByRole('button', { name: 'Delete 2 for good' }).click();
    const batch = page.getByRole('dialog', { name: 'Delete 2 pictures for good?' });
    await batch.getByRole('button', { name: 'Cancel' }).click();
    await batch.waitFor({ state: 'hidden' });
    expect(await page.getByText('Old 3', { exact: true }).count()).toBe(1);
    await page.getByRole('button', { name: 'Delete 2 for good' }).click();
    await batch.getByRole('button', { name: 'Delete for good' }).click();
    await page.getByText('2 pictures removed for good.').waitFor();
    expect(await page.getByText('Old 3', { exact: true }).count()).toBe(0);
    // "Select all" takes every listed one the person may change.
    await page.getByRole('checkbox', { name: 'Select all' }).check();
    const left = count - 4;
    await page.getByTestId('trash-selected').getByText(`${left} selected`).waitFor();
    await page.getByRole('checkbox', { name: 'Select all' }).uncheck();

    await page.getByRole('button', { name: 'Empty trash' }).click();
    await page.getByRole('heading', { name: `Empty the trash (${left})?` }).waitFor();
    // An admin's emptying takes everyone's deleted pictures: said before it is done.
    await dialog.getByText('Everyone’s deleted pictures are removed for good').waitFor();
    await dialog.getByRole('button', { name: 'Empty trash' }).click();
    await page.getByText('The trash is empty', { exact: true }).waitFor();
    // Said once, not again in the note above it, which says what was emptied.
    expect(await page.getByText('The trash is empty').count()).toBe(1);
    await page.getByText(`${left} pictures removed for good.`).waitFor();
    const after = await a1.get<{ total: number }>('/api/trash');
    expect(after.body.total).toBe(0);
  });

  test('a picture open at node 2 follows an edit and a delete at node 1', async () => {
    const pic = pics[4];
    if (!pic) throw new Error('no picture');
    const { context: context2, page: viewer } = await newPage(browser);
    try {
      await signIn(viewer, n2.node.url);
      await viewer.goto(`${n2.node.url}/p/${pic.id}`);
      await viewer.getByRole('heading', { name: pic.title, exact: true }).waitFor();

      // Retitled at node 1: the open page shows the new title.
      expect((await a1.patch(`/api/pictures/${pic.id}`, { title: 'Retitled at n1' })).status).toBe(
        200,
      );
      await viewer.getByRole('heading', { name: 'Retitled at n1' }).waitFor({ timeout: 20_000 });

      // An edit form open at node 2 keeps its draft through a change at node 1, and saving it
      // changes only what was edited in it (the other node's new title stays).
      await viewer.getByRole('button', { name: 'Edit' }).click();
      await viewer.getByLabel('Description').fill('Draft typed at n2');
      expect((await a1.patch(`/api/pictures/${pic.id}`, { title: 'Again at n1' })).status).toBe(
        200,
      );
      // The note names what changed, and the field not touched here shows it (it kept the
      // title as the form opened, and the note named only the title).
      await viewer
        .getByText('changed at another node meanwhile: the title is now “Again at n1”')
        .waitFor({ timeout: 20_000 });
      expect(await viewer.getByLabel('Description').inputValue()).toBe('Draft typed at n2');
      expect(await viewer.getByLabel('Title').inputValue()).toBe('Again at n1');
      await viewer.getByRole('button', { name: 'Save' }).click();
      await viewer.getByRole('heading', { name: 'Again at n1' }).waitFor();
      await viewer.getByText('Draft typed at n2').waitFor();

      // Saved here, then replaced by an edit from node 1 (as when both save at once and node
      // 1's is the later): the page says which of the saved fields holds another value now.
      await viewer.getByRole('button', { name: 'Edit' }).click();
      await viewer.getByLabel('Title').fill('Mine at n2');
      await viewer.getByRole('button', { name: 'Save' }).click();
      await viewer.getByRole('heading', { name: 'Mine at n2' }).waitFor();
      expect(await viewer.getByText('replaced what you saved').count()).toBe(0);
      expect((await a1.patch(`/api/pictures/${pic.id}`, { title: 'Theirs at n1' })).status).toBe(
        200,
      );
      await viewer
        .getByText(
          'An edit made at another node replaced what you saved: the title is now “Theirs at n1”.',
        )
        .waitFor({ timeout: 20_000 });
      await viewer.getByRole('button', { name: 'OK' }).click();
      expect(await viewer.getByText('replaced what you saved').count()).toBe(0);

      // Deleted at node 1: the page says so, with no Edit left, and leads to the trash.
      expect((await a1.delete(`/api/pictures/${pic.id}`)).status).toBe(204);
      await viewer
        .getByRole('heading', { name: 'This picture was deleted' })
        .waitFor({ timeout: 20_000 });
      expect(await viewer.getByRole('button', { name: 'Edit' }).count()).toBe(0);
      await viewer.getByRole('link', { name: 'Open the trash' }).click();
      await viewer.getByRole('button', { name: 'Restore Theirs at n1' }).waitFor();
    } finally {
      await context2.close();
    }
  });
});
