/**
 * Passwords over HTTP with two real nodes: a person changes their own (the current one is
 * required), an admin resets another's, and either holds at the other node (a `user.put`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import {
  ADMIN_PASSWORD,
  addUser,
  api,
  canLogin,
  cleanup,
  login,
  waitFor,
  type Api,
} from '../helpers/node-process.js';

const BOB = 'bob-password-for-tests';

describe('passwords', () => {
  const cluster = new TestCluster();
  let admin: Api;
  let bob: Api;

  beforeAll(async () => {
    const [n1, n2] = await cluster.startAll(2);
    if (!n1 || !n2) throw new Error('no nodes');
    await addUser(n1.node.dataDir, 'bob', BOB);
    await waitFor(() => canLogin(cluster.url(1), 'bob', BOB), {
      what: 'bob at node 2',
      intervalMs: 300,
      timeoutMs: 20_000,
    });
    admin = await n1.api();
    bob = api(cluster.url(0), await login(cluster.url(0), 'bob', BOB));
  });
  afterAll(cleanup);

  it('changes one’s own password only with the current one, at every node', async () => {
    const wrong = await bob.post('/api/auth/password', {
      oldPassword: 'not-it',
      newPassword: 'bob-new-password',
    });
    // 403, not 401: the caller is signed in, and a 401 would sign the web app out.
    expect(wrong.status).toBe(403);
    expect(wrong.body).toMatchObject({ error: { code: 'forbidden' } });
    const short = await bob.post('/api/auth/password', { oldPassword: BOB, newPassword: 'x' });
    expect(short.status).toBe(400);
    // Bob is also signed in at node 2, on another device.
    const elsewhere = api(cluster.url(1), await login(cluster.url(1), 'bob', BOB));
    expect((await elsewhere.get('/api/auth/me')).status).toBe(200);
    const ok = await bob.post('/api/auth/password', {
      oldPassword: BOB,
      newPassword: 'bob-new-password',
    });
    expect(ok.status).toBe(204);
    // The sessions opened with the old password end, at both nodes; the caller gets a new one.
    expect((await bob.get('/api/auth/me')).status).toBe(401);
    const renewed = ok.headers.getSetCookie().find((c) => c.startsWith('mosaic_session='));
    const again = api(cluster.url(0), renewed?.split(';')[0] ?? '');
    expect((await again.get('/api/auth/me')).status).toBe(200);
    bob = again;
    await waitFor(async () => (await elsewhere.get('/api/auth/me')).status === 401, {
      what: 'the session at node 2 ended',
    });
    await waitFor(() => canLogin(cluster.url(1), 'bob', 'bob-new-password'), {
      what: 'the new password at node 2',
      intervalMs: 300,
      timeoutMs: 20_000,
    });
    expect(await canLogin(cluster.url(1), 'bob', BOB)).toBe(false);
    expect(await canLogin(cluster.url(0), 'bob', BOB)).toBe(false);
  });

  it('lets an admin reset another account’s password, and no one else', async () => {
    const refused = await bob.request('PUT', '/api/users/admin/password', {
      password: 'taken-over-admin',
    });
    expect(refused.status).toBe(403);
    // Not an admin's own: whoever holds an admin's session (a browser left open) must not
    // change its password without the current one (POST /api/auth/password asks for it).
    const own = await admin.request('PUT', '/api/users/ADMIN/password', {
      password: 'taken-over-admin',
    });
    expect(own.status).toBe(403);
    expect(await canLogin(cluster.url(0), 'admin', 'taken-over-admin')).toBe(false);
    const missing = await admin.request('PUT', '/api/users/nobody/password', {
      password: 'whatever-123',
    });
    expect(missing.status).toBe(404);
    const reset = await admin.request('PUT', '/api/users/bob/password', {
      password: 'reset-by-admin',
    });
    expect(reset.status).toBe(204);
    await waitFor(() => canLogin(cluster.url(1), 'bob', 'reset-by-admin'), {
      what: 'the reset password at node 2',
      intervalMs: 300,
      timeoutMs: 20_000,
    });
    expect(await canLogin(cluster.url(0), 'admin', ADMIN_PASSWORD)).toBe(true);
    // Still a user, not promoted by the reset.
    const asBob = api(cluster.url(1), await login(cluster.url(1), 'bob', 'reset-by-admin'));
    const me = await asBob.get<{ user: { role: string } }>('/api/auth/me');
    expect(me.body.user.role).toBe('user');
  });
});
