/**
 * What a walk-through of the web app found, on a phone (390 × 844, touch) and a desktop, in
 * Chromium against one real node: a link to one picture opens it large, not as a grid of one
 * tile; a group event needs room for a guest and a full one says so to whoever opens its
 * invite, before any form; a form's old message goes once a field changes or the browser
 * blocks a new submit; the trash writes its dates as every other page does; a finger's tap
 * targets are 44 px; an event says how many photos one added.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser, screenshots, signIn } from '../helpers/browser.js';
import {
  ADMIN_PASSWORD,
  api,
  cleanup,
  login,
  makeImage,
  startNode,
  waitFor,
  type Api,
  type NodeProcess,
  type Picture,
} from '../helpers/node-process.js';

const PHONE = { width: 390, height: 844 } as const;
const DESKTOP = { width: 1366, height: 800 } as const;
/** A finger's tap target (WCAG 2.5.5). */
const TAP = 44;

let node: NodeProcess;
let admin: Api;
let browser: Browser;
const contexts: BrowserContext[] = [];
let desk: Page;
let tall: Picture;

async function open(phone: boolean): Promise<Page> {
  const context = await browser.newContext(
    phone ? { viewport: PHONE, hasTouch: true, isMobile: true } : { viewport: DESKTOP },
  );
  context.setDefaultTimeout(15_000);
  contexts.push(context);
  return context.newPage();
}

async function upload(title: string, width: number, height: number, seed: number) {
  const up = await admin.upload<Picture>({
    file: await makeImage({ seed, width, height, format: 'jpeg' }),
    fields: { title },
  });
  expect(up.status).toBe(201);
  return up.body;
}

/** What the page's own locale makes of `iso` with these options (the app's formatters'). */
function inBrowser(page: Page, iso: string, options: Intl.DateTimeFormatOptions) {
  return page.evaluate(([at, o]) => new Date(at).toLocaleString(undefined, o), [
    iso,
    options,
  ] as const);
}

beforeAll(async () => {
  node = await startNode();
  admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
  tall = await upload('Tall one', 1000, 2400, 11);
  browser = await launchBrowser();
  desk = await open(false);
  await signIn(desk, node.url);
}, 60_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser.close().catch(() => undefined);
  await cleanup();
});

describe('a link to one picture', () => {
  test('opens the picture large on a phone, with its title, after the password', async () => {
    const made = await admin.post<{ path: string }>('/api/shares', {
      target: 'picture',
      targetId: tall.id,
      password: 'open sesame',
      expiresInDays: 30,
    });
    expect(made.status).toBe(201);
    const phone = await open(true);
    await phone.goto(`${node.url}${made.body.path}`);
    await phone.getByLabel('Password').fill('open sesame');
    await phone.getByRole('button', { name: 'Open' }).click();
    await phone.getByRole('heading', { name: 'Tall one' }).waitFor();
    expect(await phone.getByTestId('shared-tile').count()).toBe(0);
    // Fit to the screen: as tall as the phone allows (1000 × 2400 in 390 × 844 less the bar).
    const image = phone.getByRole('img', { name: 'Tall one' });
    await waitFor(
      async () => {
        const box = await image.boundingBox();
        return box !== null && box.height > 600 && box.width > 250;
      },
      { what: 'the shared picture shown large' },
    );
    const box = await image.boundingBox();
    expect((box?.y ?? 0) + (box?.height ?? 0)).toBeLessThanOrEqual(PHONE.height + 1);
    await phone.getByRole('link', { name: 'Download' }).waitFor();
    // No Close, no "1 / 1": there is nothing else to go back to or walk to.
    expect(await phone.getByRole('button', { name: 'Close' }).count()).toBe(0);
    expect(await phone.getByText('1 / 1').count()).toBe(0);
    // The link's end, in the app's one style of days.
    const shares = await admin.get<{ items: { id: string; expiresAt: string | null }[] }>(
      '/api/shares',
    );
    const expiresAt = shares.body.items[0]?.expiresAt ?? '';
    const day = await inBrowser(phone, expiresAt, { dateStyle: 'medium' });
    await phone.getByText(`Link valid until ${day}`).waitFor();
    await screenshots(phone, 'share-picture', { phone: PHONE, fullPage: false });
  });
});

