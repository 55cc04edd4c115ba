/**
 * The live feed (`GET /api/stream`) lasts only as long as its caller may sign in. It used to go
 * on telling a caller which pictures and albums changed for as long as the connection stayed
 * open: after the account was disabled (at any node), its token revoked, or its password
 * changed. Now a stream checks its caller again when such an operation arrives (and at each
 * heartbeat), and ends.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TestCluster, type ClusterNode } from '../helpers/cluster.js';
import {
  addUser,
  api,
  cleanup,
  login,
  makeImage,
  waitFor,
  type Api,
} from '../helpers/node-process.js';

let cluster: TestCluster;
let n1: ClusterNode;
let n2: ClusterNode;

beforeAll(async () => {
  cluster = new TestCluster({ syncIntervalMs: 300 });
  [n1, n2] = (await cluster.startAll(2)) as [ClusterNode, ClusterNode];
  await addUser(n1.node.dataDir, 'alice', 'alice-password-1');
  await addUser(n1.node.dataDir, 'bob', 'bob-password-1');
  await waitFor(
    async () => (await api(n2.node.url).post('/api/auth/login', bobLogin)).status === 200,
    {
      what: 'bob at node 2',
      timeoutMs: 20_000,
    },
  );
});

afterAll(cleanup);

const bobLogin = { username: 'bob', password: 'bob-password-1' };

/** An open event stream: what it said so far, and whether the node ended it. */
async function openStream(client: Api) {
  const res = await client.fetch('/api/stream');
  expect(res.status).toBe(200);
  if (!res.body) throw new Error('no body');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const state = { text: '', ended: false };
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      state.text += value;
    }
  })()
    .catch(() => undefined) // the connection cut as the nodes stop
    .finally(() => (state.ended = true));
  await waitFor(() => state.text.includes(': subscribed'), { what: 'the stream to open' });
  return { state, cancel: () => reader.cancel() };
}

describe('the live feed of a caller who lost access', () => {
  test('ends when the account is disabled at the other node; others keep theirs', async () => {
    const admin2 = await n2.api();
    const alice = api(n1.node.url, await login(n1.node.url, 'alice', 'alice-password-1'));
    const bob = api(n1.node.url, await login(n1.node.url, 'bob', 'bob-password-1'));
    const bobs = await openStream(bob);
    const alices = await openStream(alice);

    expect((await admin2.patch('/api/users/bob', { disabled: true })).status).toBe(200);
    await waitFor(() => bobs.state.ended, { what: "bob's stream to end", timeoutMs: 20_000 });

    const up = await alice.upload<{ id: string }>({
      file: await makeImage({ seed: 301 }),
      fields: { title: 'after' },
    });
    expect(up.status).toBe(201);
    await waitFor(() => alices.state.text.includes(up.body.id), { what: "alice's message" });
    expect(alices.state.ended).toBe(false);
    expect(bobs.state.text).not.toContain(up.body.id);
    await alices.cancel();
    expect((await admin2.patch('/api/users/bob', { disabled: false })).status).toBe(200);
  });

  test('ends when its token is revoked, and when the password changes', async () => {
    await waitFor(
      async () => (await api(n1.node.url).post('/api/auth/login', bobLogin)).status === 200,
      {
        what: 'bob enabled again at node 1',
        timeoutMs: 20_000,
      },
    );
    const bob = api(n1.node.url, await login(n1.node.url, 'bob', 'bob-password-1'));
    const made = await bob.post<{ token: string; id: string }>('/api/tokens', { name: 'feed' });
    const byToken = await openStream(api(n1.node.url, { token: made.body.token }));
    const bySession = await openStream(bob);

    expect((await bob.delete(`/api/tokens/${made.body.id}`)).status).toBe(204);
    await waitFor(() => byToken.state.ended, { what: 'the token stream to end' });
    expect(bySession.state.ended).toBe(false);

    const changed = await bob.post('/api/auth/password', {
      oldPassword: 'bob-password-1',
      newPassword: 'bob-password-2',
    });
    expect(changed.status).toBe(204);
    await waitFor(() => bySession.state.ended, { what: 'the session stream to end' });
  });
});
