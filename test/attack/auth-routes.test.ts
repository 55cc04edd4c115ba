/**
 * Attack tier, review row 1: authentication is decided on the route the router matched.
 * `/%61pi/pictures` is routed to `/api/pictures`: it used to be served to anyone (the check
 * looked at the URL text). This sweep takes the route table from a real node and asks every
 * route that is not public, anonymously, in every spelling of its path.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import {
  ADMIN_PASSWORD,
  api,
  login,
  makeImage,
  type NodeProcess,
} from '../helpers/node-process.js';
import {
  concretePath,
  pathVariants,
  rawRequest,
  startWithRoutes,
  type RawResponse,
  type RouteEntry,
} from './http-raw.js';
import { describeEachBackend } from '../helpers/backends.js';

/** Every route anyone may call without an account, and why (design.md). */
const PUBLIC_ROUTES = [
  // Health for load balancers; sign-in itself.
  'GET /healthz',
  'HEAD /healthz',
  'POST /api/auth/login',
  // Who is signed in, if anyone: a visitor without a session gets no user (the web app asks on
  // every load; a 401 there was logged as an error on every signed-out page).
  'GET /api/auth/session',
  'HEAD /api/auth/session',
  // The API description (no data).
  'HEAD /api/docs',
  'GET /api/docs/',
  'HEAD /api/docs/',
  'GET /api/docs/json',
  'HEAD /api/docs/json',
  'GET /api/docs/yaml',
  'HEAD /api/docs/yaml',
  'GET /api/docs/static/*',
  'HEAD /api/docs/static/*',
  'GET /api/docs/static/index.html',
  'HEAD /api/docs/static/index.html',
  'GET /api/docs/static/swagger-initializer.js',
  'HEAD /api/docs/static/swagger-initializer.js',
  // The web app's built files.
  'GET /assets/*',
  'HEAD /assets/*',
  // Group photo events: guests without an account, checked by the signed participant cookie.
  'GET /api/events',
  'HEAD /api/events',
  'GET /api/events/:id',
  'HEAD /api/events/:id',
  'POST /api/events/:id/join',
  'POST /api/events/:id/recover',
  'POST /api/events/:id/photos',
  'POST /api/events/:id/votes',
  'GET /api/events/:id/montage',
  'HEAD /api/events/:id/montage',
  // Share links (issue 15): only what the link shows, checked by the link's id (and password).
  'GET /api/s/:id',
  'HEAD /api/s/:id',
  'POST /api/s/:id/unlock',
  'GET /api/s/:id/pictures',
  'HEAD /api/s/:id/pictures',
  'GET /api/s/:id/pictures/:pictureId/thumb',
  'HEAD /api/s/:id/pictures/:pictureId/thumb',
  'GET /api/s/:id/pictures/:pictureId/file',
  'HEAD /api/s/:id/pictures/:pictureId/file',
];

