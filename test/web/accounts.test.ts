/**
 * Accounts in a real browser against two real nodes: someone who is neither an album's owner
 * nor an admin sees it without Share, Edit or Delete, nor among those to add pictures to; their password changed from the account
 * menu, then reset by an admin, holds at node 2; an admin adds a person (the server's refusals
 * shown as they are), who signs in at both nodes, and disables another, who is signed out and
 * refused at both, then enables them again. Albums and share links: albums-shares.test.ts.
 * Screenshots at 390 and 1440 px.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signIn } from '../helpers/browser.js';
import { TestCluster, type ClusterNode } from '../helpers/cluster.js';
import {
  addUser,
  canLogin,
  cleanup,
  waitFor,
  type Api,
  type Picture,
} from '../helpers/node-process.js';
import { DESKTOP, openTwoNodeGallery, shots, titlesOn } from '../helpers/two-node-gallery.js';

const cluster = new TestCluster({ syncIntervalMs: 300 });
let n1: ClusterNode;
let n2: ClusterNode;
let a1: Api;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let pics: Picture[];
let albumId = '';

beforeAll(async () => {
  ({ n1, n2, a1, browser, context, page, pics } = await openTwoNodeGallery(cluster));
  // The admin's album of four pictures (albums-shares.test.ts makes one from the gallery).
  const album = await a1.post<{ id: string }>('/api/albums', { name: 'Summer holidays' });
  expect(album.status).toBe(201);
  albumId = album.body.id;
  const add = [1, 2, 3, 4].map((i) => pics[i]?.id);
  expect((await a1.post(`/api/albums/${albumId}/pictures`, { add })).status).toBe(200);
});

afterAll(async () => {
  await context.close();
  await browser.close();
  await cleanup();
});

const title = (i: number) => pics[i]?.title ?? '';

/** Waits until `password` signs `username` in at `node` (a change replicated there). */
async function signsInAt(node: ClusterNode, username: string, password: string, what: string) {
  await waitFor(() => canSignIn(node, username, password), {
    timeoutMs: 20_000,
    intervalMs: 300,
    what,
  });
}

function canSignIn(node: ClusterNode, username: string, password: string): Promise<boolean> {
  return canLogin(node.node.url, username, password);
}

