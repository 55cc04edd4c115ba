import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ANY_NODE,
  PEER_HEADERS,
  PeerVerifier,
  REPLAY_WINDOW_MS,
  outsideWindow,
  sha256Hex,
  signRequest,
  spanOf,
} from './peer-auth.js';

const KEY = 'k'.repeat(32);
const SELF = '0123456789abcdef';
const OTHER = '1111111111111111';
const req = {
  method: 'POST',
  path: '/peer/ops',
  nodeId: 'a'.repeat(16),
  url: 'http://127.0.0.1:1',
  to: SELF,
  body: '{"ops":[]}',
};

describe('peer request authentication', () => {
  it('accepts a request signed with the cluster key for this node', () => {
    const headers = signRequest(KEY, req, 1000);
    const result = new PeerVerifier(KEY, SELF, () => 1000).verify(
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
        fc.constantFrom('method', 'path', 'body', 'node', 'url', 'timestamp', 'to'),
        (otherKey, tamper) => {
          const v = new PeerVerifier(KEY, SELF, () => 1000);
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
          if (tamper === 'to') headers[PEER_HEADERS.to] = ANY_NODE;
          expect(v.verify(method, path, headers, Buffer.from(body)).ok).toBe(false);
        },
      ),
    );
  });

  it('refuses unsigned requests', () => {
    expect(new PeerVerifier(KEY, SELF).verify('GET', '/peer/hello', {}, Buffer.alloc(0))).toEqual({
      ok: false,
      reason: 'missing signature headers',
    });
  });

  it('refuses a request signed for another node, before looking at the body', () => {
    const headers = signRequest(KEY, { ...req, to: OTHER }, 1000);
    const other = new PeerVerifier(KEY, OTHER, () => 1000);
    const self = new PeerVerifier(KEY, SELF, () => 1000);
    expect(self.checkHeaders(req.method, req.path, headers)).toEqual({
      ok: false,
      reason: 'signed for another node',
    });
    expect(other.verify(req.method, req.path, headers, Buffer.from(req.body)).ok).toBe(true);
  });

  it('takes "any node" as the destination of a hello only', () => {
    const hello = { ...req, path: '/peer/hello', to: ANY_NODE };
    const v = new PeerVerifier(KEY, SELF, () => 1000);
    expect(
      v.verify('POST', '/peer/hello', signRequest(KEY, hello, 1000), Buffer.from(req.body)).ok,
    ).toBe(true);
    for (const path of ['/peer/ops', '/peer/pull', '/peer/hello?x=1', '/peer/events/tx/prepare']) {
      const headers = signRequest(KEY, { ...req, path, to: ANY_NODE }, 1000);
      expect(v.checkHeaders('POST', path, headers)).toEqual({
        ok: false,
        reason: 'signed for another node',
      });
    }
  });

  it('refuses malformed headers before the MAC, and remembers only nonces whose MAC matched', () => {
    const v = new PeerVerifier(KEY, SELF, () => 1000);
    const headers = signRequest(KEY, req, 1000);
    for (const [name, value] of [
      [PEER_HEADERS.node, 'not-an-id'],
      [PEER_HEADERS.nonce, 'xyz'],
      [PEER_HEADERS.url, `http://${'a'.repeat(3000)}`],
    ] as const) {
      expect(v.checkHeaders('POST', req.path, { ...headers, [name]: value })).toEqual({
        ok: false,
        reason: 'malformed signature headers',
      });
    }
    const claim = v.checkHeaders('POST', req.path, headers);
    if (!claim.ok) throw new Error(claim.reason);
    // A wrong body does not burn the nonce: the genuine request still passes once.
    expect(v.checkBody(claim.claim, sha256Hex('{"ops":[1]}')).ok).toBe(false);
    expect(v.checkBody(claim.claim, sha256Hex(req.body)).ok).toBe(true);
    expect(v.checkBody(claim.claim, sha256Hex(req.body))).toEqual({
      ok: false,
      reason: 'replayed request',
    });
    expect(v.checkHeaders('POST', req.path, headers)).toEqual({
      ok: false,
      reason: 'replayed request',
    });
  });

  it('remembers a nonce as long as its request can be inside the window', () => {
    let now = 1_000_000;
    const v = new PeerVerifier(KEY, SELF, () => now);
    // Stamped a whole window ahead (a sender clock ahead): valid until two windows from now.
    const headers = signRequest(KEY, req, now + REPLAY_WINDOW_MS);
    expect(v.verify(req.method, req.path, headers, Buffer.from(req.body)).ok).toBe(true);
    now += 2 * REPLAY_WINDOW_MS - 1;
    for (let i = 0; i < 3; i++) {
      // Other traffic meanwhile prunes old entries.
      const other = signRequest(KEY, req, now);
      expect(v.verify(req.method, req.path, other, Buffer.from(req.body)).ok).toBe(true);
    }
    expect(v.verify(req.method, req.path, headers, Buffer.from(req.body))).toEqual({
      ok: false,
      reason: 'replayed request',
    });
  });

  it('refuses a replayed request and one outside the window', () => {
    let now = 1_000_000;
    const v = new PeerVerifier(KEY, SELF, () => now);
    const headers = signRequest(KEY, req, now);
    expect(v.verify(req.method, req.path, headers, Buffer.from(req.body)).ok).toBe(true);
    expect(v.verify(req.method, req.path, headers, Buffer.from(req.body))).toEqual({
      ok: false,
      reason: 'replayed request',
    });
    now += REPLAY_WINDOW_MS + 1;
    const late = v.verify(req.method, req.path, headers, Buffer.from(req.body));
    expect(late).toEqual({ ok: false, reason: outsideWindow(-(REPLAY_WINDOW_MS + 1)) });
  });

  it('says whose clock is off, and by how much, when a request is outside the window', () => {
    const now = 1_800_000_000_000;
    const v = new PeerVerifier(KEY, SELF, () => now);
    const fromAhead = signRequest(KEY, req, now + 10 * 60_000);
    const ahead = v.verify(req.method, req.path, fromAhead, Buffer.from(req.body));
    expect(ahead.ok).toBe(false);
    expect(!ahead.ok && ahead.reason).toBe(
      "timestamp outside the replay window: the sender's clock is 10 min ahead of the " +
        "receiver's (at most 60 s apart allowed): check that both machines' clocks are set (NTP)",
    );
    const fromBehind = signRequest(KEY, req, now - 75_000);
    const behind = v.verify(req.method, req.path, fromBehind, Buffer.from(req.body));
    expect(!behind.ok && behind.reason).toMatch(/the sender's clock is 75 s behind the receiver's/);
    // Within the window both pass.
    expect(
      v.verify(req.method, req.path, signRequest(KEY, req, now + 59_000), Buffer.from(req.body)).ok,
    ).toBe(true);
  });

  it('writes durations as people read them', () => {
    expect(spanOf(400)).toBe('0 s');
    expect(spanOf(75_000)).toBe('75 s');
    expect(spanOf(119_400)).toBe('119 s');
    expect(spanOf(10 * 60_000)).toBe('10 min');
    expect(spanOf(3 * 3_600_000 + 5 * 60_000)).toBe('3 h 5 min');
    expect(spanOf(2 * 3_600_000)).toBe('2 h');
    expect(spanOf(50 * 3_600_000)).toBe('2 days 2 h');
    expect(spanOf(365 * 86_400_000)).toBe('365 days');
  });
});
