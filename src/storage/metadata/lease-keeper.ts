import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { LeaseRepository } from './lease.repository.js';

/** Default lease time: a dead holder's work moves within TTL + TTL/3 = 4 s. */
export const DEFAULT_LEASE_TTL_MS = 3000;

export interface LeaseKeeperOptions {
  readonly name: string;
  /** Who holds it; default a random id, new for every process start. */
  readonly holder?: string;
  readonly ttlMs?: number;
  /** This process now holds the lease: start the work, with this fencing token. */
  readonly onAcquired?: (token: number) => void;
  /** The lease is lost (or released): stop the work that needs it. */
  readonly onLost?: (token: number) => void;
  readonly onError?: (error: unknown) => void;
  /** The database answered a try (granted or not): errors before it, if any, have ended. */
  readonly onAnswered?: () => void;
}

/**
 * Keeps trying to hold one lease for as long as it runs: every TTL/3 it tries to acquire it
 * or, once held, to renew it. A holder that dies stops renewing, its lease expires at most TTL
 * after its last renewal (on the database's clock), and a standby takes it over on its next
 * try: within TTL + TTL/3 (4 s with the default). A holder that cannot renew (database out of
 * reach) counts the lease lost once TTL has passed since it sent its last successful renewal,
 * before any standby can have it, provided the two clocks run at about the same rate.
 */
export class LeaseKeeper {
  readonly holder: string;
  private readonly ttlMs: number;
  private token: number | null = null;
  private validUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private running = false;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly leases: LeaseRepository,
    private readonly options: LeaseKeeperOptions,
  ) {
    this.holder = options.holder ?? randomBytes(8).toString('hex');
    this.ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops trying and releases the lease if held, so a standby takes it at once. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.pending;
    clearTimeout(this.expiryTimer);
    const token = this.token;
    if (token === null) return;
    this.lose();
    await this.leases.release(this.options.name, this.holder, token).catch((error: unknown) => {
      this.options.onError?.(error);
    });
  }

  /** The fencing token while this process holds the lease (by its own reckoning), else null. */
  heldToken(): number | null {
    return this.token !== null && performance.now() < this.validUntil ? this.token : null;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.pending = this.attempt().finally(() => {
        if (this.running) this.schedule(this.ttlMs / 3);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async attempt(): Promise<void> {
    const { name } = this.options;
    const sentAt = performance.now();
    try {
      const grant =
        this.token === null
          ? await this.leases.acquire(name, this.holder, this.ttlMs)
          : await this.leases.renew(name, this.holder, this.token, this.ttlMs);
      this.options.onAnswered?.();
      if (!this.running) {
        if (grant) await this.leases.release(name, this.holder, grant.token);
        return;
      }
      if (grant === null) {
        if (this.token !== null) this.lose();
        return;
      }
      this.validUntil = sentAt + this.ttlMs;
      this.watchExpiry();
      if (this.token !== grant.token) {
        if (this.token !== null) this.lose();
        this.token = grant.token;
        this.options.onAcquired?.(grant.token);
      }
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  /** Counts the lease lost the moment it may have expired, without waiting for a renewal. */
  private watchExpiry(): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(
      () => {
        if (performance.now() >= this.validUntil) this.lose();
        else this.watchExpiry();
      },
      Math.max(0, this.validUntil - performance.now()),
    );
    this.expiryTimer.unref();
  }

  private lose(): void {
    const token = this.token;
    if (token === null) return;
    this.token = null;
    this.validUntil = 0;
    clearTimeout(this.expiryTimer);
    this.options.onLost?.(token);
  }
}
