/**
 * Albums and share links in a real browser against two real nodes (issue 15): an album made at
 * node 1 from the gallery's selection and changed concurrently at node 2 (during a partition)
 * shows the same pictures at both; a share link opened in a fresh context with no account shows
 * the album, its viewer and download, and nothing of the library, at both nodes, until it is
 * revoked from the account page; a picture of an open album retitled at the other node shows
 * there; the album and share dialogs. Who may change an album, and the account page's
 * passwords and people: accounts.test.ts. The trash: trash.test.ts. Screenshots of each new
 * page at 390 and 1440 px.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signIn } from '../helpers/browser.js';
import { TestCluster, type ClusterNode } from '../helpers/cluster.js';
import { cleanup, waitFor, type Api, type Picture } from '../helpers/node-process.js';
import {
  DESKTOP,
  PHONE,
  openTwoNodeGallery,
  shots,
  titlesOn,
} from '../helpers/two-node-gallery.js';

const cluster = new TestCluster({ syncIntervalMs: 300 });
let n1: ClusterNode;
let n2: ClusterNode;
let a1: Api;
let a2: Api;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let pics: Picture[];
let albumId = '';
let shareUrl = '';

beforeAll(async () => {
  ({ n1, n2, a1, a2, browser, context, page, pics } = await openTwoNodeGallery(cluster));
});

afterAll(async () => {
  await context.close();
  await browser.close();
  await cleanup();
});

/**
 * A new page of `context` on the share link `href`, loaded again until the album or the end of
 * the link shows and `shows` holds of it.
 */
async function openShare(
  context: BrowserContext,
  href: string,
  what: string,
  shows: (visitor: Page) => Promise<boolean>,
): Promise<Page> {
  const visitor = await context.newPage();
  await waitFor(
    async () => {
      await visitor.goto(href);
      await visitor
        .getByRole('heading', { name: /Summer holidays|This link no longer works/ })
        .waitFor();
      return shows(visitor);
    },
    { timeoutMs: 20_000, intervalMs: 500, what },
  );
  return visitor;
}

const title = (i: number) => pics[i]?.title ?? '';

