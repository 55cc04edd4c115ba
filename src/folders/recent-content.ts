/**
 * The bytes of small files this node has just hashed, by content hash, so that a peer asking
 * for them right after (the usual case: a scan's operations are pushed, the peer pulls at once)
 * is answered without locating, opening and reading each file again.
 *
 * Safe by construction: the bytes kept under a hash are the very bytes that were hashed to it,
 * so they are that content whatever happened to the file since (the receiver verifies anyway).
 * Bounded: at most `maxBytes` and `maxEntries` (oldest out first: each entry also costs a few
 * hundred bytes of its own, which ten thousand tiny files would make the larger part); files
 * above `maxFileBytes` are not kept.
 * Short-lived: an entry goes after `keepMs` (peers ask within a second or two; after a burst the
 * node should not hold its ring for nothing while it idles). One per folder, so a folder's content
 * is only ever served to those who may read that folder.
 *
 * Memory: the bytes are copied into one ring of `maxBytes` (made at the first `put`, let go when
 * the last entry goes), oldest overwritten first, and `get` answers a copy. A Buffer per file
 * kept, then evicted, was old-generation garbage: a 10 000-file scan left ~24 MB of them until a
 * full GC, and glibc kept the pages after (docs/benchmarks.md, "Memory, third pass").
 */
/**
 * The ring's size. 4 MiB: at a 10 000-file scan the peer asks after the scan's end, and the
 * ring answers the last files hashed (1 024 of 4 KiB here; 2 048 at 8 MiB, for 4 MB more of the
 * sender's peak, and each file read instead costs tens of microseconds: docs/benchmarks.md,
 * "Memory, fourth pass"). A burst that fits (the usual live edit) is answered whole.
 */
export const RECENT_BYTES = 4 * 1024 * 1024;

export interface RecentContentOptions {
  readonly maxBytes?: number;
  readonly maxEntries?: number;
  readonly maxFileBytes?: number;
  readonly keepMs?: number;
  readonly now?: () => number;
}

interface Entry {
  /** Where the bytes start, counted from the ring's first byte ever written (never wraps). */
  readonly start: number;
  readonly length: number;
  readonly at: number;
}

export class RecentContent {
  private readonly entries = new Map<string, Entry>();
  private ring: Buffer | undefined;
  /** Where the next bytes go, counted like Entry.start. */
  private written = 0;
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  readonly maxBytes: number;
  readonly maxEntries: number;
  readonly maxFileBytes: number;
  readonly keepMs: number;
  private readonly now: () => number;

  constructor(options: RecentContentOptions = {}) {
    this.maxBytes = options.maxBytes ?? RECENT_BYTES;
    this.maxEntries = options.maxEntries ?? 4096;
    this.maxFileBytes = Math.min(options.maxFileBytes ?? 64 * 1024, this.maxBytes);
    this.keepMs = options.keepMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Keeps a copy of `data` as the content `hash` (the caller hashed exactly these bytes; they
   * may be a view of a buffer the caller reuses: they are copied before this returns).
   */
  put(hash: string, data: Buffer): void {
    if (data.length > this.maxFileBytes || this.entries.has(hash)) return;
    this.ring ??= Buffer.allocUnsafeSlow(this.maxBytes);
    // No entry wraps around the ring's end: one that would fit no more starts again at 0.
    let start = this.written;
    if ((start % this.maxBytes) + data.length > this.maxBytes) {
      start += this.maxBytes - (start % this.maxBytes);
    }
    this.written = start + data.length;
    // Oldest out first, until the bytes about to be overwritten are nobody's, and the bounds hold.
    for (const [oldest, old] of this.entries) {
      if (old.start >= this.written - this.maxBytes && this.entries.size < this.maxEntries) break;
      this.drop(oldest, old);
    }
    data.copy(this.ring, start % this.maxBytes);
    this.entries.set(hash, { start, length: data.length, at: this.now() });
    this.bytes += data.length;
    this.timer ??= this.schedule();
  }

  /**
   * The content `hash` (a copy: the ring's bytes are overwritten later), or null; copied into
   * what `into` gives when it gives a buffer (a response's reused slot: content-frames.ts).
   */
  get(hash: string, into?: (size: number) => Buffer | null): Buffer | null {
    const entry = this.entries.get(hash);
    if (entry === undefined || this.ring === undefined) return null;
    const at = entry.start % this.maxBytes;
    const bytes = this.ring.subarray(at, at + entry.length);
    const target = into?.(entry.length);
    if (target === undefined || target === null) return Buffer.from(bytes);
    return target.subarray(0, bytes.copy(target));
  }

  /** Whether the content `hash` is held. */
  has(hash: string): boolean {
    return this.entries.has(hash);
  }

  get size(): number {
    return this.entries.size;
  }

  get heldBytes(): number {
    return this.bytes;
  }

  /** Drops the entries older than `keepMs` (oldest first: they are in insertion order). */
  expire(): void {
    const cutoff = this.now() - this.keepMs;
    for (const [hash, entry] of this.entries) {
      if (entry.at > cutoff) break;
      this.drop(hash, entry);
    }
    if (this.entries.size === 0) this.release();
  }

  /** Drops everything (the folder is closing). */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.entries.clear();
    this.bytes = 0;
    this.release();
  }

  private drop(hash: string, entry: Entry): void {
    this.entries.delete(hash);
    this.bytes -= entry.length;
  }

  /** Nothing held: the ring goes too (an idle node keeps none of it). */
  private release(): void {
    this.ring = undefined;
    this.written = 0;
  }

  private schedule(): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timer = undefined;
      this.expire();
      if (this.entries.size > 0) this.timer = this.schedule();
    }, this.keepMs);
    timer.unref();
    return timer;
  }
}
