/**
 * Requests already in flight end when their caller loses access. A download already streaming
 * went on streaming, and a device's long poll (≤ 30 s) went on waiting and answered, after the
 * account was disabled at another node, its token revoked there, or its token expired: the
 * caller was checked once, when the request came in. Now the node keeps its in-flight requests
 * by credential (src/http/in-flight.ts) and checks them again when such an operation arrives or
 * a token expires: a download is cut, a long poll answers 401 in the error shape.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { deviceIdFor } from '../../src/devices/core/device-id.js';
import { addUsersAt, TestCluster, type ClusterNode } from '../helpers/cluster.js';
import { follow } from '../helpers/held-answer.js';
import {
  ADMIN_PASSWORD,
  api,
  cleanup,
  login,
  makeImage,
  makeTempDir,
  waitFor,
  type Api,
  type ApiResponse,
  type ErrorBody,
  type LogLine,
  type Picture,
} from '../helpers/node-process.js';

const FOLDER = 'shared';
const PASSWORD = 'in-flight-password-1';
const USERS = ['gina', 'hal', 'ivy', 'jo'];

let cluster: TestCluster;
let n1: ClusterNode;
let n2: ClusterNode;

beforeAll(async () => {
  const roots: string[] = [];
  for (let i = 0; i < 2; i++) {
    const root = join(await makeTempDir(`mosaic-in-flight-n${i + 1}-`), FOLDER);
    await mkdir(root);
    roots.push(root);
  }
  cluster = new TestCluster({
    syncIntervalMs: 300,
    folders: roots,
    extraArgs: USERS.flatMap((user) => ['--folder-user', `${FOLDER}=${user}`]),
  });
  [n1, n2] = (await cluster.startAll(2)) as [ClusterNode, ClusterNode];
  await addUsersAt(n1, n2, USERS, PASSWORD);
});

afterAll(cleanup);

const CUT = 'request cut: its caller lost access';

/** A download of picture `id` at node 1 that reads its first bytes, then stops reading. */
function slowDownload(id: string, cookie: string) {
  const req = httpRequest(new URL(`/api/pictures/${id}/file`, n1.node.url), {
    headers: { cookie },
  });
  req.end();
  return follow(req, { pause: true });
}

/** `user`'s device registered for the folder at node 1, and the cursor of its first pull. */
async function device(client: Api, user: string) {
  const nonce = createHash('sha256').update(user).digest('hex').slice(0, 32);
  const id = deviceIdFor(user, nonce);
  const registered = await client.post(`/api/folders/${FOLDER}/devices`, {
    deviceId: id,
    name: `${user}-laptop`,
    nonce,
  });
  expect(registered.status, JSON.stringify(registered.body)).toBe(200);
  const first = await client.post<{ cursor: Record<string, number> }>(pullPath(id), {
    cursor: {},
    limit: 100,
  });
  expect(first.status).toBe(200);
  return { id, cursor: first.body.cursor };
}

const pullPath = (id: string) => `/api/folders/${FOLDER}/devices/${id}/pull`;

/** A long poll (30 s) of the device, seen arriving at node 1; `answer()` once it answered. */
async function longPoll(client: Api, id: string, cursor: Record<string, number>) {
  const isPull = (line: LogLine) =>
    line.msg === 'incoming request' && (line['req'] as { url?: string }).url === pullPath(id);
  const before = n1.node.logs.filter(isPull).length;
  let answered: ApiResponse | undefined;
  // (Rejected only when the nodes stop at the end, before it answered: a failed test then.)
  client.post(pullPath(id), { cursor, limit: 100, waitMs: 30_000 }).then(
    (res) => (answered = res),
    () => undefined,
  );
  await waitFor(() => n1.node.logs.filter(isPull).length > before, { what: 'the long poll' });
  return () => answered;
}

function expectAccessEnded(res: ApiResponse): void {
  expect(res.status).toBe(401);
  const { error } = res.body as ErrorBody;
  expect(error.code).toBe('unauthorized');
  expect(error.message).toContain('access ended');
}

