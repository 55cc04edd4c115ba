import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_SKEW_MS,
  ReplayCache,
  deriveDiscoveryKeys,
  encodeAnnouncement,
  verifyAnnouncement,
  type DiscoveryKeys,
  type VerifyResult,
} from './announcement.js';

const NOW = 1_732_190_000_000;
const SELF = 'aaaaaaaaaaaaaaaa';

const hex = (min: number, max: number) =>
  fc.string({
    unit: fc.constantFrom(...Array.from('0123456789abcdef')),
    minLength: min,
    maxLength: max,
  });
const clusterKeyArb = fc.string({ minLength: 16, maxLength: 64 });

/** An announcement of `keys`' cluster, from some other node, sent within the skew window. */
const announcementArb = (keys: DiscoveryKeys) =>
  fc.record({
    v: fc.constant(1 as const),
    cluster: fc.constant(keys.clusterId),
    node: hex(1, 64).filter((n) => n !== SELF),
    port: fc.integer({ min: 1, max: 65535 }),
    scheme: fc.constantFrom('http' as const, 'https' as const),
    ts: fc.integer({ min: NOW - MAX_SKEW_MS, max: NOW + MAX_SKEW_MS }),
    nonce: hex(32, 32),
  });

/** Announcements together with the keys that sign them. */
const signedArb = clusterKeyArb.chain((clusterKey) => {
  const keys = deriveDiscoveryKeys(clusterKey);
  return fc.record({
    clusterKey: fc.constant(clusterKey),
    keys: fc.constant(keys),
    a: announcementArb(keys),
  });
});

function verify(
  packet: Uint8Array,
  keys: DiscoveryKeys,
  now = NOW,
  replay = new ReplayCache(),
): VerifyResult {
  return verifyAnnouncement(packet, { keys, selfNodeId: SELF, now, replay });
}

