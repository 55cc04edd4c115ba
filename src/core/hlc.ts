/**
 * Hybrid logical clock (Kulkarni et al.): a timestamp that stays close to wall time, never goes
 * backwards on one node, and always moves past every timestamp the node has seen. Timestamps are
 * encoded as fixed-width strings so that plain string comparison is the total order Mosaic uses
 * for last-writer-wins: wall time, then counter, then node id as the tie-break.
 *
 *   "0001732190000000-0000-<nodeId>"
 *
 * Pure: the caller supplies the wall clock, and the clock state is a plain value.
 */
export interface Hlc {
  readonly wall: number; // milliseconds since the epoch
  readonly counter: number;
  readonly node: string;
}

const WALL_DIGITS = 16;
const COUNTER_DIGITS = 4;
const MAX_COUNTER = 16 ** COUNTER_DIGITS - 1;
/**
 * How far ahead of our wall clock a remote timestamp may be before we refuse it, and so the most
 * a remote timestamp can drag this clock ahead of wall time. The same as the peer signature's
 * timestamp window (replication/peer-auth.ts): a peer whose clock is further off cannot talk to
 * us at all, so a legitimate timestamp from a direct peer is always within it. A timestamp
 * further ahead (from a device, or through a third node) is refused, not lost: its operation
 * stays unlogged, and anti-entropy offers it again until our wall clock is within the bound,
 * i.e. it arrives (skew - bound) late.
 */
export const MAX_DRIFT_MS = 60 * 1000;

/** A remote timestamp too far ahead of our wall clock (see MAX_DRIFT_MS). */
export class ClockAheadError extends Error {
  constructor(
    readonly aheadMs: number,
    readonly limitMs: number = MAX_DRIFT_MS,
  ) {
    super(`Remote clock is ${aheadMs} ms ahead of ours (limit ${limitMs} ms)`);
    this.name = 'ClockAheadError';
  }
}

/** Whether a remote timestamp is close enough to our wall clock `now` to be taken in. */
export function withinDrift(remote: Hlc, now: number): boolean {
  return remote.wall - now <= MAX_DRIFT_MS;
}

const HLC_PATTERN = /^(\d{16})-([0-9a-f]{4})-([A-Za-z0-9_-]{1,64})$/;

export function encodeHlc(h: Hlc): string {
  return `${String(h.wall).padStart(WALL_DIGITS, '0')}-${h.counter
    .toString(16)
    .padStart(COUNTER_DIGITS, '0')}-${h.node}`;
}

export function decodeHlc(s: string): Hlc {
  const m = HLC_PATTERN.exec(s);
  if (!m) throw new Error(`Not a hybrid logical clock timestamp: ${JSON.stringify(s)}`);
  return { wall: Number(m[1]), counter: parseInt(m[2] ?? '0', 16), node: m[3] ?? '' };
}

export function isHlc(s: string): boolean {
  return HLC_PATTERN.test(s);
}

/** Total order on encoded timestamps (the encoding makes it string order). */
export function compareHlc(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function maxHlc(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return a >= b ? a : b;
}

/** A new timestamp for a local event. */
export function tick(last: Hlc, now: number): Hlc {
  if (now > last.wall) return { wall: now, counter: 0, node: last.node };
  return bump(last.wall, last.counter, last.node);
}

/** Advance past a timestamp received from another node. */
export function receive(last: Hlc, remote: Hlc, now: number): Hlc {
  if (!withinDrift(remote, now)) throw new ClockAheadError(remote.wall - now);
  const wall = Math.max(last.wall, remote.wall, now);
  if (wall === last.wall && wall === remote.wall) {
    return bump(wall, Math.max(last.counter, remote.counter), last.node);
  }
  if (wall === last.wall) return bump(wall, last.counter, last.node);
  if (wall === remote.wall) return bump(wall, remote.counter, last.node);
  return { wall, counter: 0, node: last.node };
}

function bump(wall: number, counter: number, node: string): Hlc {
  // The counter only grows within one millisecond; if it would overflow, borrow the next
  // millisecond instead (stays monotonic, drifts at most a few ms under extreme load).
  if (counter >= MAX_COUNTER) return { wall: wall + 1, counter: 0, node };
  return { wall, counter: counter + 1, node };
}

/**
 * A node's clock: the mutable holder around the pure functions above. One per node instance, so
 * several nodes can live in one test process.
 */
export class HybridClock {
  private last: Hlc;

  constructor(
    node: string,
    private readonly now: () => number = Date.now,
    lastIssued?: string | null,
  ) {
    this.last = lastIssued ? { ...decodeHlc(lastIssued), node } : { wall: 0, counter: 0, node };
  }

  next(): string {
    this.last = tick(this.last, this.now());
    return encodeHlc(this.last);
  }

  /** Moves past a remote timestamp; throws ClockAheadError when it is too far ahead. */
  observe(remote: string): void {
    this.last = receive(this.last, decodeHlc(remote), this.now());
  }

  /** How far a remote timestamp is beyond the drift bound (0: it may be observed). */
  excessAhead(remote: string): number {
    const ahead = decodeHlc(remote).wall - this.now();
    return ahead > MAX_DRIFT_MS ? ahead : 0;
  }
}
