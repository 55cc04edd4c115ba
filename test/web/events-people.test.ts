/**
 * A group photo event as real people go through it (issue 14), in Chromium against 4 real node
 * processes and the real events API: the organiser creates the event, uploads and votes in the
 * browser; a guest joins at node 3, loses their cookies (a new browser context: a new device),
 * comes back with the personal link the page showed, and votes; the montage is published and
 * public at node 4. Then a site is down while an event is created: the page names it and says
 * since when, until it is back. Every message on the way is a sentence, without internals.
 * Screenshots at 390 and 1440 px in test-results/screenshots/.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser, newPage, screenshots, signIn } from '../helpers/browser.js';
import { TestCluster, type ClusterNode } from '../helpers/cluster.js';
import { cleanup, makeImage } from '../helpers/node-process.js';
import { waitConnected } from '../events/events-helpers.js';

const PHONE = { width: 390, height: 844 } as const;
/** Words that must never reach a person: raw internals and bare status codes. */
const INTERNALS = /Invalid body|Vips|ZodError|\bundefined\b|\[object|\(\d{3}\)|Error:/;

let cluster: TestCluster;
let n: [ClusterNode, ClusterNode, ClusterNode, ClusterNode];
let browser: Browser;
const contexts: BrowserContext[] = [];
let organiser: Page;
let inviteUrl = '';
let eventPath = '';
let recoveryUrl = '';
/** The montage version once the guest's photos are in. */
let latest = 0;

async function open(): Promise<Page> {
  const { context, page } = await newPage(browser);
  contexts.push(context);
  return page;
}

/** `<name>-390.png` and `<name>-1440.png`, every image loaded. */
const shots = (page: Page, name: string) =>
  screenshots(page, name, { phone: PHONE, lazyToo: true });

/** Every alert and note on the page reads as a sentence, with no internals. */
async function expectPlainWords(page: Page): Promise<void> {
  const body = (await page.locator('body').innerText()) || '';
  expect(body).not.toMatch(INTERNALS);
  for (const alert of await page.getByRole('alert').allInnerTexts()) {
    expect(alert.trim()).toMatch(/^[A-Z].*[.!?]$/s);
  }
}

async function addPhoto(page: Page, seed: number, version: number): Promise<void> {
  await page.getByTestId('event-file-input').setInputFiles({
    name: `photo-${seed}.jpg`,
    mimeType: 'image/jpeg',
    buffer: await makeImage({ format: 'jpeg', width: 800, height: 600, seed }),
  });
  await page
    .getByTestId('montage-version')
    .getByText(new RegExp(`version (${version}|${version + 1})`))
    .waitFor({ timeout: 30_000 });
}

beforeAll(async () => {
  cluster = new TestCluster({ syncIntervalMs: 500 });
  n = (await cluster.startAll(4)) as typeof n;
  await waitConnected(n);
  browser = await launchBrowser();
  organiser = await open();
}, 120_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser.close().catch(() => undefined);
  await cleanup();
});