describe('discovery announcements', () => {
  it('verify with the key that signed them', () => {
    fc.assert(
      fc.property(signedArb, ({ keys, a }) => {
        expect(verify(encodeAnnouncement(a, keys), keys)).toEqual({ ok: true, announcement: a });
      }),
    );
  });

  it('are refused under any other cluster key', () => {
    fc.assert(
      fc.property(signedArb, clusterKeyArb, ({ clusterKey, keys, a }, otherKey) => {
        fc.pre(otherKey !== clusterKey);
        const result = verify(encodeAnnouncement(a, keys), deriveDiscoveryKeys(otherKey));
        expect(result).toEqual({ ok: false, reason: 'other-cluster' });
      }),
    );
  });

  it('are refused when they carry our cluster id but another key signed them', () => {
    fc.assert(
      fc.property(signedArb, clusterKeyArb, ({ clusterKey, keys, a }, otherKey) => {
        fc.pre(otherKey !== clusterKey);
        const forger = {
          clusterId: keys.clusterId,
          signingKey: deriveDiscoveryKeys(otherKey).signingKey,
        };
        expect(verify(encodeAnnouncement(a, forger), keys)).toEqual({
          ok: false,
          reason: 'bad-signature',
        });
      }),
    );
  });

  it('are refused when any byte is changed', () => {
    fc.assert(
      fc.property(
        signedArb,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        ({ keys, a }, position, flip) => {
          const packet = encodeAnnouncement(a, keys);
          const i = position % packet.length;
          packet[i] = (packet[i] ?? 0) ^ flip;
          expect(verify(packet, keys).ok).toBe(false);
        },
      ),
    );
  });

  it('are refused when bytes are added or removed', () => {
    fc.assert(
      fc.property(
        signedArb,
        fc.nat(),
        fc.uint8Array({ maxLength: 4 }),
        ({ keys, a }, position, extra) => {
          const packet = encodeAnnouncement(a, keys);
          const i = position % packet.length;
          const inserted = Buffer.concat([packet.subarray(0, i), extra, packet.subarray(i)]);
          const removed = Buffer.concat([packet.subarray(0, i), packet.subarray(i + 1)]);
          if (extra.length > 0) expect(verify(inserted, keys).ok).toBe(false);
          expect(verify(removed, keys).ok).toBe(false);
        },
      ),
    );
  });

  it('are refused when older or newer than the skew window', () => {
    fc.assert(
      fc.property(
        signedArb,
        fc.integer({ min: 1, max: 10 * MAX_SKEW_MS }),
        fc.boolean(),
        ({ keys, a }, beyond, late) => {
          const packet = encodeAnnouncement(a, keys);
          const now = late ? a.ts + MAX_SKEW_MS + beyond : a.ts - MAX_SKEW_MS - beyond;
          expect(verify(packet, keys, now)).toEqual({ ok: false, reason: 'stale' });
        },
      ),
    );
  });

  it('are refused when replayed within the window', () => {
    fc.assert(
      fc.property(signedArb, fc.integer({ min: 0, max: MAX_SKEW_MS }), ({ keys, a }, later) => {
        const packet = encodeAnnouncement(a, keys);
        const replay = new ReplayCache();
        expect(verify(packet, keys, NOW, replay).ok).toBe(true);
        const now = Math.min(NOW + later, a.ts + MAX_SKEW_MS);
        expect(verify(packet, keys, now, replay)).toEqual({ ok: false, reason: 'replay' });
      }),
    );
  });

  it('are refused when they come from this node', () => {
    const keys = deriveDiscoveryKeys('a cluster key of some length');
    fc.assert(
      fc.property(announcementArb(keys), (a) => {
        const own = encodeAnnouncement({ ...a, node: SELF }, keys);
        expect(verify(own, keys)).toEqual({ ok: false, reason: 'self' });
      }),
    );
  });

  it('refuse junk as malformed', () => {
    const keys = deriveDiscoveryKeys('a cluster key of some length');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array(),
          fc.json().map((s) => Buffer.from(s)),
        ),
        (junk) => {
          expect(verify(junk, keys)).toEqual({ ok: false, reason: 'malformed' });
        },
      ),
    );
    const valid = encodeAnnouncement(
      {
        v: 1,
        cluster: keys.clusterId,
        node: 'bb',
        port: 7070,
        scheme: 'http',
        ts: NOW,
        nonce: 'c'.repeat(32),
      },
      keys,
    );
    // Same value, different bytes: only the canonical encoding is accepted.
    const spaced = Buffer.from(JSON.stringify(JSON.parse(valid.toString()), null, 1));
    expect(verify(spaced, keys)).toEqual({ ok: false, reason: 'malformed' });
    expect(verify(Buffer.alloc(2000, 0x20), keys)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('derive a stable public cluster id that does not reveal the key', () => {
    const keys = deriveDiscoveryKeys('correct horse battery staple');
    expect(keys.clusterId).toMatch(/^[0-9a-f]{16}$/);
    expect(deriveDiscoveryKeys('correct horse battery staple').clusterId).toBe(keys.clusterId);
    expect(keys.signingKey.toString('hex')).not.toContain(keys.clusterId);
  });
});

describe('replay cache', () => {
  it('forgets nonces once they expire', () => {
    const cache = new ReplayCache();
    expect(cache.remember('n', 100, 0)).toBe(true);
    expect(cache.remember('n', 100, 100)).toBe(false);
    expect(cache.remember('n', 300, 101)).toBe(true);
  });

  it('never holds more than its capacity', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.array(fc.tuple(hex(1, 3), fc.integer({ min: 0, max: 50 })), { maxLength: 200 }),
        (capacity, entries) => {
          const cache = new ReplayCache(capacity);
          let now = 0;
          for (const [nonce, ttl] of entries) {
            cache.remember(nonce, now + ttl, now);
            now += 1;
            expect(cache.size).toBeLessThanOrEqual(capacity);
          }
        },
      ),
    );
  });

  it('drops expired entries before live ones when full', () => {
    const cache = new ReplayCache(2);
    cache.remember('old', 10, 0);
    cache.remember('live', 1000, 1);
    cache.remember('new', 1000, 20); // evicts 'old' (expired), keeps 'live'
    expect(cache.remember('live', 1000, 21)).toBe(false);
  });
});
