/**
 * Sign-in back-off, pure. Each key (an account, or a client address) has a failure count and
 * the time of its last failure. The first `freeFailures` cost nothing; after that the key is
 * blocked for `baseDelayMs * 2^(failures - freeFailures)` after its last failure, never more
 * than `maxDelayMs`, so an attacker can keep an account blocked at most that long per guess.
 * A key with no failure for `forgetAfterMs` starts again from zero.
 *
 * Counts from other nodes are folded in with `addFailure` too: the order in which failures
 * arrive does not change the count or the last failure time.
 */
export interface LimitPolicy {
  readonly freeFailures: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly forgetAfterMs: number;
}

export interface LimitState {
  readonly failures: number;
  readonly lastFailureAt: number;
}

/** Per account: 5 free tries, then 1 s, 2 s, 4 s ... up to 15 min. */
export const ACCOUNT_POLICY: LimitPolicy = {
  freeFailures: 5,
  baseDelayMs: 1000,
  maxDelayMs: 15 * 60 * 1000,
  forgetAfterMs: 60 * 60 * 1000,
};

/** Per client address (all accounts): more room (a household behind one NAT), same ceiling. */
export const ADDRESS_POLICY: LimitPolicy = {
  freeFailures: 20,
  baseDelayMs: 1000,
  maxDelayMs: 15 * 60 * 1000,
  forgetAfterMs: 60 * 60 * 1000,
};

/** The state still in force at `now` (undefined once forgotten). */
export function live(
  state: LimitState | undefined,
  now: number,
  policy: LimitPolicy,
): LimitState | undefined {
  if (state === undefined || state.failures <= 0) return undefined;
  return now - state.lastFailureAt > policy.forgetAfterMs ? undefined : state;
}

export function delayAfter(failures: number, policy: LimitPolicy): number {
  const over = failures - policy.freeFailures;
  if (over < 0) return 0;
  // 2^over grows past the ceiling long before it overflows: cap the exponent.
  return Math.min(policy.baseDelayMs * 2 ** Math.min(over, 40), policy.maxDelayMs);
}

/** How long from `now` the key stays blocked (0: a try is allowed now). */
export function retryAfterMs(
  state: LimitState | undefined,
  now: number,
  policy: LimitPolicy,
): number {
  const current = live(state, now, policy);
  if (!current) return 0;
  return Math.max(0, current.lastFailureAt + delayAfter(current.failures, policy) - now);
}

/** One more failure at `at` (from this node or another). */
export function addFailure(
  state: LimitState | undefined,
  at: number,
  policy: LimitPolicy,
): LimitState {
  const current = live(state, at, policy);
  if (!current) return { failures: 1, lastFailureAt: at };
  return { failures: current.failures + 1, lastFailureAt: Math.max(current.lastFailureAt, at) };
}

/** Undoes one failure counted in advance (the try succeeded). */
export function removeFailure(state: LimitState | undefined): LimitState | undefined {
  if (state === undefined || state.failures <= 1) return undefined;
  return { failures: state.failures - 1, lastFailureAt: state.lastFailureAt };
}

/**
 * The key under which a client address is limited: an IPv4 address as is, an IPv6 address by
 * its /64 (one subscriber usually holds a whole /64), an IPv4-mapped IPv6 address as IPv4.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('%')[0]?.split('::') ?? [];
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const hextets = address.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${hextets
    .slice(0, 4)
    .map((h) => (parseInt(h, 16) || 0).toString(16))
    .join(':')}::/64`;
}
