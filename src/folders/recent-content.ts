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
 * node should not hold 16 MiB for nothing while it idles). One per folder, so a folder's content
 * is only ever served to those who may read that folder.
 */
export interface RecentContentOptions {
  readonly maxBytes?: number;
  readonly maxEntries?: number;
  readonly maxFileBytes?: number;
  readonly keepMs?: number;
  readonly now?: () => number;
}

interface Entry {
  readonly data: Buffer;
  readonly at: number;
}

export class RecentContent {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  readonly maxBytes: number;
  readonly maxEntries: number;
  readonly maxFileBytes: number;
  readonly keepMs: number;
  private readonly now: () => number;

  constructor(options: RecentContentOptions = {}) {
    this.maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    this.maxEntries = options.maxEntries ?? 4096;
    this.maxFileBytes = options.maxFileBytes ?? 64 * 1024;
    this.keepMs = options.keepMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** Keeps `data` as the content `hash` (the caller hashed exactly these bytes). */
  put(hash: string, data: Buffer): void {
    if (data.length > this.maxFileBytes || this.entries.has(hash)) return;
    this.entries.set(hash, { data, at: this.now() });
    this.bytes += data.length;
    for (const [oldest, old] of this.entries) {
      if (this.bytes <= this.maxBytes && this.entries.size <= this.maxEntries) break;
      this.drop(oldest, old);
    }
    this.timer ??= this.schedule();
  }

  get(hash: string): Buffer | null {
    return this.entries.get(hash)?.data ?? null;
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
  }

  /** Drops everything (the folder is closing). */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.entries.clear();
    this.bytes = 0;
  }

  private drop(hash: string, entry: Entry): void {
    this.entries.delete(hash);
    this.bytes -= entry.data.length;
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
