/**
 * Whether a state worth a log line is to be said now: when it differs from the one said last,
 * or when the same one was last said `everyMs` ago. An outage seen by every request (or every
 * balancer probe, every few seconds per process) is then a line when it starts, one a minute
 * while it lasts, and one when it ends, rather than a line per look.
 */
export class SaidAgain {
  private last: { key: string; at: number } | null = null;

  constructor(
    private readonly everyMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether to say `key` now (null: the state is fine again); remembers that it was said. */
  say(key: string | null): boolean {
    const at = this.now();
    const previous = this.last;
    if (key === null) {
      this.last = null;
      // The end of a trouble that was said is worth a line too.
      return previous !== null;
    }
    if (previous !== null && previous.key === key && at - previous.at < this.everyMs) return false;
    this.last = { key, at };
    return true;
  }
}
