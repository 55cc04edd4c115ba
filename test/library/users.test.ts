/**
 * Accounts added over HTTP (`GET`/`POST /api/users`, the web app's "People") with two real
 * nodes: only an admin may list or add them, with the CLI's rules for names and passwords, a
 * name once; the new account signs in at the node that added it and, replicated, at the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import {
  api,
  canLogin,
  cleanup,
  userCommand,
  login,
  waitFor,
  type Api,
  type ErrorBody,
} from '../helpers/node-process.js';

interface UserView {
  username: string;
  role: 'admin' | 'user';
}

interface Person extends UserView {
  disabled: boolean;
}

describe('accounts added by an admin', () => {
  const cluster = new TestCluster({ syncIntervalMs: 300 });
  let admin: Api;

  beforeAll(async () => {
    const [n1] = await cluster.startAll(2);
    if (!n1) throw new Error('no nodes');
    admin = await n1.api();
  });
  afterAll(cleanup);

  it('are refused without a session (401)', async () => {
    const anonymous = api(cluster.url(0));
    expect((await anonymous.get<ErrorBody>('/api/users')).status).toBe(401);
    const post = await anonymous.post<ErrorBody>('/api/users', {
      username: 'mallory',
      password: 'mallory-password',
    });
    expect(post.status).toBe(401);
    expect(await canLogin(cluster.url(0), 'mallory', 'mallory-password')).toBe(false);
  });

  it('are added with the CLI’s rules, once per name, and sign in at both nodes', async () => {
    const added = await admin.post<UserView>('/api/users', {
      username: 'carol',
      password: 'carol-password',
    });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({ username: 'carol', role: 'user' });
    expect(await canLogin(cluster.url(0), 'carol', 'carol-password')).toBe(true);

    const badName = await admin.post<ErrorBody>('/api/users', {
      username: 'carol smith',
      password: 'carol-password',
    });
    expect(badName.status).toBe(400);
    expect(badName.body.error.message).toBe(
      'A username uses only a–z, A–Z, 0–9, ".", "_" and "-".',
    );
    const noName = await admin.post<ErrorBody>('/api/users', {
      username: '',
      password: 'carol-password',
    });
    expect(noName.status).toBe(400);
    expect(noName.body.error.message).toBe('A username is required.');
    const short = await admin.post<ErrorBody>('/api/users', {
      username: 'dan',
      password: 'short',
    });
    expect(short.status).toBe(400);
    expect(short.body.error.message).toBe('A password has at least 8 characters.');
    const unknownField = await admin.post<ErrorBody>('/api/users', {
      username: 'dan',
      password: 'dan-password',
      role: 'admin',
    });
    expect(unknownField.status).toBe(400);
    expect(await canLogin(cluster.url(0), 'dan', 'dan-password')).toBe(false);

    for (const username of ['carol', 'admin']) {
      const again = await admin.post<ErrorBody>('/api/users', {
        username,
        password: 'another-password',
      });
      expect(again.status).toBe(409);
      expect(again.body.error).toEqual({
        code: 'conflict',
        message: `An account named ${username} already exists.`,
      });
    }
    // The existing password is kept.
    expect(await canLogin(cluster.url(0), 'carol', 'carol-password')).toBe(true);

    const second = await admin.post<UserView>('/api/users', {
      username: 'Bea',
      password: 'bea-password',
      admin: true,
    });
    expect(second.status).toBe(201);
    expect(second.body).toEqual({ username: 'Bea', role: 'admin' });

    const list = await admin.get<{ items: Person[] }>('/api/users');
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([
      { username: 'admin', role: 'admin', disabled: false },
      { username: 'Bea', role: 'admin', disabled: false },
      { username: 'carol', role: 'user', disabled: false },
    ]);

    // Replicated like `mosaic user add`: both sign in at node 2, with their roles.
    await waitFor(() => canLogin(cluster.url(1), 'carol', 'carol-password'), {
      what: 'carol at node 2',
      intervalMs: 300,
      timeoutMs: 20_000,
    });
    await waitFor(() => canLogin(cluster.url(1), 'Bea', 'bea-password'), {
      what: 'Bea at node 2',
      intervalMs: 300,
      timeoutMs: 20_000,
    });
    const bea = api(cluster.url(1), await login(cluster.url(1), 'Bea', 'bea-password'));
    expect((await bea.get<{ user: UserView }>('/api/auth/me')).body.user.role).toBe('admin');
    // An admin added in the web app may add people too, at the other node.
    const byBea = await bea.post<UserView>('/api/users', {
      username: 'eve',
      password: 'eve-password',
    });
    expect(byBea.status).toBe(201);

    const carol = api(cluster.url(0), await login(cluster.url(0), 'carol', 'carol-password'));
    expect((await carol.get<ErrorBody>('/api/users')).status).toBe(403);
    const refused = await carol.post<ErrorBody>('/api/users', {
      username: 'frank',
      password: 'frank-password',
      admin: true,
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
    expect(await canLogin(cluster.url(0), 'frank', 'frank-password')).toBe(false);
  });

  it('are disabled at one node and refused at the other: sign-in, session, token, gallery', async () => {
    // Set up by the test before: carol (user), Bea (admin), eve (user), replicated.
    const node2 = cluster.url(1);
    await waitFor(() => canLogin(node2, 'eve', 'eve-password'), {
      what: 'eve at node 2',
      intervalMs: 300,
      timeoutMs: 20_000,
    });
    const carol = api(node2, await login(node2, 'carol', 'carol-password'));
    const made = await carol.post<{ token: string }>('/api/tokens', { name: 'laptop' });
    expect(made.status).toBe(201);
    const carolToken = api(node2, { token: made.body.token });
    expect((await carolToken.get('/api/auth/me')).status).toBe(200);

    const disabled = await admin.patch<Person>('/api/users/carol', { disabled: true });
    expect(disabled.status).toBe(200);
    expect(disabled.body).toEqual({ username: 'carol', role: 'user', disabled: true });
    await waitFor(async () => (await carol.get('/api/auth/me')).status === 401, {
      what: "carol's session at node 2 ended",
      intervalMs: 200,
      timeoutMs: 20_000,
    });
    expect((await carol.get('/api/pictures')).status).toBe(401);
    expect((await carolToken.get('/api/pictures')).status).toBe(401);
    const refused = await api(node2).post<ErrorBody>('/api/auth/login', {
      username: 'carol',
      password: 'carol-password',
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe(
      'This account is disabled. An admin can enable it again.',
    );
    expect(
      (
        await api(node2).post<ErrorBody>('/api/auth/login', {
          username: 'carol',
          password: 'not-her-password',
        })
      ).status,
    ).toBe(401);

    // Enabled again by the other admin, at node 2: her token works, and she signs in at node 1.
    const bea = api(node2, await login(node2, 'Bea', 'bea-password'));
    expect((await bea.patch<Person>('/api/users/carol', { disabled: false })).body.disabled).toBe(
      false,
    );
    expect((await carolToken.get('/api/auth/me')).status).toBe(200);
    await waitFor(() => canLogin(cluster.url(0), 'carol', 'carol-password'), {
      what: 'carol at node 1 again',
      intervalMs: 200,
      timeoutMs: 20_000,
    });
  });

  it('change roles at one node, and the other follows; bad changes are refused, changing nothing', async () => {
    const node2 = cluster.url(1);
    const eve = api(node2, await login(node2, 'eve', 'eve-password'));
    expect((await eve.get('/api/users')).status).toBe(403);
    const promoted = await admin.patch<Person>('/api/users/EVE', { role: 'admin' });
    expect(promoted.body).toEqual({ username: 'eve', role: 'admin', disabled: false });
    await waitFor(async () => (await eve.get('/api/users')).status === 200, {
      what: 'eve an admin at node 2',
      intervalMs: 200,
      timeoutMs: 20_000,
    });
    expect((await admin.patch<Person>('/api/users/eve', { role: 'user' })).body.role).toBe('user');

    const cases: [string, unknown, number, string][] = [
      [
        '/api/users/eve',
        {},
        400,
        'Give a role ("admin" or "user"), disabled (true or false), or both.',
      ],
      ['/api/users/eve', { role: 'owner' }, 400, ''],
      ['/api/users/eve', { disabled: 'yes' }, 400, ''],
      ['/api/users/eve', { disabled: true, name: 'x' }, 400, ''],
      ['/api/users/no%20body', { disabled: true }, 400, ''],
      ['/api/users/nobody', { disabled: true }, 404, ''],
      [
        '/api/users/admin',
        { disabled: true },
        409,
        'You cannot disable your own account; another admin can.',
      ],
    ];
    for (const [path, body, status, message] of cases) {
      const res = await admin.patch<ErrorBody>(path, body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(status);
      if (message) expect(res.body.error.message).toBe(message);
    }
    const carol = api(cluster.url(0), await login(cluster.url(0), 'carol', 'carol-password'));
    expect((await carol.patch<ErrorBody>('/api/users/carol', { role: 'admin' })).status).toBe(403);
    const list = await admin.get<{ items: Person[] }>('/api/users');
    expect(list.body.items.every((p) => !p.disabled)).toBe(true);
    expect(list.body.items.filter((p) => p.role === 'admin').map((p) => p.username)).toEqual([
      'admin',
      'Bea',
    ]);

    // A name is one account whatever its case: typed in capitals it signs in, and is taken.
    expect(await canLogin(cluster.url(0), 'CAROL', 'carol-password')).toBe(true);
    const twin = await admin.post<ErrorBody>('/api/users', {
      username: 'Carol',
      password: 'another-password',
    });
    expect(twin.status).toBe(409);
  });

  it('an admin who lost the role gets it back with `mosaic user access` on a node’s data', async () => {
    const node = cluster.nodes[1] ?? expect.unreachable();
    const bea = api(cluster.url(1), await login(cluster.url(1), 'Bea', 'bea-password'));
    expect((await admin.patch<Person>('/api/users/Bea', { role: 'user' })).status).toBe(200);
    await waitFor(async () => (await bea.get('/api/users')).status === 403, {
      what: 'Bea no longer an admin at node 2',
      intervalMs: 200,
      timeoutMs: 20_000,
    });
    expect(await userCommand(node.node.dataDir, ['access', 'bea', '--role', 'admin'])).toBe(
      'Bea: admin.\n',
    );
    await waitFor(
      async () =>
        (await admin.get<{ items: Person[] }>('/api/users')).body.items.some(
          (p) => p.username === 'Bea' && p.role === 'admin',
        ),
      { what: 'Bea an admin again at node 1', intervalMs: 200, timeoutMs: 20_000 },
    );
    expect((await bea.get('/api/users')).status).toBe(200);
    await expect(userCommand(node.node.dataDir, ['access', 'nobody', '--disable'])).rejects.toThrow(
      'No account named nobody.',
    );
    await expect(userCommand(node.node.dataDir, ['access', 'Bea'])).rejects.toThrow(
      'Give --role, --disable or --enable.',
    );
  });
});
