import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Faults } from '../faults/faults.js';
import { PeerVerifier, signRequest } from '../replication/peer-auth.js';
import { installErrorHandler } from './error-handler.js';
import { installPeerGuard } from './peer-guard.js';

const KEY = 'k'.repeat(32);
const SELF = '0123456789abcdef';
const SENDER = 'aaaaaaaaaaaaaaaa';

let app: FastifyInstance;
let contacted: string[];

beforeEach(async () => {
  contacted = [];
  app = Fastify();
  installErrorHandler(app);
  await app.register(async (scope) => {
    installPeerGuard(scope, {
      verifier: new PeerVerifier(KEY, SELF),
      faults: Faults.none(),
      contacted: (nodeId) => contacted.push(nodeId),
    });
    scope.post('/peer/echo', { bodyLimit: 1024 }, async (request) => ({
      from: request.peerId,
      body: request.body,
    }));
    scope.get('/peer/thing', { bodyLimit: 1 }, async (request) => ({ from: request.peerId }));
  });
});
afterEach(async () => {
  await app.close();
});

function headersFor(method: string, path: string, body: string, to = SELF) {
  return signRequest(KEY, { method, path, nodeId: SENDER, url: '', to, body });
}

describe('peer guard', () => {
  it('passes a signed JSON body and a signed GET, and says who sent them', async () => {
    const body = '{"a":1}';
    const post = await app.inject({
      method: 'POST',
      url: '/peer/echo',
      headers: { ...headersFor('POST', '/peer/echo', body), 'content-type': 'application/json' },
      payload: body,
    });
    expect(post.statusCode).toBe(200);
    expect(post.json()).toEqual({ from: SENDER, body: { a: 1 } });
    const get = await app.inject({
      method: 'GET',
      url: '/peer/thing',
      headers: headersFor('GET', '/peer/thing', ''),
    });
    expect(get.json()).toEqual({ from: SENDER });
    expect(contacted).toEqual([SENDER, SENDER]);
  });

  it('refuses unsigned, misdirected and body-swapped requests with 401', async () => {
    const body = '{"a":1}';
    const json = { 'content-type': 'application/json' };
    const cases = [
      json,
      { ...headersFor('POST', '/peer/echo', body, '1111111111111111'), ...json },
      { ...headersFor('POST', '/peer/echo', '{"a":2}'), ...json },
    ];
    for (const headers of cases) {
      const res = await app.inject({ method: 'POST', url: '/peer/echo', headers, payload: body });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: { code: 'unauthorized' } });
    }
    expect(contacted).toEqual([]);
  });

  it('refuses a body over the route bound (413), and any type but JSON (415)', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(2000) });
    const over = await app.inject({
      method: 'POST',
      url: '/peer/echo',
      headers: { ...headersFor('POST', '/peer/echo', big), 'content-type': 'application/json' },
      payload: big,
    });
    expect(over.statusCode).toBe(413);
    const text = await app.inject({
      method: 'POST',
      url: '/peer/echo',
      headers: { ...headersFor('POST', '/peer/echo', 'hi'), 'content-type': 'text/plain' },
      payload: 'hi',
    });
    expect(text.statusCode).toBe(415);
  });

  it('answers a signed body that is not JSON with 400', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/peer/echo',
      headers: { ...headersFor('POST', '/peer/echo', '{'), 'content-type': 'application/json' },
      payload: '{',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'malformed_json' } });
  });
});

describe('peer guard refusals in the log', () => {
  it('are one line a minute per reason and sender, saying what to do and how many were refused', async () => {
    const lines: Record<string, unknown>[] = [];
    let clock = 1_000_000;
    const logged = Fastify({
      logger: {
        level: 'info',
        stream: {
          write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>),
        },
      },
    });
    installErrorHandler(logged);
    await logged.register(async (scope) => {
      installPeerGuard(scope, {
        verifier: new PeerVerifier(KEY, SELF),
        faults: Faults.none(),
        now: () => clock,
      });
      scope.post('/peer/echo', { bodyLimit: 1024 }, async () => ({}));
    });
    const body = '{"a":1}';
    // Signed with another key, as a node given another --cluster-key does.
    const send = () =>
      logged.inject({
        method: 'POST',
        url: '/peer/echo',
        headers: {
          ...signRequest('x'.repeat(32), {
            method: 'POST',
            path: '/peer/echo',
            nodeId: SENDER,
            url: 'http://10.0.0.2:7070',
            to: SELF,
            body,
          }),
          'content-type': 'application/json',
        },
        payload: body,
      });
    try {
      for (let i = 0; i < 10; i++) expect((await send()).statusCode).toBe(401);
      const refused = () => lines.filter((l) => l['msg'] === 'peer request refused');
      expect(refused()).toHaveLength(1);
      expect(refused()[0]).toMatchObject({
        reason: 'bad signature',
        claimsNode: SENDER,
        claimsUrl: 'http://10.0.0.2:7070',
      });
      expect(String(refused()[0]?.['hint'])).toContain('--cluster-key');
      clock += 60_000;
      expect((await send()).statusCode).toBe(401);
      expect(refused()).toHaveLength(2);
      expect(refused()[1]).toMatchObject({ refusedSinceLastLine: 9 });
    } finally {
      await logged.close();
    }
  });
});
