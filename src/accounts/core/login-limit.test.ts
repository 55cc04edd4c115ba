import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ACCOUNT_POLICY,
  addFailure,
  addressKey,
  delayAfter,
  removeFailure,
  retryAfterMs,
  type LimitPolicy,
  type LimitState,
} from './login-limit.js';

const policy: LimitPolicy = {
  freeFailures: 3,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  forgetAfterMs: 600_000,
};

function failAt(times: readonly number[], p = policy): LimitState | undefined {
  let state: LimitState | undefined;
  for (const t of times) state = addFailure(state, t, p);
  return state;
}

describe('login back-off', () => {
  it('lets the free tries through, then doubles the wait up to the ceiling', () => {
    expect(retryAfterMs(failAt([0, 0]), 0, policy)).toBe(0);
    expect(retryAfterMs(failAt([0, 0, 0]), 0, policy)).toBe(1000);
    expect(retryAfterMs(failAt([0, 0, 0, 0]), 0, policy)).toBe(2000);
    expect(retryAfterMs(failAt(Array<number>(50).fill(0)), 0, policy)).toBe(60_000);
    expect(delayAfter(10_000, ACCOUNT_POLICY)).toBe(15 * 60 * 1000);
  });

  it('counts down from the last failure and forgets after a quiet period', () => {
    const state = failAt([0, 0, 0, 500]);
    expect(retryAfterMs(state, 1500, policy)).toBe(1000);
    expect(retryAfterMs(state, 2500, policy)).toBe(0);
    // Long after: a new failure starts from one.
    expect(addFailure(state, 10_000_000, policy)).toEqual({
      failures: 1,
      lastFailureAt: 10_000_000,
    });
  });

  it('removeFailure undoes a failure counted in advance', () => {
    expect(removeFailure(failAt([0]))).toBeUndefined();
    expect(removeFailure(failAt([0, 5]))).toEqual({ failures: 1, lastFailureAt: 5 });
  });

  it('property: the block never exceeds the ceiling and grows with failures', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 80 }),
        (times) => {
          const sorted = [...times].sort((a, b) => a - b);
          const state = failAt(sorted);
          const last = sorted[sorted.length - 1] ?? 0;
          const wait = retryAfterMs(state, last, policy);
          expect(wait).toBeLessThanOrEqual(policy.maxDelayMs);
          const more = retryAfterMs(addFailure(state, last, policy), last, policy);
          expect(more).toBeGreaterThanOrEqual(wait);
        },
      ),
    );
  });

  it('property: within the memory window, arrival order does not change the state', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 500_000 }), { minLength: 1, maxLength: 40 }),
        fc.integer(),
        (times, seed) => {
          const shuffled = [...times].sort((a, b) => ((a * 31 + seed) % 7) - ((b * 31 + seed) % 7));
          expect(failAt(shuffled)).toEqual(failAt(times));
          expect(failAt(times)?.failures).toBe(times.length);
        },
      ),
    );
  });

  it('keys IPv6 clients by their /64 and IPv4-mapped ones as IPv4', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});
