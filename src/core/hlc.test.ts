import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ClockAheadError,
  HybridClock,
  MAX_DRIFT_MS,
  compareHlc,
  decodeHlc,
  encodeHlc,
  receive,
  tick,
  type Hlc,
} from './hlc.js';

const hlcArb = fc.record({
  wall: fc.integer({ min: 0, max: 2 ** 45 }),
  counter: fc.integer({ min: 0, max: 0xffff }),
  node: fc.stringMatching(/^[a-f0-9]{1,16}$/),
});

describe('hybrid logical clock', () => {
  it('round-trips through its encoding', () => {
    fc.assert(
      fc.property(hlcArb, (h) => {
        expect(decodeHlc(encodeHlc(h))).toEqual(h);
      }),
    );
  });

  it('orders encodings like (wall, counter, node)', () => {
    fc.assert(
      fc.property(hlcArb, hlcArb, (a, b) => {
        const byFields =
          a.wall !== b.wall
            ? Math.sign(a.wall - b.wall)
            : a.counter !== b.counter
              ? Math.sign(a.counter - b.counter)
              : compareHlc(a.node, b.node);
        expect(compareHlc(encodeHlc(a), encodeHlc(b))).toBe(byFields);
      }),
    );
  });

  it('never goes backwards, even when the wall clock does', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1 }), (walls) => {
        let last: Hlc = { wall: 0, counter: 0, node: 'a' };
        for (const now of walls) {
          const next = tick(last, now);
          expect(compareHlc(encodeHlc(next), encodeHlc(last))).toBe(1);
          last = next;
        }
      }),
    );
  });

  it('moves past every remote timestamp it receives', () => {
    fc.assert(
      fc.property(hlcArb, hlcArb, fc.integer({ min: 0, max: 2 ** 45 }), (local, remote, now) => {
        fc.pre(remote.wall - now <= MAX_DRIFT_MS);
        const next = receive({ ...local, node: 'me' }, remote, now);
        expect(next.wall).toBeGreaterThanOrEqual(Math.max(local.wall, remote.wall));
        const asMine = (h: Hlc) => encodeHlc({ ...h, node: 'me' });
        expect(compareHlc(asMine(next), asMine(local))).toBe(1);
        expect(compareHlc(asMine(next), asMine(remote))).toBe(1);
      }),
    );
  });

  it('refuses a remote clock far in the future with a named error', () => {
    expect(() =>
      receive(
        { wall: 0, counter: 0, node: 'a' },
        { wall: MAX_DRIFT_MS + 1001, counter: 0, node: 'b' },
        1000,
      ),
    ).toThrow(ClockAheadError);
  });

  it('keeps the drift bound tighter than the old five minutes (the peer window)', () => {
    expect(MAX_DRIFT_MS).toBe(60_000);
  });

  it('is never dragged more than the bound ahead of wall time, whatever it receives', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 44 }),
        fc.array(
          fc.tuple(fc.integer({ min: -10 * MAX_DRIFT_MS, max: 10 * MAX_DRIFT_MS }), fc.nat(0xffff)),
          {
            maxLength: 50,
          },
        ),
        (start, remotes) => {
          const now = start;
          const clock = new HybridClock('me', () => now);
          for (const [skew, counter] of remotes) {
            const remote = encodeHlc({ wall: Math.max(0, now + skew), counter, node: 'peer' });
            const excess = clock.excessAhead(remote);
            expect(excess > 0).toBe(skew > MAX_DRIFT_MS);
            if (excess > 0) {
              expect(() => {
                clock.observe(remote);
              }).toThrow(ClockAheadError);
            } else {
              clock.observe(remote);
            }
          }
          // +1: a counter overflow borrows the next millisecond.
          expect(decodeHlc(clock.next()).wall).toBeLessThanOrEqual(now + MAX_DRIFT_MS + 1);
        },
      ),
    );
  });

  it('resumes after a restart without reissuing a timestamp', () => {
    let now = 5000;
    const first = new HybridClock('n1', () => now);
    const a = first.next();
    const b = first.next();
    now = 4000; // the wall clock stepped back while the node was down
    const second = new HybridClock('n1', () => now, b);
    const c = second.next();
    expect([a, b, c]).toEqual([...new Set([a, b, c])].sort());
  });
});
