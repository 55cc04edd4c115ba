/**
 * The upload queue in a real browser against a real node: it outlives the Upload page (the
 * waiting files are still sent after going to the Gallery and back), an upload that has
 * started can be cancelled, an upload cut off by the browser going offline waits and resumes
 * when the connection is back, signing out drops it, and a damaged picture is told from a file
 * of another type.
 * The PATCH requests (the bytes) are held back by the page's router to keep uploads in flight.
 * Tests run in order and share the node and the browser.
 */
import type { Browser, BrowserContext, Page, Response, Route } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { launchBrowser, newPage, signIn } from '../helpers/browser.js';
import { TestCluster, allPictures, type ClusterNode } from '../helpers/cluster.js';
import { cleanup, makeImage } from '../helpers/node-process.js';

let cluster: TestCluster;
let node: ClusterNode;
let browser: Browser;
let context: BrowserContext;
let page: Page;

/** While true, the uploads' PATCH requests wait in `held` until released. */
let holding = false;
let held: Route[] = [];
/** The tus requests the node answered, by method (POST creates an upload, HEAD asks its offset). */
let tusAnswered: string[] = [];

beforeAll(async () => {
  cluster = new TestCluster();
  const [first] = await cluster.startAll(1);
  if (!first) throw new Error('a node expected');
  node = first;
  browser = await launchBrowser();
  ({ context, page } = await newPage(browser));
  page.on('response', (response: Response) => {
    if (new URL(response.url()).pathname.startsWith('/api/uploads/tus')) {
      tusAnswered.push(response.request().method());
    }
  });
  await page.route(
    (url) => url.pathname.startsWith('/api/uploads/tus/'),
    async (route) => {
      if (holding && route.request().method() === 'PATCH') held.push(route);
      else await route.continue().catch(() => undefined);
    },
  );
  // A reload while uploads are pending asks first (the test wants it to go on).
  page.on('dialog', (dialog) => void dialog.accept());
  await signIn(page, node.node.url);
});

// Each test from a freshly loaded Upload page: one's leftovers do not fail the next.
beforeEach(async () => {
  await context.setOffline(false);
  await release('continue');
  await page.goto(`${node.node.url}/upload`);
  await page.getByRole('heading', { name: 'Upload', exact: true }).waitFor();
});

afterAll(async () => {
  await context.close();
  await browser.close();
  await cleanup();
});

/** Lets the held requests go: on to the node, or failed as by a lost connection. */
async function release(how: 'continue' | 'cut'): Promise<void> {
  holding = false;
  const routes = held;
  held = [];
  for (const route of routes) {
    // A request the page itself aborted (cancelled) cannot be continued: nothing to do.
    await (how === 'continue' ? route.continue() : route.abort('internetdisconnected')).catch(
      () => undefined,
    );
  }
}

const rows = () => page.getByTestId('upload-row');
const row = (file: string) => rows().filter({ hasText: file });
const tab = (name: string) =>
  page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });
const pictureCount = async () => (await allPictures(await node.api())).length;
const jpeg = async (name: string, seed: number) => ({
  name,
  mimeType: 'image/jpeg',
  buffer: await makeImage({ seed, width: 200, height: 150, format: 'jpeg' }),
});

/** Whether leaving the page now would make the browser ask first (a beforeunload listener). */
const guardsLeaving = () =>
  page.evaluate(`(() => {
    const event = new Event('beforeunload', { cancelable: true });
    window.dispatchEvent(event);
    return event.defaultPrevented;
  })()`);

async function openUpload(): Promise<void> {
  await tab('Upload').click();
  await page.getByRole('heading', { name: 'Upload', exact: true }).waitFor();
}

