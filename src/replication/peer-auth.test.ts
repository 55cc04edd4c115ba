import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PEER_HEADERS, PeerVerifier, REPLAY_WINDOW_MS, signRequest } from './peer-auth.js';

const KEY = 'k'.repeat(32);
const req = {
  method: 'POST',
  path: '/peer/ops',
  nodeId: 'a'.repeat(16),
  url: 'http://127.0.0.1:1',
  body: '{"ops":[]}',
};

describe('peer request authentication', () => {
  it('accepts a request signed with the cluster key', () => {
    const headers = signRequest(KEY, req, 1000);
    const result = new PeerVerifier(KEY, () => 1000).verify(
      req.method,
      req.path,
      headers,
      Buffer.from(req.body),
    );
    expect(result).toEqual({ ok: true, nodeId: req.nodeId, url: req.url });
  });

  it('refuses another key, and any change to method, path, body or headers', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 16 }).filter((k) => k !== KEY),
        fc.constantFrom('method', 'path', 'body', 'node', 'url', 'timestamp'),
        (otherKey, tamper) => {
          const v = new PeerVerifier(KEY, () => 1000);
          const forged = signRequest(otherKey, req, 1000);
          expect(v.verify(req.method, req.path, forged, Buffer.from(req.body)).ok).toBe(false);

          const headers = { ...signRequest(KEY, req, 1000) };
          let { method, path, body } = { method: req.method, path: req.path, body: req.body };
          if (tamper === 'method') method = 'DELETE';
          if (tamper === 'path') path = '/peer/pull';
          if (tamper === 'body') body = '{"ops":[1]}';
          if (tamper === 'node') headers[PEER_HEADERS.node] = 'b'.repeat(16);
          if (tamper === 'url') headers[PEER_HEADERS.url] = 'http://evil';
          if (tamper === 'timestamp') headers[PEER_HEADERS.timestamp] = '1001';
          expect(v.verify(method, path, headers, Buffer.from(body)).ok).toBe(false);
        },
      ),
    );
  });

  it('refuses unsigned requests', () => {
    expect(new PeerVerifier(KEY).verify('GET', '/peer/hello', {}, Buffer.alloc(0))).toEqual({
      ok: false,
      reason: 'missing signature headers',
    });
  });

  it('refuses a replayed request and one outside the window', () => {
    let now = 1_000_000;
    const v = new PeerVerifier(KEY, () => now);
    const headers = signRequest(KEY, req, now);
    expect(v.verify(req.method, req.path, headers, Buffer.from(req.body)).ok).toBe(true);
    expect(v.verify(req.method, req.path, headers, Buffer.from(req.body))).toEqual({
      ok: false,
      reason: 'replayed request',
    });
    now += REPLAY_WINDOW_MS + 1;
    const late = v.verify(req.method, req.path, headers, Buffer.from(req.body));
    expect(late).toEqual({ ok: false, reason: 'timestamp outside the replay window' });
  });
});