describe('requests in flight when their caller loses access', () => {
  test('a download is cut when the account is disabled at the other node; others go on', async () => {
    // Far more than the connection holds, so that the download waits on its slow reader.
    const file = await makeImage({ width: 3000, height: 3000, seed: 721 });
    const up = await (await n1.api()).upload<Picture>({ file, fields: { title: 'big' } });
    expect(up.status).toBe(201);
    const ginas = slowDownload(up.body.id, await login(n1.node.url, 'gina', PASSWORD));
    const admins = slowDownload(up.body.id, await login(n1.node.url, 'admin', ADMIN_PASSWORD));
    await waitFor(() => ginas.received() > 0 && admins.received() > 0, {
      what: 'both downloads under way',
    });

    expect((await (await n2.api()).patch('/api/users/gina', { disabled: true })).status).toBe(200);
    await n1.node.waitForLog((line) => line.msg === CUT && line['username'] === 'gina', 20_000);
    ginas.resume();
    admins.resume();
    expect(await ginas.answer).toBe('cut');
    expect(ginas.received()).toBeLessThan(file.length);
    expect(await admins.answer).toMatchObject({ status: 200 });
    expect(admins.received()).toBe(file.length);
  });

  test('a download is cut when its session signs out, at once (no operation says so)', async () => {
    const file = await makeImage({ width: 3000, height: 3000, seed: 722 });
    const up = await (await n1.api()).upload<Picture>({ file, fields: { title: 'big too' } });
    expect(up.status).toBe(201);
    const cookie = await login(n1.node.url, 'jo', PASSWORD);
    const jos = slowDownload(up.body.id, cookie);
    await waitFor(() => jos.received() > 0, { what: 'the download under way' });

    expect((await api(n1.node.url, cookie).post('/api/auth/logout', {})).status).toBe(204);
    // Well before the unasked round (25 s after the download began).
    await n1.node.waitForLog((line) => line.msg === CUT && line['username'] === 'jo', 10_000);
    jos.resume();
    expect(await jos.answer).toBe('cut');
    expect(jos.received()).toBeLessThan(file.length);
  });

  test("a device's long poll answers 401 when its token is revoked at the other node", async () => {
    const session = await login(n1.node.url, 'hal', PASSWORD);
    const made = await api(n1.node.url, session).post<{ token: string; id: string }>(
      '/api/tokens',
      { name: 'laptop' },
    );
    expect(made.status).toBe(201);
    const hal = api(n1.node.url, { token: made.body.token });
    const { id, cursor } = await device(hal, 'hal');
    const answer = await longPoll(hal, id, cursor);

    const admin2 = await n2.api();
    await waitFor(
      async () =>
        (await admin2.get<{ items: { id: string }[] }>('/api/tokens?user=hal')).body.items.some(
          (t) => t.id === made.body.id,
        ),
      { what: "hal's token at node 2", timeoutMs: 20_000 },
    );
    expect((await admin2.delete(`/api/tokens/${made.body.id}`)).status).toBe(204);
    expectAccessEnded(
      await waitFor(answer, { what: 'the long poll to answer', timeoutMs: 20_000 }),
    );
  });

  test("a device's long poll answers 401 when its token expires", async () => {
    const session = await login(n1.node.url, 'ivy', PASSWORD);
    const expiresAt = new Date(Date.now() + 8_000).toISOString();
    const made = await api(n1.node.url, session).post<{ token: string }>('/api/tokens', {
      name: 'short',
      expiresAt,
    });
    expect(made.status).toBe(201);
    const ivy = api(n1.node.url, { token: made.body.token });
    const { id, cursor } = await device(ivy, 'ivy');
    const answer = await longPoll(ivy, id, cursor);
    expectAccessEnded(
      await waitFor(answer, { what: 'the long poll to answer', timeoutMs: 20_000 }),
    );
  });
});
