/**
 * The tus lock of a site of several processes: one request at a time may write an upload,
 * whichever process it reaches. @tus/server takes a lock per upload id around every PATCH,
 * HEAD and DELETE; its own `MemoryLocker` only sees one process, and two PATCHes of one upload
 * in two processes (a client that gave up on a slow request and resumed through another
 * process while the first still ran) would both write parts at the same offset.
 *
 * Each lock is a lease row `tus:<id>` (storage/metadata/lease.repository.ts) held by the
 * request, renewed every TTL/3 while held, deleted on unlock. A holder that dies lets it expire
 * after TTL. Inside one process the memory locker comes first, so that a new request still asks
 * the holder there to finish (tus's `requestRelease`); across processes the waiter polls until
 * the other request ends or `acquireTimeoutMs` passes (then 500 ERR_LOCK_TIMEOUT, and the
 * client retries).
 */
import { randomUUID } from 'node:crypto';
import { ERRORS, MemoryLocker, type Lock, type Locker, type RequestRelease } from '@tus/server';
import type { Logger } from 'pino';
import type { LeaseRepository } from '../storage/metadata/lease.repository.js';

export const TUS_LEASE_PREFIX = 'tus:';
export const TUS_LOCK_WAIT = 'tus upload busy in another process: waiting for it';

export interface LeaseLockerOptions {
  readonly ttlMs?: number;
  readonly acquireTimeoutMs?: number;
  readonly pollMs?: number;
}

export class LeaseLocker implements Locker {
  private readonly local: MemoryLocker;
  readonly ttlMs: number;
  readonly acquireTimeoutMs: number;
  readonly pollMs: number;

  constructor(
    readonly leases: LeaseRepository,
    readonly log: Logger,
    options: LeaseLockerOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 15_000;
    this.acquireTimeoutMs = options.acquireTimeoutMs ?? 30_000;
    this.pollMs = options.pollMs ?? 100;
    this.local = new MemoryLocker({ acquireLockTimeout: this.acquireTimeoutMs });
  }

  newLock(id: string): Lock {
    return new LeaseLock(id, this, this.local.newLock(id));
  }

  /** Removes the rows of locks whose holders died (the tus sweep calls it). */
  async sweep(): Promise<number> {
    return this.leases.dropExpired(TUS_LEASE_PREFIX);
  }
}

class LeaseLock implements Lock {
  private readonly name: string;
  /** One holder per lock: two requests in one process must not share a lease. */
  private readonly holder = randomUUID();
  private token: number | null = null;
  private renewal: NodeJS.Timeout | undefined;

  constructor(
    id: string,
    private readonly locker: LeaseLocker,
    private readonly local: Lock,
  ) {
    this.name = `${TUS_LEASE_PREFIX}${id}`;
  }

  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    await this.local.lock(signal, requestRelease);
    try {
      this.token = await this.acquire(signal);
    } catch (error) {
      await this.local.unlock();
      throw error;
    }
    const { leases, ttlMs, log } = this.locker;
    this.renewal = setInterval(() => {
      const token = this.token;
      if (token === null) return;
      leases.renew(this.name, this.holder, token, ttlMs).then(
        (grant) => {
          if (grant === null) log.warn({ lock: this.name }, 'tus upload lock lost while held');
        },
        (err: unknown) => {
          log.warn({ err, lock: this.name }, 'tus upload lock not renewed');
        },
      );
    }, ttlMs / 3);
    this.renewal.unref();
  }

  private async acquire(signal: AbortSignal): Promise<number> {
    const { leases, ttlMs, acquireTimeoutMs, pollMs } = this.locker;
    const deadline = Date.now() + acquireTimeoutMs;
    for (let tries = 0; ; tries++) {
      const grant = await leases.acquire(this.name, this.holder, ttlMs);
      if (grant !== null) return grant.token;
      if (tries === 0) this.locker.log.info({ lock: this.name }, TUS_LOCK_WAIT);
      if (signal.aborted || Date.now() + pollMs > deadline) {
        // tus's own refusal ({status_code, body}), which its server answers as such.
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw ERRORS.ERR_LOCK_TIMEOUT;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /**
   * Never fails: the request's work is done when it unlocks (a last PATCH has made its picture
   * and removed the upload), and a lease row that cannot be deleted now (the database gone at
   * that moment) only holds the upload until it expires. Throwing here turned a finished upload
   * into a 503 whose retry found no upload (404): the client started over.
   */
  async unlock(): Promise<void> {
    clearInterval(this.renewal);
    const token = this.token;
    this.token = null;
    try {
      if (token !== null) await this.locker.leases.drop(this.name, this.holder, token);
    } catch (err) {
      this.locker.log.warn({ err, lock: this.name }, 'tus upload lock not dropped: it expires');
    } finally {
      await this.local.unlock();
    }
  }
}
