/**
 * The failures of work that runs again and again by itself (a background tick, a lease's
 * renewal), told without flooding the log while they last: the first failure of a run of them at
 * warn with its error, then at most one warn a minute (how many since), the rest at debug, and
 * one line at info once the work succeeds again. A database out of reach made the events' tick
 * log its whole stack about four times a second per process, for as long as the outage lasted.
 */
import type { Logger } from 'pino';

/** At most one warn this often while failures go on. */
export const FAILURE_WARN_EVERY_MS = 60_000;

export class FailureLog {
  private failing: { since: number; count: number; warnedAt: number } | null = null;

  constructor(
    private readonly log: Logger,
    /** What failed, as the log lines name it: "event background work". */
    private readonly what: string,
    private readonly now: () => number = Date.now,
  ) {}

  failed(err: unknown): void {
    const at = this.now();
    const run = this.failing;
    if (run === null) {
      this.failing = { since: at, count: 1, warnedAt: at };
      this.log.warn({ err }, `${this.what} failed`);
      return;
    }
    run.count++;
    if (at - run.warnedAt >= FAILURE_WARN_EVERY_MS) {
      run.warnedAt = at;
      this.log.warn(
        { err, failures: run.count, forMs: at - run.since },
        `${this.what} still failing`,
      );
    } else {
      this.log.debug({ err, failures: run.count }, `${this.what} failed again`);
    }
  }

  succeeded(): void {
    const run = this.failing;
    if (run === null) return;
    this.failing = null;
    this.log.info(
      { failures: run.count, forMs: this.now() - run.since },
      `${this.what} works again`,
    );
  }
}
