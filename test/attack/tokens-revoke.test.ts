/**
 * Issue 12, row 12 (tokens): API tokens can be listed (never the secret), revoked by their owner
 * or an admin (revocation replicates: the token stops working at every node), and expire.
 * Before the fix there was no list, no revoke and no expiry: a leaked token worked forever.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, type ClusterNode } from '../helpers/cluster.js';
import { addUser, api, login, waitFor, type Api } from '../helpers/node-process.js';
import { describeEachBackend } from '../helpers/backends.js';

interface TokenView {
  id: string;
  name: string;
  username: string;
  createdAt: string;
  expiresAt: string | null;
}

describeEachBackend('API tokens', () => {
  let cluster: TestCluster;
  let n1: ClusterNode;
  let n2: ClusterNode;
  let alice1: Api;
  let bob1: Api;

  beforeAll(async () => {
    cluster = new TestCluster({ syncIntervalMs: 300 });
    [n1, n2] = (await cluster.startAll(2)) as [ClusterNode, ClusterNode];
    await addUser(n1.node.dataDir, 'alice', 'alice-password-1');
    await addUser(n1.node.dataDir, 'bob', 'bob-password-1');
    alice1 = api(n1.node.url, await login(n1.node.url, 'alice', 'alice-password-1'));
    bob1 = api(n1.node.url, await login(n1.node.url, 'bob', 'bob-password-1'));
  });

  async function newToken(client: Api, body: Record<string, unknown>) {
    const res = await client.post<TokenView & { token: string }>('/api/tokens', body);
    expect(res.status).toBe(201);
    return res.body;
  }

  const meStatus = async (url: string, token: string) =>
    (await api(url, { token }).get('/api/auth/me')).status;

  describe('API tokens (issue 12, row 12)', () => {
    it('are listed without their secret, and only to their owner or an admin', async () => {
      const created = await newToken(alice1, { name: 'laptop' });
      const list = await alice1.get<{ items: TokenView[] }>('/api/tokens');
      expect(list.status).toBe(200);
      const mine = list.body.items.find((t) => t.id === created.id);
      expect(mine).toMatchObject({
        name: 'laptop',
        username: 'alice',
        expiresAt: null,
        lastUsed: null,
      });
      expect((await api(n1.node.url, { token: created.token }).get('/api/auth/me')).status).toBe(
        200,
      );
      const used = await alice1.get<{ items: (TokenView & { lastUsed: string | null })[] }>(
        '/api/tokens',
      );
      expect(used.body.items.find((t) => t.id === created.id)?.lastUsed).not.toBeNull();
      const text = JSON.stringify(list.body);
      expect(text).not.toContain(created.token);
      expect(text).not.toMatch(/hash/i);

      const bobs = await bob1.get<{ items: TokenView[] }>('/api/tokens');
      expect(bobs.body.items.some((t) => t.id === created.id)).toBe(false);
      expect((await bob1.get('/api/tokens?user=alice')).status).toBe(404);
      const admin = await n1.api();
      const seen = await admin.get<{ items: TokenView[] }>('/api/tokens?user=alice');
      expect(seen.body.items.some((t) => t.id === created.id)).toBe(true);
    });

    it('cannot be revoked by another account', async () => {
      const created = await newToken(alice1, { name: 'phone' });
      const res = await bob1.delete(`/api/tokens/${created.id}`);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ error: { code: 'not_found' } });
      expect(await meStatus(n1.node.url, created.token)).toBe(200);
    });

    it('revoked at node 1 is refused at node 2 once replicated', async () => {
      const created = await newToken(alice1, { name: 'leaked' });
      await waitFor(async () => (await meStatus(n2.node.url, created.token)) === 200, {
        timeoutMs: 20_000,
        what: 'the token to work at n2',
      });
      const revoked = await alice1.delete(`/api/tokens/${created.id}`);
      expect(revoked.status).toBe(204);
      expect(await meStatus(n1.node.url, created.token)).toBe(401);
      await waitFor(async () => (await meStatus(n2.node.url, created.token)) === 401, {
        timeoutMs: 20_000,
        what: 'the revoked token to be refused at n2',
      });
      const list = await alice1.get<{ items: TokenView[] }>('/api/tokens');
      expect(list.body.items.some((t) => t.id === created.id)).toBe(false);
      expect((await alice1.delete(`/api/tokens/${created.id}`)).status).toBe(404);
    });

    it('an admin may revoke any account’s token', async () => {
      const created = await newToken(bob1, { name: 'bob-cli' });
      const admin = await n1.api();
      expect((await admin.delete(`/api/tokens/${created.id}`)).status).toBe(204);
      expect(await meStatus(n1.node.url, created.token)).toBe(401);
    });

    it('that expire cannot make tokens that outlive them', async () => {
      // A short-lived token (for CI, a borrowed laptop) made itself a lasting one before.
      const short = await newToken(alice1, { name: 'ci', expiresInDays: 1 });
      const viaToken = api(n1.node.url, { token: short.token });
      const child = await newToken(viaToken, { name: 'forever?' });
      expect(child.expiresAt).toBe(short.expiresAt);
      const sooner = new Date(Date.now() + 3_600_000).toISOString();
      expect((await newToken(viaToken, { name: 'an hour', expiresAt: sooner })).expiresAt).toBe(
        sooner,
      );
      const later = await viaToken.post('/api/tokens', { name: 'a month', expiresInDays: 30 });
      expect(later.status).toBe(400);
      expect(later.body).toMatchObject({ error: { code: 'bad_request' } });
      const listed = await alice1.get<{ items: TokenView[] }>('/api/tokens');
      expect(
        listed.body.items.filter((t) => t.expiresAt === null).map((t) => t.name),
      ).not.toContain('forever?');
      // The principal's expiry is not shown as part of who is signed in.
      const me = await viaToken.get<{ user: Record<string, unknown> }>('/api/auth/me');
      expect(me.body.user).toEqual({ username: 'alice', role: 'user' });
      // A session, or a token without expiry, makes tokens without expiry as before.
      const lasting = await newToken(alice1, { name: 'lasting' });
      expect(lasting.expiresAt).toBeNull();
      const fromLasting = await newToken(api(n1.node.url, { token: lasting.token }), {
        name: 'child of lasting',
      });
      expect(fromLasting.expiresAt).toBeNull();
    });

    it('expire: refused after expiresAt at every node', async () => {
      const expiresAt = new Date(Date.now() + 3_000).toISOString();
      const created = await newToken(alice1, { name: 'short', expiresAt });
      expect(created.expiresAt).toBe(expiresAt);
      const days = await newToken(alice1, { name: 'month', expiresInDays: 30 });
      expect(Date.parse(days.expiresAt ?? '')).toBeGreaterThan(Date.now() + 29 * 86_400_000);
      for (const url of [n1.node.url, n2.node.url]) {
        await waitFor(async () => (await meStatus(url, created.token)) === 401, {
          timeoutMs: 20_000,
          what: `the expired token to be refused at ${url}`,
        });
      }
      expect(await meStatus(n1.node.url, days.token)).toBe(200);
      const past = await alice1.post('/api/tokens', {
        name: 'past',
        expiresAt: new Date(Date.now() - 1000).toISOString(),
      });
      expect(past.status).toBe(400);
      expect(past.body).toMatchObject({ error: { code: 'bad_request' } });
    });
  });
});