describe('albums', () => {
  test('an album made from the gallery at node 1 and changed at node 2 converges at both', async () => {
    // Select three pictures and add them to a new album.
    await page.getByRole('button', { name: `Select ${title(0)}` }).click();
    await page.getByRole('button', { name: `Select ${title(1)}` }).click();
    await page.getByRole('button', { name: `Select ${title(2)}` }).click();
    const bar = page.getByRole('toolbar', { name: 'Selected pictures' });
    await bar.getByRole('button', { name: 'Add to album' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name of the new album').fill('Holidays');
    await dialog.getByRole('button', { name: 'Add' }).click();
    // A success is a status, not an alert (and not styled as an error).
    await bar.getByRole('status').getByText('Added to “Holidays”.').waitFor();
    expect(await bar.getByRole('alert').count()).toBe(0);
    await page.keyboard.press('Escape'); // the selection bar covers the tabs

    await page.getByRole('link', { name: 'Albums' }).first().click();
    await page.getByRole('heading', { name: 'Albums' }).waitFor();
    await page.getByTestId('album-card').filter({ hasText: 'Holidays' }).click();
    await page.getByRole('heading', { name: 'Holidays' }).waitFor();
    albumId = new URL(page.url()).pathname.split('/').pop() ?? '';
    await waitFor(async () => (await titlesOn(page)).length === 3, { what: 'three tiles' });

    // Partitioned: node 1's browser takes Shot 0 out; node 2 adds Shot 3 and 4 and renames.
    await waitFor(
      async () => (await a2.get<{ count: number }>(`/api/albums/${albumId}`)).body.count === 3,
      { timeoutMs: 15_000, what: 'the album at node 2' },
    );
    await cluster.partition([n1], [n2]);
    await page.getByRole('button', { name: `Select ${title(0)}` }).click();
    await page
      .getByRole('toolbar', { name: 'Selected pictures' })
      .getByRole('button', { name: 'Remove from album' })
      .click();
    await waitFor(async () => (await titlesOn(page)).length === 2, { what: 'Shot 0 out' });
    await a2.post(`/api/albums/${albumId}/pictures`, { add: [pics[3]?.id, pics[4]?.id] });
    await a2.request('PATCH', `/api/albums/${albumId}`, { name: 'Summer holidays' });
    await cluster.heal();

    const expected = [1, 2, 3, 4].map(title).sort();
    // Another context: both nodes are on 127.0.0.1, and cookies do not tell ports apart.
    const second = await browser.newContext({ viewport: DESKTOP });
    second.setDefaultTimeout(15_000);
    const other = await second.newPage();
    await signIn(other, n2.node.url);
    await other.goto(`${n2.node.url}/a/${albumId}`);
    for (const p of [page, other]) {
      await p.getByRole('heading', { name: 'Summer holidays' }).waitFor({ timeout: 20_000 });
      await waitFor(async () => JSON.stringify(await titlesOn(p)) === JSON.stringify(expected), {
        timeoutMs: 20_000,
        what: 'the same pictures in the album at both nodes',
      });
    }
    await second.close();
    // A picture of the album retitled at node 2: node 1's open page follows, the feed naming
    // the album that holds it (no reload, no poll while the feed is up).
    expect(
      (await a2.patch(`/api/pictures/${pics[3]?.id}`, { title: 'Retitled at node 2' })).status,
    ).toBe(200);
    await waitFor(async () => (await titlesOn(page)).includes('Retitled at node 2'), {
      timeoutMs: 15_000,
      what: "the new title on node 1's album page",
    });
    // Back as it was (the share links below download it under its title).
    await a2.patch(`/api/pictures/${pics[3]?.id}`, { title: title(3) });
    await waitFor(async () => (await titlesOn(page)).includes(title(3)), {
      timeoutMs: 15_000,
      what: "the title back on node 1's album page",
    });
    await shots(page, 'album');

    // The viewer opened from the album walks the album, and Esc comes back to it.
    await page.getByTestId('tile').first().click();
    await page.getByText('1 of 4').waitFor();
    await page.keyboard.press('ArrowRight');
    await page.getByText('2 of 4').waitFor();
    expect(new URL(page.url()).searchParams.get('album')).toBe(albumId);
    // Add this one to a second album from the viewer; Esc in the dialog leaves the viewer open.
    await page.getByRole('button', { name: 'Add to album' }).click();
    const add = page.getByRole('dialog');
    // A radio is drawn at its own size beside its label (the text fields' width made it a wide
    // box that squeezed the name).
    const radio = await add.getByRole('radio', { name: 'New album' }).boundingBox();
    expect(radio?.width).toBeLessThanOrEqual(24);
    await add.getByRole('radio', { name: 'New album' }).check();
    await add.getByLabel('Name of the new album').fill('Best of');
    await page.keyboard.press('Escape');
    await add.waitFor({ state: 'hidden' });
    await page.getByText('2 of 4').waitFor();
    await page.getByRole('button', { name: 'Add to album' }).click();
    await add.getByRole('radio', { name: 'New album' }).check();
    await add.getByLabel('Name of the new album').fill('Best of');
    await add.getByRole('button', { name: 'Add' }).click();
    await add.waitFor({ state: 'hidden' });
    const lists = await a1.get<{ items: { name: string; count: number }[] }>('/api/albums');
    expect(lists.body.items.find((a) => a.name === 'Best of')?.count).toBe(1);
    await page.keyboard.press('Escape');
    await page.getByRole('heading', { name: 'Summer holidays' }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/a/${albumId}`);
    await page.goto(`${n1.node.url}/albums`);
    await page.getByTestId('album-card').first().waitFor();
    await shots(page, 'albums');
  });
});

describe('share links', () => {
  test('open the album with no account at both nodes, show nothing else, stop once revoked', async () => {
    await page.goto(`${n1.node.url}/a/${albumId}`);
    await page.getByRole('button', { name: 'Share' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Make link' }).click();
    shareUrl = await dialog.getByLabel('Link').inputValue();
    expect(shareUrl).toMatch(/\/s\/[0-9a-f]{32}$/);
    await dialog.getByRole('button', { name: 'Done' }).click();
    const path = new URL(shareUrl).pathname;

    const stranger = await browser.newContext({ viewport: DESKTOP });
    stranger.setDefaultTimeout(15_000);
    try {
      for (const url of [n1.node.url, n2.node.url]) {
        const visitor = await openShare(
          stranger,
          `${url}${path}`,
          'the shared album',
          async (v) => {
            return (await v.getByTestId('shared-tile').count()) === 4;
          },
        );
        // No navigation into the library, no sign-in wall; the library itself refuses it.
        expect(await visitor.getByRole('navigation').count()).toBe(0);
        if (url === n1.node.url) {
          // A link cut short says so, with no Retry that could not help.
          const cut = await stranger.newPage();
          await cut.goto(`${url}${path.slice(0, -3)}`);
          await cut.getByRole('heading', { name: 'This is not a share link' }).waitFor();
          expect(await cut.getByRole('button', { name: 'Retry' }).count()).toBe(0);
          await cut.close();
        }
        const status = await visitor.evaluate(async () => (await fetch('/api/pictures')).status);
        expect(status).toBe(401);
        // The viewer: open, walk, download.
        await visitor.getByTestId('shared-tile').first().click();
        const viewer = visitor.getByRole('dialog');
        await viewer.getByText('1 / 4').waitFor();
        await visitor.keyboard.press('ArrowRight');
        await viewer.getByText('2 / 4').waitFor();
        const download = visitor.waitForEvent('download');
        await viewer.getByRole('link', { name: 'Download' }).click();
        expect((await download).suggestedFilename()).toMatch(/^Shot \d\.jpg$/);
        if (url === n1.node.url) await shots(visitor, 'share-viewer');
        await visitor.keyboard.press('Escape');
        if (url === n2.node.url) await shots(visitor, 'share');
        await visitor.close();
      }

      // A phone swipes through the shared album.
      const phone = await browser.newContext({ viewport: PHONE, hasTouch: true, isMobile: true });
      phone.setDefaultTimeout(15_000);
      try {
        const p = await phone.newPage();
        await p.goto(`${n1.node.url}${path}`);
        await p.getByTestId('shared-tile').first().tap();
        await p.getByRole('dialog').getByText('1 / 4').waitFor();
        const cdp = await phone.newCDPSession(p);
        const y = 400;
        await cdp.send('Input.dispatchTouchEvent', {
          type: 'touchStart',
          touchPoints: [{ x: 320, y }],
        });
        for (let i = 1; i <= 5; i++) {
          await cdp.send('Input.dispatchTouchEvent', {
            type: 'touchMove',
            touchPoints: [{ x: 320 - 48 * i, y: y + i }],
          });
        }
        await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
        await p.getByRole('dialog').getByText('2 / 4').waitFor();
      } finally {
        await phone.close();
      }

      // A link to one picture too: the account page names it by its title, with a thumbnail.
      const pictureLink = await a1.post<{ path: string; title: string | null }>('/api/shares', {
        target: 'picture',
        targetId: pics[0]?.id,
      });
      expect(pictureLink.status).toBe(201);
      expect(pictureLink.body.title).toBe(title(0));

      // Revoke the album's from the account page at node 1, once confirmed.
      await page.goto(`${n1.node.url}/albums`);
      // The account menu closes as a pop-up does: Esc (focus back on it), a click elsewhere;
      // it stayed open over the page before.
      const menuButton = page.getByLabel('Account menu');
      const accountLink = page.getByRole('link', { name: 'Account, people and links' });
      await menuButton.click();
      await accountLink.waitFor();
      await page.keyboard.press('Escape');
      await accountLink.waitFor({ state: 'hidden' });
      expect(await page.evaluate('document.activeElement?.getAttribute("aria-label")')).toBe(
        'Account menu',
      );
      await menuButton.click();
      await accountLink.waitFor();
      await page.getByRole('heading', { name: 'Albums' }).click();
      await accountLink.waitFor({ state: 'hidden' });
      await menuButton.click();
      await accountLink.click();
      await page.getByRole('heading', { name: 'Account' }).waitFor();
      await accountLink.waitFor({ state: 'hidden' }); // a page change closes it too
      await page.getByText('album “Summer holidays”').waitFor();
      const pictureRow = page.getByTestId('share-link').filter({ hasText: pictureLink.body.path });
      await pictureRow.getByText(`picture “${title(0)}”`).waitFor();
      const thumb = pictureRow.getByTestId('share-thumb');
      await waitFor(
        () =>
          thumb.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth > 0),
        { what: "the picture link's thumbnail" },
      );
      await shots(page, 'account');
      // Revoke asks first: Cancel keeps the link.
      await page.getByRole('button', { name: `Revoke ${path}` }).click();
      const confirm = page.getByRole('dialog', { name: 'Revoke this link?' });
      await confirm.getByText('The link to the album “Summer holidays” stops working').waitFor();
      await confirm.getByRole('button', { name: 'Cancel' }).click();
      await confirm.waitFor({ state: 'hidden' });
      expect((await a1.get<{ items: unknown[] }>('/api/shares')).body.items).toHaveLength(2);
      await page.getByRole('button', { name: `Revoke ${path}` }).click();
      await confirm.getByRole('button', { name: 'Revoke' }).click();
      await page.getByRole('button', { name: `Revoke ${path}` }).waitFor({ state: 'detached' });
      await confirm.waitFor({ state: 'hidden' });
      await pictureRow.waitFor(); // only the album's link went
      for (const url of [n1.node.url, n2.node.url]) {
        const visitor = await openShare(
          stranger,
          `${url}${path}`,
          'the revocation at this node',
          async (v) => {
            return (await v.getByText('This link no longer works').count()) === 1;
          },
        );
        expect(await visitor.getByTestId('shared-tile').count()).toBe(0);
        if (url === n2.node.url) await shots(visitor, 'share-revoked');
        await visitor.close();
      }
    } finally {
      await stranger.close();
    }
  });
});

describe('album and share dialogs', () => {
  test('an album made and renamed on its pages, shared with a password that a visitor must give', async () => {
    await page.goto(`${n1.node.url}/albums`);
    await page.getByRole('button', { name: 'New album' }).click();
    const create = page.getByRole('dialog');
    await create.getByLabel('Name').fill('Walks');
    await create.getByLabel('Description').fill('Along the river');
    await create.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: 'Walks' }).waitFor();
    const walksId = new URL(page.url()).pathname.split('/').pop() ?? '';
    expect(walksId).not.toBe('');
    expect((await a1.post(`/api/albums/${walksId}/pictures`, { add: [pics[0]?.id] })).status).toBe(
      200,
    );

    await page.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog');
    await edit.getByLabel('Name').fill('Autumn walks');
    await edit.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'Autumn walks' }).waitFor();

    await page.getByRole('button', { name: 'Share' }).click();
    const share = page.getByRole('dialog');
    await share.getByLabel('Password (optional)').fill('open sesame');
    await share.getByRole('button', { name: 'Make link' }).click();
    const link = await share.getByLabel('Link').inputValue();
    await share.getByRole('button', { name: 'Done' }).click();

    const stranger = await browser.newContext({ viewport: DESKTOP });
    stranger.setDefaultTimeout(15_000);
    try {
      const visitor = await stranger.newPage();
      await visitor.goto(link);
      await visitor.getByText('This link is protected by a password.').waitFor();
      expect(await visitor.getByTestId('shared-tile').count()).toBe(0);
      // Not even the album's name before the password.
      await visitor.getByRole('heading', { name: 'Shared pictures' }).waitFor();
      expect(await visitor.getByText('Autumn walks').count()).toBe(0);
      await visitor.getByLabel('Password').fill('not it');
      await visitor.getByRole('button', { name: 'Open' }).click();
      await visitor.getByText('Wrong password for this link.').waitFor();
      await visitor.getByLabel('Password').fill('open sesame');
      await visitor.getByRole('button', { name: 'Open' }).click();
      await visitor.getByRole('heading', { name: 'Autumn walks' }).waitFor();
      await waitFor(async () => (await visitor.getByTestId('shared-tile').count()) === 1, {
        what: 'the shared picture behind the password',
      });
    } finally {
      await stranger.close();
    }
  });
});