describe('who may change an album', () => {
  test('someone who is neither its owner nor an admin sees it without Share, Edit or Delete; their password', async () => {
    await addUser(n1.node.dataDir, 'bob', 'bob-password-for-tests');
    const other = await browser.newContext({ viewport: DESKTOP });
    other.setDefaultTimeout(15_000);
    try {
      const p = await other.newPage();
      await signIn(p, n1.node.url, { username: 'bob', password: 'bob-password-for-tests' });
      await p.goto(`${n1.node.url}/a/${albumId}`);
      await p.getByRole('heading', { name: 'Summer holidays' }).waitFor();
      await waitFor(async () => (await titlesOn(p)).length === 4, { what: 'the album for bob' });
      for (const name of ['Share', 'Edit', 'Delete album']) {
        expect(await p.getByRole('button', { name }).count()).toBe(0);
      }
      await p.getByRole('button', { name: `Select ${title(1)}` }).click();
      expect(await p.getByRole('button', { name: 'Remove from album' }).count()).toBe(0);
      // Anyone signed in may make an album of their own.
      await p.goto(`${n1.node.url}/albums`);
      await p.getByRole('button', { name: 'New album' }).waitFor();
      // "Add to album" offers his own albums only: the admin's was listed, preselected, and
      // refused (403) once he pressed Add.
      await p.goto(n1.node.url);
      await p.getByRole('button', { name: `Select ${title(1)}` }).click();
      await p.getByRole('toolbar').getByRole('button', { name: 'Add to album' }).click();
      const dialog = p.getByRole('dialog');
      await expect.poll(() => dialog.getByText('Loading albums…').count()).toBe(0);
      expect(await dialog.getByText('Summer holidays').count()).toBe(0);
      expect(await dialog.getByRole('radio', { name: 'New album' }).isChecked()).toBe(true);
      await p.keyboard.press('Escape'); // the dialog, then the selection
      await p.keyboard.press('Escape');
      await p.getByRole('toolbar').waitFor({ state: 'detached' });

      // Bob changes his password in the account menu: the old one is required, the new one
      // holds at node 2. No reset form for him.
      await p.getByLabel('Account menu').click();
      await p.getByRole('link', { name: 'Password, links and tokens' }).click();
      expect(await p.getByRole('form', { name: 'Reset a password' }).count()).toBe(0);
      expect(await p.getByRole('form', { name: 'Add a person' }).count()).toBe(0);
      expect(await p.getByRole('region', { name: 'People' }).count()).toBe(0);
      const form = p.getByRole('form', { name: 'Change your password' });
      await form.getByLabel('Current password').fill('not-his-password');
      await form.getByLabel('New password', { exact: true }).fill('bob-second-password');
      await form.getByLabel('New password again').fill('bob-second-password');
      await form.getByRole('button', { name: 'Change password' }).click();
      await form.getByText('The current password is wrong.').waitFor();
      await form.getByLabel('Current password').fill('bob-password-for-tests');
      await form.getByRole('button', { name: 'Change password' }).click();
      await form.getByText('Password changed at every node.').waitFor();
      await signsInAt(n2, 'bob', 'bob-second-password', 'the new password at node 2');

      // An admin resets bob's password from the same page: the reset one holds at node 2.
      await page.goto(`${n1.node.url}/account`);
      const reset = page.getByRole('form', { name: 'Reset a password' });
      await reset.getByLabel('Username').fill('bob');
      await reset.getByLabel('New password').fill('bob-third-password');
      await reset.getByRole('button', { name: 'Reset password' }).click();
      await reset.getByText('The password of bob is reset at every node.').waitFor();
      await signsInAt(n2, 'bob', 'bob-third-password', 'the reset password at node 2');

      // The admin adds a person from the same page: the server's refusals are shown as they
      // are, the new account is listed and signs in, in a browser of its own, at both nodes.
      const people = page.getByRole('region', { name: 'People' });
      await people.getByTestId('person').filter({ hasText: 'bob' }).waitFor();
      const add = page.getByRole('form', { name: 'Add a person' });
      await add.getByLabel('Username').fill('bob');
      await add.getByLabel('Password').fill('another-password');
      await add.getByRole('button', { name: 'Add person' }).click();
      await add.getByRole('alert').getByText('An account named bob already exists.').waitFor();
      await add.getByLabel('Username').fill('Carol Jones');
      await add.getByRole('button', { name: 'Add person' }).click();
      await add
        .getByRole('alert')
        .getByText('A username uses only a–z, A–Z, 0–9, ".", "_" and "-".')
        .waitFor();
      await add.getByLabel('Username').fill('carol');
      await add.getByLabel('Password').fill('carol-password');
      await add.getByLabel('Administrator').check();
      await add.getByRole('button', { name: 'Add person' }).click();
      await add
        .getByRole('status')
        .getByText('carol can sign in now, as an administrator, at every node once replicated.')
        .waitFor();
      expect(await add.getByRole('alert').count()).toBe(0);
      expect(await add.getByLabel('Username').inputValue()).toBe('');
      await people
        .getByTestId('person')
        .filter({ hasText: 'carol' })
        .getByText('admin', { exact: true })
        .waitFor();
      expect(await people.getByTestId('person').allTextContents()).toEqual([
        'adminadminyou',
        'bobMake adminDisable',
        'caroladminRemove adminDisable',
      ]);
      await shots(page, 'account-people');
      const carol = await browser.newContext({ viewport: DESKTOP });
      carol.setDefaultTimeout(15_000);
      try {
        const c = await carol.newPage();
        await signIn(c, n1.node.url, { username: 'carol', password: 'carol-password' });
        await c.goto(`${n1.node.url}/account`);
        await c.getByText('Signed in as carol (admin).').waitFor();
        await c.getByRole('form', { name: 'Add a person' }).waitFor();
      } finally {
        await carol.close();
      }
      await signsInAt(n2, 'carol', 'carol-password', 'the new account at node 2');

      // The admin disables bob from People, asked first: bob's open page is signed out, his
      // password is refused with the reason, at both nodes; enabled again, he signs in.
      await signIn(p, n1.node.url, { username: 'bob', password: 'bob-third-password' });
      const bobRow = people.getByTestId('person').filter({ hasText: 'bob' });
      await bobRow.getByRole('button', { name: 'Disable bob' }).click();
      const disable = page.getByRole('dialog', { name: 'Disable bob?' });
      await disable.getByText(/is signed out at every node/).waitFor();
      await disable.getByRole('button', { name: 'Disable' }).click();
      await people
        .getByRole('status')
        .getByText('bob is disabled at every node once replicated.')
        .waitFor();
      await bobRow.getByText('disabled', { exact: true }).waitFor();
      // His next click is refused: the sign-in form says why he is there.
      await p
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: 'Albums' })
        .click();
      await p
        .getByRole('status')
        .getByText(/Your session ended/)
        .waitFor();
      await p.getByLabel('Username').fill('Bob');
      await p.getByLabel('Password').fill('bob-third-password');
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p
        .getByRole('alert')
        .getByText('This account is disabled. An admin can enable it again.')
        .waitFor();
      await waitFor(async () => !(await canSignIn(n2, 'bob', 'bob-third-password')), {
        what: 'bob refused at node 2',
        timeoutMs: 20_000,
        intervalMs: 300,
      });
      await bobRow.getByRole('button', { name: 'Enable bob' }).click();
      await page
        .getByRole('dialog', { name: 'Enable bob?' })
        .getByRole('button', { name: 'Enable' })
        .click();
      await people
        .getByRole('status')
        .getByText('bob is enabled at every node once replicated.')
        .waitFor();
      await signsInAt(n2, 'bob', 'bob-third-password', 'bob enabled, at node 2');
      // Nothing to click on one's own row: the server refuses it anyway.
      const mine = people.getByTestId('person').filter({ hasText: 'you' });
      expect(await mine.getByRole('button').count()).toBe(0);
    } finally {
      await other.close();
    }
  });
});
