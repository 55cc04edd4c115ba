/**
 * Who may reach a node's API, against one real node process: API tokens as Bearer, logout,
 * /healthz and /api/docs/json open to all, /metrics for an admin. Tests run in order and share
 * the node; the picture API itself is in pictures.test.ts.
 */
import { beforeAll, expect, test } from 'vitest';
import { describeEachBackend } from '../helpers/backends.js';
import {
  ADMIN_PASSWORD,
  api,
  login,
  makeImage,
  startNode,
  type Api,
  type NodeProcess,
  type Picture,
  type PictureList,
} from '../helpers/node-process.js';

describeEachBackend('access', () => {
  let node: NodeProcess;
  let admin: Api;
  /** Pictures that should be visible, by id. */
  const alive = new Map<string, Picture>();

  async function upload(
    client: Api,
    bytes: Buffer,
    fields: Record<string, string>,
    expected = 201,
  ): Promise<Picture> {
    const res = await client.upload<Picture>({ file: bytes, fields });
    expect(res.status, JSON.stringify(res.body)).toBe(expected);
    alive.set(res.body.id, res.body);
    return res.body;
  }

  beforeAll(async () => {
    node = await startNode();
    admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    // A picture uploaded twice, for the upload counters /metrics shows.
    const bytes = await makeImage({ seed: 7 });
    await upload(admin, bytes, { title: 'Twice' });
    await upload(admin, bytes, { title: 'Twice' }, 200);
  });

  test('an API token from POST /api/tokens works as Authorization: Bearer', async () => {
    const created = await admin.post<{ token: string; id: string; name: string }>('/api/tokens', {
      name: 'laptop',
    });
    expect(created.status).toBe(201);
    expect(created.body.name).toBe('laptop');
    const bearer = api(node.url, { token: created.body.token });

    const me = await bearer.get<{ user: unknown }>('/api/auth/me');
    expect(me.body).toEqual({ user: { username: 'admin', role: 'admin' } });
    expect((await bearer.get<PictureList>('/api/pictures?limit=1')).status).toBe(200);
    const picture = await upload(bearer, await makeImage({ seed: 5 }), { title: 'Via token' });
    expect(picture.owner).toBe('admin');
  });

  test('/healthz and /api/docs/json need no sign-in; /metrics needs an admin', async () => {
    const anonymous = api(node.url);
    const health = await anonymous.get('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({
      status: 'ok',
      version: expect.any(String) as unknown,
      checks: { database: { ok: true }, blobs: { ok: true } },
    });

    expect((await anonymous.get('/metrics')).status).toBe(401);
    const metrics = await admin.get<string>('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(metrics.body).toMatch(/^mosaic_uploads_total\{result="created"\} \d+$/m);
    expect(metrics.body).toMatch(/^mosaic_uploads_total\{result="duplicate"\} [1-9]\d*$/m);
    expect(metrics.body).toMatch(/^http_requests_total\{.*route="\/api\/pictures".*\} \d+$/m);
    const stored = [...alive.values()].reduce((sum, p) => sum + p.size, 0);
    expect(metrics.body).toMatch(new RegExp(`^mosaic_stored_bytes ${stored}$`, 'm'));
    expect(metrics.body).toMatch(new RegExp(`^mosaic_pictures ${alive.size}$`, 'm'));

    const docs = await anonymous.get<{ openapi: string; paths: Record<string, object> }>(
      '/api/docs/json',
    );
    expect(docs.status).toBe(200);
    expect(docs.body.openapi).toMatch(/^3\./);
    expect(Object.keys(docs.body.paths['/api/pictures'] ?? {})).toEqual(
      expect.arrayContaining(['get', 'post']),
    );
    expect(docs.body.paths).toHaveProperty(['/api/pictures/{id}']);
  });

  test('logout invalidates the session cookie', async () => {
    const res = await fetch(`${node.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    });
    const setCookie = res.headers.getSetCookie().join('\n');
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);

    const other = await login(node.url, 'admin', ADMIN_PASSWORD);
    const session = api(node.url, other);
    expect((await session.get('/api/auth/me')).status).toBe(200);
    const out = await session.post('/api/auth/logout');
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^mosaic_session=;/);
    const after = await session.get('/api/auth/me');
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ error: { code: 'unauthorized' } });
    expect((await session.get('/api/pictures')).status).toBe(401);
    // Only that session ended.
    expect((await admin.get('/api/auth/me')).status).toBe(200);
  });

  test('GET /api/auth/session names who is signed in, or no one without an error', async () => {
    const anonymous = await api(node.url).get<{ user: unknown }>('/api/auth/session');
    expect({ status: anonymous.status, body: anonymous.body }).toEqual({
      status: 200,
      body: { user: null },
    });
    const signedIn = await admin.get<{ user: unknown }>('/api/auth/session');
    expect(signedIn.body).toEqual({ user: { username: 'admin', role: 'admin' } });
    // An ended session is no one; a wrong token is still refused (the caller meant it).
    const ended = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    expect((await ended.post('/api/auth/logout')).status).toBe(204);
    expect((await ended.get('/api/auth/session')).body).toEqual({ user: null });
    expect((await api(node.url, { token: 'not-a-token' }).get('/api/auth/session')).status).toBe(
      401,
    );
    // /me keeps its contract: 401 without a session.
    expect((await api(node.url).get('/api/auth/me')).status).toBe(401);
  });
});
