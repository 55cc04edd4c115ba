/**
 * An upload lasts only as long as its caller may sign in. The node used to check the caller once,
 * when the request came in: bytes already being sent kept arriving after the account was
 * disabled (at this node or another) or signed out, and the upload's end made the picture as
 * that account. Now:
 *
 * - the end of an upload (tus's last PATCH, a multipart POST) asks for its caller again just
 *   before the picture is committed, and refuses with 401 in the error shape: no picture;
 * - a PATCH sent after the loss of access is refused by the auth hook like any request;
 * - a PATCH in flight is cut as soon as the node hears of the loss (in-flight.ts), and the
 *   upload stays its account's, to finish once it may sign in again.
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { addUsersAt, TestCluster, type ClusterNode } from '../helpers/cluster.js';
import { follow, type Answer } from '../helpers/held-answer.js';
import {
  api,
  canLogin,
  cleanup,
  login,
  makeImage,
  waitFor,
  type Api,
  type ErrorBody,
  type Picture,
  userCommand,
} from '../helpers/node-process.js';
import { createUpload, openPatch, patchUpload, TUS, uploadOffset } from '../helpers/tus.js';

let cluster: TestCluster;
let n1: ClusterNode;
let n2: ClusterNode;
const PASSWORD = 'upload-password-1';
const USERS = ['bob', 'carol', 'dave', 'erin'];

beforeAll(async () => {
  cluster = new TestCluster({ syncIntervalMs: 300 });
  [n1, n2] = (await cluster.startAll(2)) as [ClusterNode, ClusterNode];
  await addUsersAt(n1, n2, USERS, PASSWORD);
});

afterAll(cleanup);

const idOf = (file: Buffer) => createHash('sha256').update(file).digest('hex');

/** Whether a picture of these bytes exists at node 1 (asked as the admin). */
async function pictureOf(file: Buffer): Promise<Picture | null> {
  const found = await (await n1.api()).get<Picture>(`/api/pictures/${idOf(file)}`);
  return found.status === 200 ? found.body : null;
}

/** The admin at node 2 disables or enables `user`; resolves once node 1 agrees. */
async function setDisabled(user: string, disabled: boolean): Promise<void> {
  const changed = await (await n2.api()).patch(`/api/users/${user}`, { disabled });
  expect(changed.status).toBe(200);
  await waitFor(async () => (await canLogin(n1.node.url, user, PASSWORD)) === !disabled, {
    what: `${user} ${disabled ? 'disabled' : 'enabled'} at node 1`,
    timeoutMs: 20_000,
    intervalMs: 200,
  });
}

/**
 * Waits until bytes of a request's body are in a file under node 1's `dir` (`name`, or any):
 * the request was let in and is being received.
 */
async function arriving(dir: string, name?: string): Promise<void> {
  const at = join(n1.node.dataDir, dir);
  await waitFor(
    async () => {
      for (const file of name === undefined ? await readdir(at) : [name]) {
        if (((await stat(join(at, file)).catch(() => null))?.size ?? 0) > 0) return true;
      }
      return false;
    },
    { what: `bytes arriving in ${at}` },
  );
}

async function newUpload(client: Api, file: Buffer, title: string): Promise<string> {
  const created = await createUpload(client, file.length, { filename: `${title}.png`, title });
  expect(created.status, await created.clone().text()).toBe(201);
  return created.headers.get('location') ?? '';
}

function expectAccessEnded(answer: Answer): void {
  if (answer === 'cut') throw new Error('the upload was cut, not answered');
  const { status, body } = answer;
  expect(status, body).toBe(401);
  const { error } = JSON.parse(body) as ErrorBody;
  expect(error.code).toBe('unauthorized');
  expect(error.message).toContain('access ended');
}

