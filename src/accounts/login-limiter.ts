/**
 * Sign-in rate limiting at one node, per account and per client address (rules in
 * core/login-limit.ts). A try is counted as a failure *before* the password is checked and
 * taken back if it was right, so parallel guesses cannot slip past the count while scrypt runs;
 * a blocked key answers 429 without checking the password at all, so the right password does
 * not get through either. Every outcome is also an event for the other nodes (login-fanout.ts),
 * which fold them in with `receive`: spreading guesses over nodes does not add capacity.
 */
import { TooManyRequestsError } from '../core/errors.js';
import {
  ACCOUNT_POLICY,
  ADDRESS_POLICY,
  addFailure,
  addressKey,
  live,
  removeFailure,
  retryAfterMs,
  type LimitPolicy,
  type LimitState,
} from './core/login-limit.js';

export interface LoginEvent {
  /** What is limited: an account name, or a client address key (see addressKey). */
  readonly scope: 'account' | 'address';
  readonly key: string;
  readonly at: number;
  readonly outcome: 'failure' | 'success';
}

export interface LoginAttempt {
  readonly username: string;
  readonly address: string;
}

/** Keys kept per scope at most; past that the oldest are dropped (memory stays bounded). */
const MAX_KEYS = 100_000;

export class LoginLimiter {
  private readonly accounts = new Map<string, LimitState>();
  private readonly addresses = new Map<string, LimitState>();
  private readonly listeners = new Set<(events: readonly LoginEvent[]) => void>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly policies: { account: LimitPolicy; address: LimitPolicy } = {
      account: ACCOUNT_POLICY,
      address: ADDRESS_POLICY,
    },
  ) {}

  /** Admits a try (counting it as a failure in advance) or throws 429 with Retry-After. */
  begin(username: string, address: string): LoginAttempt {
    const now = this.now();
    const key = addressKey(address);
    const wait = Math.max(
      retryAfterMs(this.accounts.get(username), now, this.policies.account),
      retryAfterMs(this.addresses.get(key), now, this.policies.address),
    );
    if (wait > 0) throw new TooManyRequestsError(Math.ceil(wait / 1000));
    this.bump(this.accounts, username, now, this.policies.account);
    this.bump(this.addresses, key, now, this.policies.address);
    return { username, address: key };
  }

  /** The password was checked: a success clears the account and takes back the advance. */
  finish(attempt: LoginAttempt, ok: boolean): void {
    const at = this.now();
    if (ok) {
      this.accounts.delete(attempt.username);
      this.set(this.addresses, attempt.address, removeFailure(this.addresses.get(attempt.address)));
    }
    const outcome: LoginEvent['outcome'] = ok ? 'success' : 'failure';
    this.emit([
      { scope: 'account', key: attempt.username, at, outcome },
      // A success says nothing about the address to other nodes (it was never counted there).
      ...(ok ? [] : [{ scope: 'address' as const, key: attempt.address, at, outcome }]),
    ]);
  }

  /** Outcomes from other nodes. Times in the future are taken as now. */
  receive(events: readonly LoginEvent[]): void {
    const now = this.now();
    for (const event of events) {
      const at = Math.min(event.at, now);
      if (event.scope === 'account' && event.outcome === 'success') {
        this.accounts.delete(event.key);
      } else if (event.outcome === 'failure') {
        const [map, policy] =
          event.scope === 'account'
            ? [this.accounts, this.policies.account]
            : [this.addresses, this.policies.address];
        this.bump(map, event.key, at, policy);
      }
    }
  }

  onEvents(listener: (events: readonly LoginEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Drops what has been forgotten (run now and then). */
  sweep(): void {
    const now = this.now();
    for (const [map, policy] of [
      [this.accounts, this.policies.account],
      [this.addresses, this.policies.address],
    ] as const) {
      for (const [key, state] of map) if (!live(state, now, policy)) map.delete(key);
    }
  }

  private bump(map: Map<string, LimitState>, key: string, at: number, policy: LimitPolicy): void {
    this.set(map, key, addFailure(map.get(key), at, policy));
  }

  private set(map: Map<string, LimitState>, key: string, state: LimitState | undefined): void {
    map.delete(key); // re-inserted last: the map's order is least recently touched first
    if (state === undefined) return;
    map.set(key, state);
    if (map.size > MAX_KEYS) {
      const oldest = map.keys().next();
      if (oldest.done !== true) map.delete(oldest.value);
    }
  }

  private emit(events: readonly LoginEvent[]): void {
    for (const listener of this.listeners) listener(events);
  }
}
