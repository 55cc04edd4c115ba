/**
 * The event pages in a real browser, with the events API answered by the test (playwright
 * routes) following the agreed contract, so that the UI is tested whether or not the node
 * serves events yet: the invite page and joining, uploading, the montage and its version,
 * who has voted, the countdown, the vote buttons' states, and the public published page.
 * The node (a real one) serves the app itself.
 */
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser, newPage, screenshots } from '../helpers/browser.js';
import {
  ADMIN_PASSWORD,
  cleanup,
  makeImage,
  startNode,
  type NodeProcess,
} from '../helpers/node-process.js';

type Phase = 'creating' | 'collecting' | 'voting' | 'published' | 'aborted';
interface Participant {
  id: string;
  name: string;
  site: string;
  submitted: boolean;
  voted: boolean;
}

/** The fake event's state, changed by the test and by the page's requests. */
const state = {
  phase: 'collecting' as Phase,
  montageVersion: 1,
  participants: [
    { id: 'p-bob', name: 'Bob', site: 'n1', submitted: true, voted: false },
  ] as Participant[],
  deadline: null as string | null,
  cast: 0,
  me: {
    role: 'visitor',
    id: null as string | null,
    name: null as string | null,
    submitted: false,
    photos: 0,
    voted: false,
  },
  requests: [] as string[],
  /** The decisions the page sent. */
  votes: [] as string[],
};

function eventJson(base: string) {
  return {
    id: 'ev1',
    title: 'Summer picnic',
    origin: 'n1',
    phase: state.phase,
    round: 1,
    montageVersion: state.montageVersion,
    photos: state.participants
      .filter((p) => p.submitted)
      .map((p, i) => ({
        id: `ph${i}`,
        participant: p.name,
        site: p.site,
        addedAt: new Date().toISOString(),
      })),
    participants: state.participants,
    deadline: state.deadline,
    votes: { cast: state.cast, needed: state.participants.length },
    votingSeconds: 60,
    maxParticipants: 8,
    inviteUrl: state.me.role === 'organiser' ? `${base}/e/ev1?invite=secret` : null,
    publishedAt: state.phase === 'published' ? new Date().toISOString() : null,
    me: state.me,
  };
}

let node: NodeProcess;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let montage: Buffer;

async function answer(route: Route): Promise<void> {
  const request = route.request();
  const url = new URL(request.url());
  const key = `${request.method()} ${url.pathname}`;
  state.requests.push(key);
  const json = (status: number, body: unknown) =>
    route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
  switch (key) {
    case 'GET /api/events':
      return json(200, { items: [eventJson(node.url)] });
    case 'GET /api/events/ev1':
      if (state.me.role === 'visitor' && state.phase !== 'published') {
        return json(403, { error: { code: 'forbidden', message: 'Not a participant.' } });
      }
      return json(200, eventJson(node.url));
    case 'POST /api/events/ev1/join': {
      const body = request.postDataJSON() as { invite: string; name: string };
      if (body.invite !== 'secret')
        return json(403, { error: { code: 'forbidden', message: 'Bad invite.' } });
      state.me = {
        role: 'participant',
        id: 'p-me',
        name: body.name,
        submitted: false,
        photos: 0,
        voted: false,
      };
      state.participants.push({
        id: 'p-me',
        name: body.name,
        site: 'n1',
        submitted: false,
        voted: false,
      });
      return json(200, eventJson(node.url));
    }
    case 'POST /api/events/ev1/photos': {
      state.montageVersion++;
      state.me.submitted = true;
      state.me.photos++;
      const mine = state.participants.find((p) => p.name === state.me.name);
      if (mine) mine.submitted = true;
      return json(201, eventJson(node.url));
    }
    case 'POST /api/events/ev1/votes': {
      const body = request.postDataJSON() as { montageVersion: number; decision: string };
      if (body.montageVersion !== state.montageVersion) {
        return json(409, { error: { code: 'stale_version', message: 'stale' } });
      }
      state.votes.push(body.decision);
      state.phase = body.decision === 'reject' ? 'aborted' : 'voting';
      state.deadline =
        body.decision === 'reject' ? null : new Date(Date.now() + 60_000).toISOString();
      state.me.voted = true;
      state.cast++;
      const mine = state.participants.find((p) => p.name === state.me.name);
      if (mine) mine.voted = true;
      return json(200, eventJson(node.url));
    }
    case 'GET /api/events/ev1/montage':
      return route.fulfill({ status: 200, contentType: 'image/png', body: montage });
    default:
      return json(404, { error: { code: 'not_found', message: key } });
  }
}

beforeAll(async () => {
  node = await startNode();
  montage = await makeImage({ width: 900, height: 600, seed: 7 });
  browser = await launchBrowser();
  ({ context, page } = await newPage(browser));
  await context.route(/\/api\/events(\/|$)/, answer);
});

afterAll(async () => {
  await context.close();
  await browser.close();
  await cleanup();
});

