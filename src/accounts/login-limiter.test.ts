import { describe, expect, it } from 'vitest';
import { TooManyRequestsError } from '../core/errors.js';
import type { LimitPolicy } from './core/login-limit.js';
import { LoginLimiter, type LoginEvent } from './login-limiter.js';

const account: LimitPolicy = {
  freeFailures: 3,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  forgetAfterMs: 3_600_000,
};
const address: LimitPolicy = { ...account, freeFailures: 10 };

function limiter(clock: { now: number }) {
  return new LoginLimiter(() => clock.now, { account, address });
}

function refused(fn: () => unknown): number | null {
  try {
    fn();
    return null;
  } catch (error) {
    if (error instanceof TooManyRequestsError) return error.retryAfterSeconds;
    throw error;
  }
}

describe('LoginLimiter', () => {
  it('counts tries in flight, so parallel guesses cannot pass the free ones', () => {
    const clock = { now: 0 };
    const l = limiter(clock);
    // Eight guesses at once: none has finished when the next one starts.
    const admitted: unknown[] = [];
    for (let i = 0; i < 8; i++) refused(() => admitted.push(l.begin('alice', '192.0.2.1')));
    expect(admitted).toHaveLength(3);
  });

  it('refuses the right password too while blocked, and a success clears the account', () => {
    const clock = { now: 0 };
    const l = limiter(clock);
    for (let i = 0; i < 3; i++) l.finish(l.begin('alice', '192.0.2.1'), false);
    expect(refused(() => l.begin('alice', '192.0.2.9'))).toBe(1);
    clock.now = 1000;
    const attempt = l.begin('alice', '192.0.2.9');
    l.finish(attempt, true);
    expect(refused(() => l.begin('alice', '192.0.2.9'))).toBeNull();
  });

  it('limits one address across accounts, but not other addresses', () => {
    const clock = { now: 0 };
    const l = limiter(clock);
    for (let i = 0; i < 10; i++) l.finish(l.begin(`user${i}`, '198.51.100.7'), false);
    expect(refused(() => l.begin('user99', '198.51.100.7'))).toBe(1);
    expect(refused(() => l.begin('user99', '198.51.100.8'))).toBeNull();
  });

  it('folds in failures reported by other nodes and tells them its own', () => {
    const clock = { now: 5000 };
    const a = limiter(clock);
    const b = limiter(clock);
    const sent: LoginEvent[] = [];
    a.onEvents((events) => sent.push(...events));
    a.finish(a.begin('alice', '192.0.2.1'), false);
    a.finish(a.begin('alice', '192.0.2.2'), false);
    expect(sent.filter((e) => e.scope === 'account')).toHaveLength(2);
    b.receive(sent);
    b.finish(b.begin('alice', '192.0.2.3'), false);
    expect(refused(() => b.begin('alice', '192.0.2.4'))).toBe(1);
    // A time in the future from a peer is taken as now: it cannot block for longer.
    const c = limiter(clock);
    c.receive(
      Array.from({ length: 10 }, () => ({
        scope: 'account' as const,
        key: 'bob',
        at: 10 ** 13,
        outcome: 'failure' as const,
      })),
    );
    expect(refused(() => c.begin('bob', '192.0.2.1'))).toBeLessThanOrEqual(60);
  });
});