describe('an upload whose caller loses access while it is sent', () => {
  test('the last tus PATCH after an unannounced disable makes no picture; enabled again, it is theirs to finish', async () => {
    const cookie = await login(n1.node.url, 'bob', PASSWORD);
    const bob = api(n1.node.url, cookie);
    const file = await makeImage({ width: 300, height: 200, seed: 611 });
    const location = await newUpload(bob, file, 'signed-out');
    const half = Math.floor(file.length / 2);
    const patch = openPatch(n1.node.url, location, cookie, file.length, file.subarray(0, half));
    const held = follow(patch);
    await arriving('tus', location.split('/').pop());

    // Disabled on the node's data by another process: nothing tells the node before its 25 s
    // round (a sign-out here now cuts the PATCH at once: in-flight-access.test.ts); the
    // upload's end asks for the caller again.
    await userCommand(n1.node.dataDir, ['access', 'bob', '--disable']);
    patch.end(file.subarray(half));
    expectAccessEnded(await held.answer);
    expect(await pictureOf(file)).toBeNull();

    // The upload was not removed: enabled and signed in again, bob's HEAD finds it whole and
    // makes it.
    await userCommand(n1.node.dataDir, ['access', 'bob', '--enable']);
    const again = api(n1.node.url, await login(n1.node.url, 'bob', PASSWORD));
    const head = await again.fetch(location, { method: 'HEAD', headers: TUS });
    expect(head.status).toBe(200);
    expect(head.headers.get('mosaic-picture-id')).toBe(idOf(file));
    expect(await pictureOf(file)).toMatchObject({ owner: 'bob', title: 'signed-out' });
  });

  test('a multipart upload finished after an unannounced disable makes no picture', async () => {
    const cookie = await login(n1.node.url, 'carol', PASSWORD);
    const file = await makeImage({ width: 300, height: 200, seed: 612 });
    const boundary = 'mosaic-upload-access';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nsigned-out\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n` +
        'Content-Type: image/png\r\n\r\n',
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const post = httpRequest(new URL('/api/pictures', n1.node.url), {
      method: 'POST',
      headers: {
        cookie,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(head.length + file.length + tail.length),
      },
    });
    const held = follow(post);
    const half = Math.floor(file.length / 2);
    post.write(Buffer.concat([head, file.subarray(0, half)]));
    await arriving('tmp');

    await userCommand(n1.node.dataDir, ['access', 'carol', '--disable']);
    post.end(Buffer.concat([file.subarray(half), tail]));
    expectAccessEnded(await held.answer);
    expect(await pictureOf(file)).toBeNull();
  });

  test('a PATCH sent after the account was disabled at the other node is refused', async () => {
    const cookie = await login(n1.node.url, 'dave', PASSWORD);
    const dave = api(n1.node.url, cookie);
    const file = await makeImage({ width: 300, height: 200, seed: 613 });
    const location = await newUpload(dave, file, 'late');
    await setDisabled('dave', true);

    const patch = await patchUpload(dave, location, 0, file);
    expect(patch.status).toBe(401);
    expect(await patch.json()).toMatchObject({ error: { code: 'unauthorized' } });
    expect((await dave.fetch(location, { method: 'HEAD', headers: TUS })).status).toBe(401);
    expect(await pictureOf(file)).toBeNull();
    await setDisabled('dave', false);
  });

  test('a PATCH in flight when the account is disabled at the other node is cut; enabled again, it resumes', async () => {
    const cookie = await login(n1.node.url, 'erin', PASSWORD);
    const erin = api(n1.node.url, cookie);
    const file = await makeImage({ width: 300, height: 200, seed: 614 });
    const location = await newUpload(erin, file, 'cut');
    const half = Math.floor(file.length / 2);
    const held = follow(
      openPatch(n1.node.url, location, cookie, file.length, file.subarray(0, half)),
    );

    await setDisabled('erin', true);
    const answer = await waitFor(() => held.ended(), {
      what: 'the PATCH in flight to be cut',
      timeoutMs: 20_000,
    });
    expect(answer).toBe('cut');
    expect(await pictureOf(file)).toBeNull();

    // Nothing was lost: what arrived before the cut is kept, and erin finishes it.
    await setDisabled('erin', false);
    const back = api(n1.node.url, await login(n1.node.url, 'erin', PASSWORD));
    const offset = (await uploadOffset(back, location)) ?? -1;
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(offset).toBeLessThanOrEqual(half);
    const done = await patchUpload(back, location, offset, file.subarray(offset));
    expect(done.status, await done.clone().text()).toBe(204);
    expect(await pictureOf(file)).toMatchObject({ owner: 'erin', title: 'cut' });
  });
});