describe('event pages (events API played by the test)', () => {
  test('the events page lists events and has the form to create one', async () => {
    await page.goto(node.url);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Events' })
      .click();
    await page.getByRole('link', { name: /Summer picnic/ }).waitFor();
    await page.getByRole('button', { name: 'Create event' }).waitFor();
    await screenshots(page, 'events-list');
  });

  test('a signed-in member opening an invite finds their name filled in, still editable', async () => {
    await page.goto(`${node.url}/e/ev1?invite=secret`);
    const name = page.getByLabel('Your name');
    await expect.poll(() => name.inputValue()).toBe('admin');
    await name.fill('Ada');
    expect(await name.inputValue()).toBe('Ada');
    await page.goto(node.url);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username').waitFor();
  });

  test('an outsider without an invite is told the event is private', async () => {
    await page.goto(`${node.url}/e/ev1`);
    await page.getByRole('heading', { name: 'This event is private' }).waitFor();
  });

  test('the invite link lets a person join with a name', async () => {
    await page.goto(`${node.url}/e/ev1?invite=secret`);
    await page.getByRole('heading', { name: 'a photo event' }).waitFor();
    await screenshots(page, 'event-invite');
    await page.getByLabel('Your name').fill('Alice');
    await page.getByRole('button', { name: 'Join the event' }).click();
    await page.getByRole('heading', { name: 'Summer picnic' }).waitFor();
    // The invite has left the address bar; the participant cookie does the rest.
    expect(new URL(page.url()).search).toBe('');
    expect(state.requests).toContain('POST /api/events/ev1/join');
  });

  test('before a photo: no montage to see, no vote (the server takes only those who added one)', async () => {
    await page.getByText('Add a photo to see the montage').waitFor();
    await page.getByTestId('montage-version').getByText('version 1').waitFor();
    const people = page.getByTestId('participant');
    await expect.poll(() => people.count()).toBe(2);
    await people.filter({ hasText: 'Alice' }).getByText('(you)').waitFor();
    expect(await people.filter({ hasText: 'Bob' }).getByText('(you)').count()).toBe(0);
    await expect.poll(() => page.getByRole('button', { name: 'Reject' }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Accept' }).isDisabled()).toBe(true);
    // Why, in words (a phone shows no tooltip).
    await page
      .getByTestId('vote-blocked')
      .getByText(/Add a photo to vote/)
      .waitFor();
  });

  test('uploading a photo shows the new montage version', async () => {
    await page.getByTestId('event-file-input').setInputFiles({
      name: 'me.jpg',
      mimeType: 'image/jpeg',
      buffer: await makeImage({ format: 'jpeg', seed: 3 }),
    });
    await page.getByTestId('montage-version').getByText('version 2').waitFor();
    await page.getByRole('img', { name: /Montage of “Summer picnic”, version 2/ }).waitFor();
    // Now accepting starts the vote; rejecting waits for it.
    expect(await page.getByRole('button', { name: 'Accept' }).isEnabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Reject' }).isDisabled()).toBe(true);
    await screenshots(page, 'event-collecting');
  });

  test('accepting starts the vote: countdown, who has voted, buttons off', async () => {
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.getByTestId('phase').getByText('Voting').waitFor();
    const countdown = page.getByTestId('countdown');
    await countdown.waitFor();
    expect(await countdown.textContent()).toMatch(/^[01]:\d\d$/);
    await page.getByText('1 of 2 votes known at this site.').waitFor();
    await page.getByTestId('participant').filter({ hasText: 'Alice' }).getByText('voted').waitFor();
    expect(await page.getByRole('button', { name: 'Accept' }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Reject' }).isDisabled()).toBe(true);
    // Uploads are closed while voting.
    expect(await page.getByTestId('event-file-input').isDisabled()).toBe(true);
    await screenshots(page, 'event-voting');
  });

  test('Reject asks first (it ends the round for everyone): Cancel changes nothing, Reject rejects', async () => {
    // Another's vote is awaited: this person's own is not cast yet.
    state.me.voted = false;
    await page.reload();
    const reject = page.getByRole('button', { name: 'Reject' });
    await expect.poll(() => reject.isEnabled()).toBe(true);
    await reject.click();
    const dialog = page.getByRole('dialog', { name: 'Reject version 2?' });
    await dialog.getByText(/ends this round for everyone: the montage is not published/).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(state.votes).toEqual(['accept']);
    await page.getByTestId('phase').getByText('Voting').waitFor();
    await reject.click();
    await dialog.getByRole('button', { name: 'Reject' }).click();
    await page.getByTestId('phase').getByText('Round aborted').waitFor();
    expect(state.votes).toEqual(['accept', 'reject']);
  });

  test('the published montage has a public page', async () => {
    state.phase = 'published';
    state.deadline = null;
    // Alice joined without an account: no "All events" for her, it led to a sign-in form.
    await page.reload();
    await page.getByText('Published', { exact: true }).waitFor();
    await page.getByRole('link', { name: 'Download the montage' }).waitFor();
    expect(await page.getByRole('link', { name: 'All events' }).count()).toBe(0);
    const visitor = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    await visitor.route(/\/api\/events(\/|$)/, async (route) => {
      state.me = {
        role: 'visitor',
        id: null,
        name: null,
        submitted: false,
        photos: 0,
        voted: false,
      };
      await answer(route);
    });
    const anyone = await visitor.newPage();
    await anyone.goto(`${node.url}/e/ev1`);
    await anyone.getByText('Published', { exact: true }).waitFor();
    await anyone.getByRole('img', { name: 'Montage of “Summer picnic”' }).waitFor();
    // The montage to keep: a download named by the event's title.
    const [download] = await Promise.all([
      anyone.waitForEvent('download'),
      anyone.getByRole('link', { name: 'Download the montage' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('Summer picnic.jpg');
    expect(await anyone.getByRole('link', { name: 'All events' }).count()).toBe(0);
    await screenshots(anyone, 'event-published');
    await visitor.close();
  });
});
