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