describe('a group event', () => {
  test('needs room for a guest: the form and the API refuse 1', async () => {
    const one = await admin.post<{ error: { message: string } }>('/api/events', {
      title: 'Alone',
      maxParticipants: 1,
    });
    expect(one.status).toBe(400);
    expect(one.body.error.message).toMatch(/at least 2 people/);
    await desk.goto(`${node.url}/events`);
    expect(await desk.getByLabel('Max. people').getAttribute('min')).toBe('2');
  });

  test('once full, the invite says so before any form, and the organiser has no link to give', async () => {
    const made = await admin.post<{ id: string; inviteUrl: string | null }>('/api/events', {
      title: 'Two of us',
      maxParticipants: 2,
    });
    expect(made.status).toBe(201);
    const { id } = made.body;
    const event = await waitFor(
      async () => {
        const e = await admin.get<{ phase: string; inviteUrl: string | null }>(`/api/events/${id}`);
        return e.body.phase === 'collecting' && e.body.inviteUrl !== null && e.body;
      },
      { what: 'the event collecting, with its invite' },
    );
    const invite = new URL(event.inviteUrl ?? '').searchParams.get('invite') ?? '';
    const inviteAt = `${node.url}/e/${id}?invite=${invite}`;

    // Room for one guest: the form shows.
    const guest = await open(true);
    await guest.goto(inviteAt);
    await guest.getByLabel('Your name').waitFor();
    const joined = await api(node.url).post(`/api/events/${id}/join`, { invite, name: 'Ann' });
    expect(joined.status).toBe(200);

    // Full now: said at once, with no form to fill in first.
    const late = await open(true);
    await late.goto(inviteAt);
    await late.getByRole('heading', { name: 'Two of us' }).waitFor();
    await late.getByText('This event is full.').waitFor();
    expect(await late.getByLabel('Your name').count()).toBe(0);
    await screenshots(late, 'event-full', { phone: PHONE });

    await desk.goto(`${node.url}/e/${id}`);
    await desk.getByTestId('event-full').getByText('This event is full (2 of max. 2)').waitFor();
    expect(await desk.getByLabel('Invite link').count()).toBe(0);
  });

  test('says how many photos one added', async () => {
    const made = await admin.post<{ id: string }>('/api/events', { title: 'Picnic' });
    expect(made.status).toBe(201);
    await waitFor(
      async () =>
        (await admin.get<{ phase: string }>(`/api/events/${made.body.id}`)).body.phase ===
        'collecting',
      { what: 'the event collecting' },
    );
    await desk.goto(`${node.url}/e/${made.body.id}`);
    await desk.getByRole('heading', { name: 'Picnic' }).waitFor();
    const photo = async (seed: number) => ({
      name: `photo-${seed}.jpg`,
      mimeType: 'image/jpeg',
      buffer: await makeImage({ format: 'jpeg', width: 640, height: 480, seed }),
    });
    await desk.getByTestId('event-file-input').setInputFiles([await photo(1), await photo(2)]);
    await desk.getByText(/^You have added 2 photos\./).waitFor({ timeout: 30_000 });
  });
});

describe('forms', () => {
  test("a server's refusal goes once a field changes or a blocked submit is tried", async () => {
    await desk.goto(`${node.url}/account`);
    const form = desk.getByRole('form', { name: 'Add a person' });
    await form.getByLabel('Username').fill('a b');
    await form.getByLabel('Password').fill('long enough password');
    await form.getByRole('button', { name: 'Add person' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor();
    // A change to a field: the old refusal no longer applies.
    await form.getByLabel('Username').fill('dad');
    await alert.waitFor({ state: 'detached' });
    // Again, then a submit the browser blocks (password too short): no old message beside it.
    await form.getByLabel('Username').fill('a b');
    await form.getByRole('button', { name: 'Add person' }).click();
    await alert.waitFor();
    await form.getByLabel('Username').evaluate((el) => {
      // Emptied without an input event (a required field): only the blocked submit is left to
      // clear the message.
      (el as unknown as { value: string }).value = '';
    });
    await form.getByRole('button', { name: 'Add person' }).click();
    await alert.waitFor({ state: 'detached' });
  });
});

describe('dates', () => {
  test('the trash writes them as every other page does', async () => {
    const gone = await upload('Old one', 400, 300, 12);
    expect((await admin.delete(`/api/pictures/${gone.id}`)).status).toBe(204);
    const trash = await admin.get<{ items: { deletedAt: string; purgeAt: string }[] }>(
      '/api/trash',
    );
    const item = trash.body.items[0];
    if (!item) throw new Error('nothing in the trash');
    await desk.goto(`${node.url}/trash`);
    const row = desk.getByTestId('trash-item').first();
    const when = await inBrowser(desk, item.deletedAt, { dateStyle: 'medium', timeStyle: 'short' });
    const day = await inBrowser(desk, item.purgeAt, { dateStyle: 'medium' });
    await row.getByText(`deleted ${when}`).waitFor();
    await row.getByText(`Gone for good after ${day}`).waitFor();
  });
});

describe('a phone', () => {
  test('gives a finger 44 px to tap; a desktop keeps its small controls', async () => {
    const phone = await open(true);
    await signIn(phone, node.url);
    const big = async (what: string, locator: ReturnType<Page['getByLabel']>) => {
      const box = await locator.boundingBox();
      expect(box?.width, what).toBeGreaterThanOrEqual(TAP);
      expect(box?.height, what).toBeGreaterThanOrEqual(TAP);
    };
    await big('the account menu', phone.getByLabel('Account menu'));
    const check = phone.getByRole('button', { name: 'Select Tall one' });
    await big('a picture’s select check', check);
    // Hidden (not selecting), the check takes no tap: the tile's corner opens the picture.
    await phone.getByRole('link', { name: /^Tall one/ }).tap({ position: { x: 12, y: 12 } });
    await phone.waitForURL(`**/p/${tall.id}`);
    await big('Technical details', phone.getByText('Technical details'));

    // The desktop's look is as it was: a 24 px check on a tile.
    await desk.goto(node.url);
    const deskCheck = await desk.getByRole('button', { name: 'Select Tall one' }).boundingBox();
    expect(deskCheck?.width).toBe(24);
  });
});
