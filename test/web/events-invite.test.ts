/**
 * A new invite link in the web app, in Chromium against two real nodes and the real events
 * API: a guest joins through the invite at node 2; the organiser removes her, is told she
 * could come back with the link, issues a new one with the button, and is told the old link
 * stopped working; the old link then says so at node 2 (no join form), the new one offers to
 * join. Screenshots in test-results/screenshots/.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser, newPage, screenshots, signIn } from '../helpers/browser.js';
import { TestCluster, type ClusterNode } from '../helpers/cluster.js';
import { cleanup } from '../helpers/node-process.js';
import { waitConnected } from '../events/events-helpers.js';

let cluster: TestCluster;
let n1: ClusterNode;
let n2: ClusterNode;
let browser: Browser;
const contexts: BrowserContext[] = [];

async function open(): Promise<Page> {
  const { context, page } = await newPage(browser);
  contexts.push(context);
  page.on('dialog', (dialog) => void dialog.accept());
  return page;
}

/** The same link, at node 2. */
const atN2 = (url: string) => url.replace(n1.node.url, n2.node.url);

beforeAll(async () => {
  cluster = new TestCluster({ syncIntervalMs: 500 });
  [n1, n2] = (await cluster.startAll(2)) as [ClusterNode, ClusterNode];
  await waitConnected(cluster.nodes);
  browser = await launchBrowser();
});

afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser.close();
  await cleanup();
});

describe('the organiser replaces the invite link', () => {
  test('after removing a guest, the new link works and the old one says it stopped working', async () => {
    const organiser = await open();
    await signIn(organiser, n1.node.url);
    await organiser
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Events' })
      .click();
    await organiser.getByLabel('Title').fill('Book club');
    await organiser.getByRole('button', { name: 'Create event' }).click();
    await organiser.getByRole('heading', { name: 'Book club' }).waitFor();
    await organiser
      .getByTestId('phase')
      .getByText('Collecting photos')
      .waitFor({ timeout: 20_000 });
    const link = organiser.getByLabel('Invite link');
    const oldUrl = await link.inputValue();
    expect(oldUrl).toContain('?invite=');

    const guest = await open();
    await guest.goto(atN2(oldUrl));
    await guest.getByLabel('Your name').fill('Mona');
    await guest.getByRole('button', { name: 'Join the event' }).click();
    await guest.getByText('you are Mona').waitFor();

    const mona = organiser.getByTestId('participant').filter({ hasText: 'Mona' });
    await mona.waitFor({ timeout: 20_000 });
    await mona.getByRole('button', { name: 'Remove' }).click();
    await mona.waitFor({ state: 'detached', timeout: 20_000 });
    await expect
      .poll(() => organiser.getByTestId('removed-hint').innerText())
      .toMatch(/Mona was removed, but still has the invite link/);

    await organiser.getByRole('button', { name: 'New invite link' }).click();
    const note = organiser.getByTestId('invite-replaced');
    await note.waitFor({ timeout: 20_000 });
    expect(await note.innerText()).toMatch(/the old link no longer works at any site/);
    await expect.poll(() => link.inputValue()).not.toBe(oldUrl);
    const newUrl = await link.inputValue();
    expect(newUrl).toContain('?invite=');
    expect(await organiser.getByTestId('removed-hint').count()).toBe(0);
    await screenshots(organiser, 'events-invite-replaced');

    // Mona, or anyone with the old link, at node 2: told it stopped working, no join form.
    const stranger = await open();
    await stranger.goto(atN2(oldUrl));
    await stranger.getByRole('heading', { name: 'This invite link no longer works' }).waitFor();
    expect(await stranger.getByTestId('invite-invalid').innerText()).toMatch(
      /no longer valid for this event/,
    );
    expect(await stranger.getByLabel('Your name').count()).toBe(0);
    await screenshots(stranger, 'events-invite-old-link');
    // The new link lets a person join there.
    await stranger.goto(atN2(newUrl));
    await stranger.getByLabel('Your name').fill('Nils');
    await stranger.getByRole('button', { name: 'Join the event' }).click();
    await stranger.getByText('you are Nils').waitFor();
  });
});