describe('a group photo event in the browser, across 4 nodes', () => {
  test('the organiser creates the event and adds a photo', async () => {
    await signIn(organiser, n[0].node.url);
    await organiser
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Events' })
      .click();
    await organiser.getByLabel('Title').fill('Lake weekend');
    await organiser.getByLabel('Voting time (s)').fill('120');
    await organiser.getByRole('button', { name: 'Create event' }).click();
    await organiser.getByRole('heading', { name: 'Lake weekend' }).waitFor();
    eventPath = new URL(organiser.url()).pathname;
    await organiser
      .getByTestId('phase')
      .getByText('Collecting photos')
      .waitFor({ timeout: 20_000 });
    const invite = organiser.getByLabel('Invite link');
    await expect.poll(() => invite.inputValue(), { timeout: 20_000 }).toContain('?invite=');
    inviteUrl = (await invite.inputValue()).replace(n[0].node.url, n[2].node.url);
    // The rules, in words: how long the vote lasts and what makes it pass.
    await organiser.getByText('starts a vote of 2 minutes').waitFor();
    await organiser.getByText(/published only if everyone who added a photo accepts/).waitFor();

    await addPhoto(organiser, 301, 1);
    await organiser.getByRole('img', { name: /Montage of “Lake weekend”, version 1/ }).waitFor();
    await expectPlainWords(organiser);
    await shots(organiser, 'people-organiser');
  }, 90_000);

  test('a guest joins at node 3 with a name, seeing the title first, and adds a photo', async () => {
    const guest = await open();
    await guest.goto(inviteUrl);
    await guest.getByRole('heading', { name: 'Lake weekend' }).waitFor();
    await guest.getByText('joining again here makes you a new, different participant').waitFor();
    await expectPlainWords(guest);
    await shots(guest, 'people-invite');
    await guest.getByLabel('Your name').fill('Alice');
    await guest.getByRole('button', { name: 'Join the event' }).click();
    await guest.getByText('you are Alice').waitFor();
    const personal = guest.getByLabel('Your personal link');
    recoveryUrl = await personal.inputValue();
    expect(recoveryUrl).toContain('?recover=');

    // A file that is not an image: refused with a sentence.
    await guest.getByTestId('event-file-input').setInputFiles({
      name: 'notes.jpg',
      mimeType: 'image/jpeg',
      buffer: Buffer.from('these are my notes, not a photo'),
    });
    await guest.getByText('This file is not an image the montage can use.').waitFor();
    await expectPlainWords(guest);

    await addPhoto(guest, 302, 2);
    await guest
      .getByTestId('participant')
      .filter({ hasText: 'Alice' })
      .getByText('photo')
      .waitFor();

    // Several photos picked at once are added one after another, each a new version.
    const versionNow = async () =>
      Number(
        /version (\d+)/.exec((await guest.getByTestId('montage-version').innerText()) || '')?.[1],
      );
    const before = await versionNow();
    await guest.getByTestId('event-file-input').setInputFiles(
      await Promise.all(
        [303, 304].map(async (seed) => ({
          name: `photo-${seed}.jpg`,
          mimeType: 'image/jpeg',
          buffer: await makeImage({ format: 'jpeg', width: 640, height: 480, seed }),
        })),
      ),
    );
    await expect.poll(versionNow, { timeout: 30_000 }).toBeGreaterThanOrEqual(before + 2);
    await guest.getByText('Add photos', { exact: true }).waitFor();
    latest = await versionNow();
    await shots(guest, 'people-guest');
  }, 90_000);

  test('the guest loses their cookies and comes back with the personal link on a new device', async () => {
    const newPhone = await open(); // a fresh context: no cookie, no localStorage
    await newPhone.goto(`${n[2].node.url}${eventPath}`);
    await newPhone.getByRole('heading', { name: 'This event is private' }).waitFor();
    await newPhone.goto(recoveryUrl);
    await newPhone.getByText('you are Alice').waitFor({ timeout: 20_000 });
    // The link leaves the address bar but the browser keeps it, shown again to copy.
    expect(new URL(newPhone.url()).search).toBe('');
    expect(await newPhone.getByLabel('Your personal link').inputValue()).toBe(recoveryUrl);
    // Their own photos, counted (302, 303 and 304).
    await newPhone.getByText('You have added 3 photos.', { exact: false }).waitFor();
    await newPhone
      .getByRole('img', { name: `Montage of “Lake weekend”, version ${latest}` })
      .waitFor();

    // The organiser accepts the latest version: the vote starts, with its closing time in words.
    await organiser
      .getByTestId('montage-version')
      .getByText(`version ${latest}`, { exact: true })
      .waitFor({ timeout: 20_000 });
    await organiser.getByRole('button', { name: 'Accept' }).click();
    await organiser.getByTestId('phase').getByText('Voting').waitFor();
    await organiser.getByText(/Voting closes at/).waitFor();
    await shots(organiser, 'people-voting');

    await newPhone.getByTestId('phase').getByText('Voting').waitFor({ timeout: 20_000 });
    await newPhone.getByRole('button', { name: 'Accept' }).click();
    await newPhone.getByText('Published', { exact: true }).waitFor({ timeout: 30_000 });
    await expectPlainWords(newPhone);
  }, 120_000);

  test('the published montage is public at node 4', async () => {
    const anyone = await open();
    await anyone.goto(`${n[3].node.url}${eventPath}`);
    await anyone.getByText('Published', { exact: true }).waitFor({ timeout: 30_000 });
    await anyone.getByRole('img', { name: 'Montage of “Lake weekend”' }).waitFor();
    await anyone.getByText(/admin, Alice/).waitFor();
    await shots(anyone, 'people-published');
  }, 60_000);

  test('a site down at creation: the page names it and since when, until it is back', async () => {
    await n[3].node.kill(); // SIGKILL
    await organiser.goto(`${n[0].node.url}/events`);
    await organiser.getByLabel('Title').fill('While n4 sleeps');
    await organiser.getByRole('button', { name: 'Create event' }).click();
    await organiser.getByRole('heading', { name: 'While n4 sleeps' }).waitFor({ timeout: 20_000 });
    const waiting = organiser.getByTestId('waiting-sites');
    await waiting.getByText(/waiting for site n4 since \d/).waitFor({ timeout: 20_000 });
    await organiser.getByTestId('phase').getByText('Setting up').waitFor();
    // The same in the API: the master's view of each site.
    const id = new URL(organiser.url()).pathname.split('/').pop() ?? '';
    const res = await organiser.request.get(`${n[0].node.url}/api/events/${id}`);
    const { sites } = (await res.json()) as {
      sites: { name: string; state: string; since: string | null }[];
    };
    expect(sites.map((s) => [s.name, s.state])).toEqual([
      ['n1', 'ready'],
      ['n2', 'ready'],
      ['n3', 'ready'],
      ['n4', 'waiting'],
    ]);
    expect(Date.parse(sites[3]?.since ?? '')).toBeGreaterThan(Date.now() - 60_000);
    await expectPlainWords(organiser);
    await shots(organiser, 'people-waiting');

    await n[3].node.restart();
    await organiser
      .getByTestId('phase')
      .getByText('Collecting photos')
      .waitFor({ timeout: 45_000 });
    await waiting.waitFor({ state: 'detached' });
  }, 120_000);
});