describeEachBackend('route authentication', (backend) => {
  let node: NodeProcess;
  let routes: RouteEntry[];

  beforeAll(async () => {
    ({ node, routes } = await startWithRoutes(backend));
    // Something to steal: a picture in the library.
    const admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    const upload = { file: await makeImage({ seed: 7 }), fields: { title: 'Private' } };
    expect((await admin.upload(upload)).status).toBe(201);
  });

  describe('every route refuses anonymous callers unless it is public', () => {
    test('the review: /%61pi/pictures, /%61pi/cluster and the file routes, anonymously', async () => {
      const admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
      const list = await admin.get<{ items: { id: string }[] }>('/api/pictures');
      const id = list.body.items[0]?.id ?? '';
      for (const path of [
        '/%61pi/pictures',
        `/%61pi/pictures/${id}`,
        `/%61pi/pictures/${id}/file`,
        `/%61pi/pictures/${id}/thumb?size=large`,
        '/%61pi/cluster',
        '/%61pi/folders',
      ]) {
        const res = await rawRequest(node.url, 'GET', path);
        expect({ path, status: res.status }).toEqual({ path, status: 401 });
        expect(res.body).not.toContain(id);
      }
    });

    test('the public routes are exactly the expected list', () => {
      const open = routes.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`);
      expect(open.sort()).toEqual([...PUBLIC_ROUTES].sort());
      // The sweep below covers a real table: the API, the peer API and the admin route.
      expect(routes.filter((r) => r.access === 'account').length).toBeGreaterThan(30);
      expect(routes.filter((r) => r.access === 'peer').length).toBeGreaterThan(10);
      expect(routes.filter((r) => r.access === 'admin').map((r) => r.url)).toContain('/metrics');
    });

    test('each other route answers 401 to an anonymous request, in every spelling', async () => {
      const failures: string[] = [];
      let requests = 0;
      for (const route of routes.filter((r) => r.access !== 'public')) {
        for (const variant of pathVariants(concretePath(route.url))) {
          const res = await rawRequest(node.url, route.method, variant.path);
          requests++;
          const what = `${route.method} ${variant.path} (${route.url}, ${variant.name})`;
          const allowed = variant.sameRoute ? [401] : [400, 401, 404];
          // A browser navigation that matches nothing gets the web app's page (no data in it).
          if (!variant.sameRoute && isAppPage(res)) continue;
          if (!allowed.includes(res.status)) failures.push(`${what}: ${res.status}`);
          else if (route.method !== 'HEAD' && !/"error":\{"code"/.test(res.body))
            failures.push(`${what}: not the error shape: ${res.body.slice(0, 80)}`);
        }
      }
      expect(failures).toEqual([]);
      expect(requests).toBeGreaterThan(500);
    });

    test('a path that matches no route gets the JSON 404, which names nothing', async () => {
      for (const path of ['/api/nope', '/%61pi/nope', '/API/PICTURES', '/peer/nope', '//api']) {
        const res = await rawRequest(node.url, 'GET', path);
        expect(res.status).toBe(404);
        expect(JSON.parse(res.body)).toEqual({
          error: { code: 'not_found', message: 'No such route (GET).' },
        });
      }
    });
  });

  // On PostgreSQL the gallery's session is checked in the page's own statement (auth.ts,
  // `sessionWithPage`): the same answers as the session checked alone.
  test('a gallery page needs a live session, whatever its query', async () => {
    const good = ['/api/pictures', '/api/pictures?sort=taken&limit=1', '/api/pictures?q=private'];
    const bad = ['/api/pictures?limit=0', '/api/pictures?cursor=nope', '/api/pictures?sort=x'];
    const cookie = await login(node.url, 'admin', ADMIN_PASSWORD);
    const live = api(node.url, cookie);
    const created = await live.post<{ token: string }>('/api/tokens', { name: 'gallery' });
    expect(created.status).toBe(201);
    const token = api(node.url, { token: created.body.token });
    for (const path of good) {
      for (const client of [live, token]) {
        const got = await client.get<{ items: { title: string }[] }>(path);
        expect({ path, status: got.status }).toEqual({ path, status: 200 });
        expect(got.body.items[0]?.title).toBe('Private');
      }
    }
    for (const path of bad) {
      expect({ path, status: (await live.get(path)).status }).toEqual({ path, status: 400 });
    }
    // A cookie whose signature does not hold, and one of a session signed out.
    const [name, value] = cookie.split('=') as [string, string];
    const forged = api(node.url, `${name}=${value.slice(0, -2)}xx`);
    expect((await live.post('/api/auth/logout')).status).toBeLessThan(300);
    for (const client of [forged, live]) {
      for (const path of [...good, ...bad]) {
        const got = await client.get(path);
        expect({ path, status: got.status, body: got.body }).toMatchObject({
          path,
          status: 401,
          body: { error: { code: 'unauthorized' } },
        });
      }
    }
  });

  function isAppPage(res: RawResponse): boolean {
    return (
      res.status === 200 &&
      (res.headers['content-type'] ?? '').startsWith('text/html') &&
      (res.body === '' || res.body.includes('<div id="root"></div>'))
    );
  }
});
