/**
 * Uploading the bytes of another account's deleted picture. A picture's id is its bytes' hash,
 * and any account may download any picture: bob could keep alice's bytes, and when she deleted
 * the picture, upload them again. That `picture.create`, ordered after her delete, brought her
 * picture back out of the trash with bob's title and description (owner still alice) at every
 * node: the restore (403 for him) and the edit (403 for him) by another door. Now refused; the
 * owner and admins upload as before.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { setFaults, TestCluster } from '../helpers/cluster.js';
import {
  ADMIN_PASSWORD,
  addUser,
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

let node: NodeProcess;
let alice: Api;
let bob: Api;
let admin: Api;

beforeAll(async () => {
  node = await startNode();
  await addUser(node.dataDir, 'alice', 'alice-password-1');
  await addUser(node.dataDir, 'bob', 'bob-password-1');
  alice = api(node.url, await login(node.url, 'alice', 'alice-password-1'));
  bob = api(node.url, await login(node.url, 'bob', 'bob-password-1'));
  admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
});

afterAll(cleanup);

interface TrashPage {
  items: { id: string; title: string; owner: string }[];
}

describe("the bytes of another account's picture", () => {
  test('while it is visible: the upload answers 200 with that picture, unchanged', async () => {
    const file = await makeImage({ seed: 401 });
    const up = await alice.upload<Picture>({ file, fields: { title: 'Alice at home' } });
    expect(up.status).toBe(201);
    const again = await bob.upload<Picture>({ file, fields: { title: "bob's" } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ owner: 'alice', title: 'Alice at home' });
  });

  test('once deleted: refused to another account, the picture stays in the trash as it was', async () => {
    const file = await makeImage({ seed: 402 });
    const up = await alice.upload<Picture>({
      file,
      fields: { title: 'Anna, private', desc: 'not for everyone' },
    });
    expect(up.status).toBe(201);
    const id = up.body.id;
    expect((await alice.delete(`/api/pictures/${id}`)).status).toBe(204);
    expect((await bob.post(`/api/trash/${id}/restore`)).status).toBe(403);

    const sneaky = await bob.upload({ file, fields: { title: 'public now', desc: 'by bob' } });
    expect(sneaky.status).toBe(403);
    expect(sneaky.body).toMatchObject({ error: { code: 'forbidden' } });
    expect((await bob.get(`/api/pictures/${id}`)).status).toBe(404);
    const trash = await alice.get<TrashPage>('/api/trash');
    expect(trash.body.items.find((t) => t.id === id)).toMatchObject({
      title: 'Anna, private',
      owner: 'alice',
    });

    // Its owner brings it back by uploading it again, as before; an admin may too.
    const back = await alice.upload<Picture>({ file, fields: { title: 'Anna, again' } });
    expect(back.status).toBe(201);
    expect(back.body).toMatchObject({ id, owner: 'alice', title: 'Anna, again' });
    expect((await alice.delete(`/api/pictures/${id}`)).status).toBe(204);
    const byAdmin = await admin.upload<Picture>({ file, fields: { title: 'kept' } });
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body).toMatchObject({ id, owner: 'alice', title: 'kept' });
  });
});

describe('the bytes of a picture still arriving at a node', () => {
  test('are refused there to another account (409), which would have set its fields', async () => {
    const cluster = new TestCluster({ syncIntervalMs: 300 });
    const [n1, n2] = await cluster.startAll(2);
    if (!n1 || !n2) throw new Error('two nodes expected');
    await addUser(n1.node.dataDir, 'carol', 'carol-password-1');
    await addUser(n1.node.dataDir, 'dave', 'dave-password-1');
    const carol = api(n1.node.url, await login(n1.node.url, 'carol', 'carol-password-1'));
    const daveAt2 = await waitFor(
      async () => {
        const res = await api(n2.node.url).post('/api/auth/login', {
          username: 'dave',
          password: 'dave-password-1',
        });
        const cookie = res.headers.getSetCookie().find((c) => c.startsWith('mosaic_session='));
        return cookie === undefined ? undefined : api(n2.node.url, cookie.split(';')[0] ?? '');
      },
      { what: 'dave at node 2', timeoutMs: 20_000 },
    );
    // Node 1 serves bytes at 1 KB/s: node 2 learns of the picture long before it has them.
    await setFaults(n1, { throttleBlobKBps: 1 });
    const stream = await daveAt2.fetch('/api/stream');
    const reader = (stream.body ?? expect.unreachable()).pipeThrough(new TextDecoderStream());
    const file = await makeImage({ width: 200, height: 150, seed: 403 });
    expect(file.length).toBeGreaterThan(20_000);
    const up = await carol.upload<Picture>({ file, fields: { title: "Carol's" } });
    expect(up.status).toBe(201);
    let heard = '';
    for await (const chunk of reader) {
      heard += chunk;
      if (heard.includes(up.body.id)) break;
    }
    expect((await daveAt2.get(`/api/pictures/${up.body.id}`)).status).toBe(404);

    const over = await daveAt2.upload({ file, fields: { title: "dave's now" } });
    expect(over.status).toBe(409);
    expect(over.body).toMatchObject({ error: { code: 'conflict' } });
    expect((await carol.get<Picture>(`/api/pictures/${up.body.id}`)).body.title).toBe("Carol's");
  });
});
