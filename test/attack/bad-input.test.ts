/**
 * Attack tier, review row 11: malformed input is the sender's mistake, never a 500. Multipart
 * without a boundary or cut inside a part used to answer 500 "internal"; this also sends a set
 * of malformed bodies, content types and URLs to every route of the table.
 */
import { connect } from 'node:net';
import { beforeAll, describe, expect, test } from 'vitest';
import { ADMIN_PASSWORD, api, login, type NodeProcess } from '../helpers/node-process.js';
import { concretePath, rawRequest, startWithRoutes, type RouteEntry } from './http-raw.js';
import { describeEachBackend } from '../helpers/backends.js';

describeEachBackend('malformed input', (backend) => {
  let node: NodeProcess;
  let routes: RouteEntry[];
  let token: string;
  let eventId: string;

  const PART =
    '--b0\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n\x89PNG';

  /** Bodies whose framing or type is wrong: [name, headers, body]. */
  const MALFORMED: [string, Record<string, string>, string][] = [
    ['multipart without a boundary', { 'content-type': 'multipart/form-data' }, 'xx'],
    ['multipart cut inside a part', { 'content-type': 'multipart/form-data; boundary=b0' }, PART],
    [
      'multipart with an empty boundary',
      { 'content-type': 'multipart/form-data; boundary=' },
      '--\r\n',
    ],
    [
      'multipart with a 300-character boundary',
      { 'content-type': `multipart/form-data; boundary=${'b'.repeat(300)}` },
      `--${'b'.repeat(300)}\r\n`,
    ],
    [
      'multipart with a broken part header',
      { 'content-type': 'multipart/form-data; boundary=b0' },
      '--b0\r\n\x00\x01garbage\r\n\r\nxx\r\n--b0--\r\n',
    ],
    [
      'multipart with __proto__ as a field',
      { 'content-type': 'multipart/form-data; boundary=b0' },
      '--b0\r\nContent-Disposition: form-data; name="__proto__"\r\n\r\nx\r\n--b0--\r\n',
    ],
    ['invalid JSON', { 'content-type': 'application/json' }, '{"a":'],
    ['JSON of the wrong type', { 'content-type': 'application/json' }, '[1,2,3]'],
    ['JSON null', { 'content-type': 'application/json' }, 'null'],
    ['JSON with __proto__', { 'content-type': 'application/json' }, '{"__proto__":{"x":1}}'],
    ['an unknown charset', { 'content-type': 'application/json; charset=utf-99' }, '{}'],
    ['text', { 'content-type': 'text/plain' }, 'hello'],
    ['bytes', { 'content-type': 'application/octet-stream' }, '\x00\x01\x02'],
    ['a content type that does not parse', { 'content-type': ';;;=' }, 'x'],
    ['a compressed body', { 'content-type': 'application/json', 'content-encoding': 'br' }, 'x'],
  ];

  beforeAll(async () => {
    ({ node, routes } = await startWithRoutes(backend));
    const admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    token = (await admin.post<{ token: string }>('/api/tokens', { name: 'fuzz' })).body.token;
    const event = await admin.post<{ id: string }>('/api/events', { title: 'Fuzz' });
    expect(event.status).toBe(201);
    eventId = event.body.id;
  });

  function isErrorShape(body: string): boolean {
    try {
      const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
      return typeof parsed.error?.code === 'string' && typeof parsed.error.message === 'string';
    } catch {
      return false;
    }
  }

  describe('malformed multipart', () => {
    test.each(MALFORMED.filter(([name]) => name.startsWith('multipart')))(
      '%s answers 4xx in the error shape, for pictures and event photos',
      async (_name, headers, body) => {
        for (const path of ['/api/pictures', `/api/events/${eventId}/photos`]) {
          const res = await rawRequest(
            node.url,
            'POST',
            path,
            { ...headers, authorization: `Bearer ${token}` },
            body,
          );
          expect({ path, status: res.status }).toMatchObject({ path });
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
          expect(isErrorShape(res.body)).toBe(true);
        }
      },
    );
  });

  describe('no 500 from input, at any route', () => {
    test('malformed bodies, content types and URLs to every route', async () => {
      const failures: string[] = [];
      let requests = 0;
      const check = async (
        method: string,
        path: string,
        headers: Record<string, string>,
        body?: string,
      ) => {
        const res = await rawRequest(node.url, method, path, headers, body);
        requests++;
        const what = `${method} ${path} ${JSON.stringify(headers)}`;
        if (res.status >= 500) failures.push(`${what}: ${res.status} ${res.body.slice(0, 100)}`);
        else if (res.status >= 400 && method !== 'HEAD' && !isErrorShape(res.body))
          failures.push(`${what}: not the error shape: ${res.body.slice(0, 100)}`);
      };
      // The event stream never ends by itself; signing out would end the test's session.
      const swept = routes.filter((r) => r.url !== '/api/stream' && r.url !== '/api/auth/logout');
      for (const route of swept) {
        const path = concretePath(route.url).replace('evt_abc', eventId);
        const auth = { authorization: `Bearer ${token}` };
        if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method)) {
          for (const [, headers, body] of MALFORMED) {
            await check(route.method, path, { ...auth, ...headers }, body);
          }
        }
        await check(route.method, `${path}%ff`, auth);
        await check(route.method, `${path}?limit=%zz&size=%ff&version=-1&cursor=%00`, auth);
        await check(route.method, `${path}?a[b][c]=1&a=2&a=3`, auth);
        await check(route.method, path, { ...auth, range: 'bytes=abc-' });
        await check(route.method, path, { ...auth, range: 'bytes=99999999999999999999-' });
        await check(route.method, path, { authorization: 'Bearer' });
        await check(route.method, path, { authorization: 'Basic Zm9vOmJhcg==' });
        await check(route.method, path, { cookie: 'mosaic_session=%ff%00; mosaic_participant=;;' });
      }
      expect(failures).toEqual([]);
      expect(requests).toBeGreaterThan(800);
    });
  });

  describe('requests that are not valid HTTP', () => {
    const send = (raw: string) =>
      new Promise<string>((resolve, reject) => {
        const url = new URL(node.url);
        const socket = connect(Number(url.port), url.hostname, () => socket.end(raw));
        let answer = '';
        socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
        socket.on('close', () => {
          resolve(answer);
        });
        socket.on('error', reject);
      });

    test('a bad Content-Length or request line gets a 400 in the error shape', async () => {
      for (const raw of [
        'POST /api/pictures HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
        'GET /api/pictures HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
        'GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n',
      ]) {
        const answer = await send(raw);
        expect(answer).toMatch(/^HTTP\/1\.1 400 /);
        expect(isErrorShape(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toBe(true);
      }
    });
  });
});