describe('the upload queue', () => {
  test('outlives the Upload page: back from the Gallery, the same rows, and the waiting file is sent', async () => {
    expect(await guardsLeaving()).toBe(false);
    const before = await pictureCount();
    holding = true;
    await page
      .getByTestId('file-input')
      .setInputFiles([
        await jpeg('one.jpg', 101),
        await jpeg('two.jpg', 102),
        await jpeg('three.jpg', 103),
      ]);
    await page.getByRole('button', { name: 'Upload 3 pictures' }).click();
    // Two in flight (held), the third waiting its turn.
    await expect.poll(() => held.length).toBe(2);
    await row('three.jpg').getByText('Ready', { exact: true }).waitFor();
    expect(await guardsLeaving()).toBe(true);

    await tab('Gallery').click();
    await page.getByRole('heading', { name: 'Gallery' }).waitFor();
    await openUpload();
    await expect.poll(() => rows().count()).toBe(3);
    await row('one.jpg')
      .getByText(/^Uploading/)
      .waitFor();

    await release('continue');
    for (const file of ['one.jpg', 'two.jpg', 'three.jpg']) {
      await row(file).getByText('Uploaded', { exact: true }).waitFor();
    }
    expect(await pictureCount()).toBe(before + 3);
    expect(await guardsLeaving()).toBe(false);
    await page.getByRole('button', { name: 'Clear finished' }).click();
    await expect.poll(() => rows().count()).toBe(0);
  });

  test('an upload that has started can be cancelled: the node drops it, no picture', async () => {
    const before = await pictureCount();
    holding = true;
    await page.getByTestId('file-input').setInputFiles([await jpeg('mistake.jpg', 111)]);
    await page.getByRole('button', { name: 'Upload 1 picture' }).click();
    await expect.poll(() => held.length).toBe(1);
    // Nothing to remove while it is being sent; it can be cancelled.
    expect(await page.getByRole('button', { name: 'Remove mistake.jpg' }).count()).toBe(0);
    const dropped = page.waitForResponse(
      (response) =>
        response.request().method() === 'DELETE' &&
        new URL(response.url()).pathname.startsWith('/api/uploads/tus/'),
    );
    dropped.catch(() => undefined); // awaited below; not an unhandled rejection if a step fails
    await page.getByRole('button', { name: 'Cancel mistake.jpg' }).click();
    await row('mistake.jpg').getByText('Cancelled', { exact: true }).waitFor();
    expect((await dropped).status()).toBe(204);
    await release('continue');
    expect(await pictureCount()).toBe(before);
    await page.getByRole('button', { name: 'Remove mistake.jpg' }).click();
    await expect.poll(() => rows().count()).toBe(0);
  });

  test('cut off by the browser going offline, uploads wait for the connection and resume', async () => {
    const before = await pictureCount();
    holding = true;
    await page
      .getByTestId('file-input')
      .setInputFiles([
        await jpeg('bus-1.jpg', 121),
        await jpeg('bus-2.jpg', 122),
        await jpeg('bus-3.jpg', 123),
      ]);
    await page.getByRole('button', { name: 'Upload 3 pictures' }).click();
    await expect.poll(() => held.length).toBe(2);
    tusAnswered = [];
    await context.setOffline(true);
    await release('cut');
    // The two cut off and the one that could not start: none failed, all wait.
    for (const file of ['bus-1.jpg', 'bus-2.jpg', 'bus-3.jpg']) {
      await row(file).getByText('Waiting for the connection…', { exact: true }).waitFor();
    }
    expect(await page.getByText('Failed', { exact: true }).count()).toBe(0);

    await context.setOffline(false);
    for (const file of ['bus-1.jpg', 'bus-2.jpg', 'bus-3.jpg']) {
      await row(file).getByText('Uploaded', { exact: true }).waitFor();
    }
    expect(await pictureCount()).toBe(before + 3);
    // The two cut off asked the node where they stopped (HEAD) rather than starting over: one
    // new upload (POST) since, for the file that had not started.
    expect(tusAnswered.filter((m) => m === 'HEAD')).toHaveLength(2);
    expect(tusAnswered.filter((m) => m === 'POST')).toHaveLength(1);
    await page.getByRole('button', { name: 'Clear finished' }).click();
  });

  test('signing out drops the queue: nothing picked is sent afterwards, under anyone', async () => {
    const before = await pictureCount();
    holding = true;
    await page
      .getByTestId('file-input')
      .setInputFiles([
        await jpeg('left-1.jpg', 141),
        await jpeg('left-2.jpg', 142),
        await jpeg('left-3.jpg', 143),
      ]);
    await page.getByRole('button', { name: 'Upload 3 pictures' }).click();
    await expect.poll(() => held.length).toBe(2);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username').waitFor();
    await release('continue');
    await signIn(page, node.node.url);
    await openUpload();
    expect(await rows().count()).toBe(0);
    // The waiting one was never sent and the two in flight were aborted: no picture came of
    // them (checked after the node answered the released requests).
    await page.getByTestId('file-input').setInputFiles([await jpeg('after.jpg', 144)]);
    await page.getByRole('button', { name: 'Upload 1 picture' }).click();
    await row('after.jpg').getByText('Uploaded', { exact: true }).waitFor();
    expect(await pictureCount()).toBe(before + 1);
    await page.getByRole('button', { name: 'Clear finished' }).click();
  });

  test('an upload the node stops answering says so instead of a frozen percentage, and goes on', async () => {
    // A page of its own with Playwright's clock, to move time on rather than wait 15 s.
    const own = await newPage(browser);
    try {
      const p = own.page;
      await p.clock.install();
      let stuck: Route | null = null;
      await p.route(
        (url) => url.pathname.startsWith('/api/uploads/tus/'),
        async (route) => {
          if (route.request().method() === 'PATCH' && stuck === null) stuck = route;
          else await route.continue();
        },
      );
      await signIn(p, node.node.url);
      await p.goto(`${node.node.url}/upload`);
      await p.getByTestId('file-input').setInputFiles([await jpeg('frozen.jpg', 151)]);
      await p.getByRole('button', { name: 'Upload 1 picture' }).click();
      await expect.poll(() => stuck !== null).toBe(true);
      const frozen = p.getByTestId('upload-row').filter({ hasText: 'frozen.jpg' });
      await frozen.getByText('Uploading 0%').waitFor();
      await p.clock.fastForward(16_000);
      await frozen.getByText('Waiting for the server… (0%)').waitFor();
      await frozen.getByText('the upload goes on when it does').waitFor();
      await (stuck as Route | null)?.continue();
      await frozen.getByText('Uploaded', { exact: true }).waitFor();
      expect(await frozen.getByText('Waiting for the server').count()).toBe(0);
    } finally {
      await own.context.close();
    }
  });

  test('a damaged JPEG is told from a file that is not an image, and the summary agrees with the rows', async () => {
    const good = await makeImage({ seed: 131, width: 200, height: 150, format: 'jpeg' });
    await page.getByTestId('file-input').setInputFiles([
      { name: 'good.jpg', mimeType: 'image/jpeg', buffer: good },
      // Cut in its header (the node cannot read its size), and cut in its pixels.
      { name: 'broken_photo.jpg', mimeType: 'image/jpeg', buffer: good.subarray(0, 300) },
      { name: 'cut_short.jpg', mimeType: 'image/jpeg', buffer: good.subarray(0, good.length / 2) },
      {
        name: 'notes.jpg',
        mimeType: 'image/jpeg',
        buffer: Buffer.from('a text named like a JPEG'),
      },
    ]);
    await page.getByRole('button', { name: 'Upload 4 pictures' }).click();
    await row('good.jpg').getByText('Uploaded', { exact: true }).waitFor();
    await row('broken_photo.jpg')
      .getByText('This file is damaged or is not a picture Mosaic can read.')
      .waitFor();
    // Refused, not failed: sending it again would not help.
    await row('cut_short.jpg').getByText('Refused', { exact: true }).waitFor();
    await row('cut_short.jpg')
      .getByText('The image could not be decoded (truncated or corrupt).')
      .waitFor();
    await row('notes.jpg')
      .getByText(/^The file is not an image Mosaic can read/)
      .waitFor();
    await page.getByText('1 uploaded, 3 could not be used · 4 in all').waitFor();
    await page.getByRole('button', { name: 'Done: 3 not uploaded' }).waitFor();
    expect(await page.getByRole('button', { name: 'All sent' }).count()).toBe(0);
  });
});
