/**
 * The requests of signed-in callers still being answered (a download streaming, an upload's
 * body arriving, a long poll waiting), kept by credential (a token or a session cookie), so
 * that they end when their caller loses access instead of going on for as long as they last.
 *
 * A caller is checked again (once per credential, however many of its requests are in flight):
 *
 * - when told (`recheck`): operations that may take access away arrived (a disable, a
 *   password change, a revoked token: `LiveFeed.onAccessChange`, here, from a peer or from
 *   another process of the site);
 * - every `everyMs` while any request is in flight: what no operation says (a sign-out, a
 *   session's end of life, a bus message lost between the processes of a site);
 * - at its token's expiry, which needs no check: its requests are cut then.
 *
 * The requests of a caller refused are cut, each in its own way (`Tracked.cut`). A check that
 * fails (the database out of reach: a PostgreSQL restart, a failover) says nothing either way:
 * the caller was let in, and its requests go on while its checks keep failing for up to
 * `failGraceMs`, then are cut (deny by default, bounded). New requests are refused meanwhile by
 * the auth hook, which cannot read the credential either. No I/O here: the checks and the cuts
 * are given.
 */

/** One request in flight. */
export interface Tracked {
  /** Whether its caller would be let in now (its credential read again). */
  readonly check: () => Promise<boolean>;
  /** Ends it: its caller lost access. Called once at most. */
  readonly cut: () => void;
  /** When its credential stops being valid by itself (an expiring token), ms since the epoch. */
  readonly expiresAt?: number | undefined;
}

export interface InFlightOptions {
  /** How often callers with requests in flight are checked again, told or not. */
  readonly everyMs: number;
  readonly now?: () => number;
  /**
   * How long a caller's checks may keep failing before its requests are cut (default: two
   * rounds of `everyMs`). A database blip no longer ends every long download in flight.
   */
  readonly failGraceMs?: number;
  /** A check that failed; `cut`: its caller's requests were cut (failing for too long). */
  readonly onCheckError?: (err: unknown, cut: boolean) => void;
}

/** setTimeout's longest wait; a later expiry is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The requests in flight of one credential. */
interface Caller {
  readonly requests: Set<Tracked>;
  expiry?: NodeJS.Timeout;
  /** When its checks started failing (none answered since); undefined while they answer. */
  failingSince?: number | undefined;
}

export class InFlight {
  private readonly callers = new Map<string, Caller>();
  private readonly now: () => number;
  private readonly failGraceMs: number;
  private periodic: NodeJS.Timeout | undefined;
  /** The rounds of checks running, if any; `again`: one more was asked for meanwhile. */
  private rounds: Promise<void> | null = null;
  private again = false;

  constructor(private readonly options: InFlightOptions) {
    this.now = options.now ?? Date.now;
    this.failGraceMs = options.failGraceMs ?? 2 * options.everyMs;
  }

  /** Requests in flight. */
  get size(): number {
    let count = 0;
    for (const caller of this.callers.values()) count += caller.requests.size;
    return count;
  }

  /**
   * Keeps `request` under its credential `key` until the returned release is called (its
   * answer ended) or it is cut.
   */
  track(key: string, request: Tracked): () => void {
    let caller = this.callers.get(key);
    if (caller === undefined) {
      caller = { requests: new Set() };
      this.callers.set(key, caller);
      if (request.expiresAt !== undefined) this.expireAt(key, caller, request.expiresAt);
    }
    caller.requests.add(request);
    this.periodic ??= setInterval(() => void this.recheck(), this.options.everyMs).unref();
    const mine = caller;
    return () => {
      mine.requests.delete(request);
      if (mine.requests.size === 0 && this.callers.get(key) === mine) this.forget(key, mine);
    };
  }

  /**
   * Checks every caller with requests in flight, and cuts the requests of those refused.
   * Asked again while a round runs, one more round follows it (a check that read the database
   * before the latest change must not be the last word). Resolves when the rounds are done.
   */
  recheck(): Promise<void> {
    this.again = true;
    this.rounds ??= this.runRounds();
    return this.rounds;
  }

  /** Stops the timers (the server is closing); requests still tracked are left as they are. */
  close(): void {
    clearInterval(this.periodic);
    this.periodic = undefined;
    for (const caller of this.callers.values()) clearTimeout(caller.expiry);
    this.callers.clear();
  }

  private async runRounds(): Promise<void> {
    try {
      while (this.again) {
        this.again = false;
        await Promise.all([...this.callers].map(([key, caller]) => this.checkOne(key, caller)));
      }
    } finally {
      this.rounds = null;
    }
  }

  private async checkOne(key: string, caller: Caller): Promise<void> {
    const [any] = caller.requests;
    if (any === undefined) return;
    let allowed: boolean;
    try {
      allowed = await any.check();
    } catch (err) {
      caller.failingSince ??= this.now();
      const tooLong = this.now() - caller.failingSince >= this.failGraceMs;
      this.options.onCheckError?.(err, tooLong);
      if (tooLong) this.cut(key, caller);
      return;
    }
    caller.failingSince = undefined;
    if (!allowed) this.cut(key, caller);
  }

  private expireAt(key: string, caller: Caller, expiresAt: number): void {
    const wait = Math.min(Math.max(0, expiresAt - this.now()), MAX_TIMER_MS);
    caller.expiry = setTimeout(() => {
      if (this.now() >= expiresAt) this.cut(key, caller);
      else this.expireAt(key, caller, expiresAt);
    }, wait).unref();
  }

  /** Cuts every request of `caller` (still the one tracked under `key`). */
  private cut(key: string, caller: Caller): void {
    if (this.callers.get(key) !== caller) return;
    this.forget(key, caller);
    for (const request of caller.requests) request.cut();
    caller.requests.clear();
  }

  private forget(key: string, caller: Caller): void {
    clearTimeout(caller.expiry);
    this.callers.delete(key);
    if (this.callers.size === 0) {
      clearInterval(this.periodic);
      this.periodic = undefined;
    }
  }
}
