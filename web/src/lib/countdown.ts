/** The voting countdown: pure arithmetic over the deadline and the current time. */

/** Milliseconds left until `deadline` (ISO), never negative; null without a deadline. */
export function remainingMs(deadline: string | null, now: number): number | null {
  if (deadline === null) return null;
  const end = Date.parse(deadline);
  if (Number.isNaN(end)) return null;
  return Math.max(0, end - now);
}

/** "1:05", "0:09", "12:00" — whole seconds, rounded up so that 0:00 means it is over. */
export function formatCountdown(ms: number): string {
  const total = Math.ceil(Math.max(0, ms) / 1000);
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${minutes}:${String(seconds).padStart(2, '0')}`;
}

/** Fraction of the voting period still left, 0..1 (for a ring or a bar). */
export function fractionLeft(ms: number, periodSeconds: number): number {
  if (periodSeconds <= 0) return 0;
  return Math.min(1, Math.max(0, ms / (periodSeconds * 1000)));
}
