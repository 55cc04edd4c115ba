/**
 * The bytes of small files this node has just hashed, by content hash, so that a peer asking
 * for them right after (the usual case: a scan's operations are pushed, the peer pulls at once)
 * is answered without locating, opening and reading each file again.
 *
 * Safe by construction: the bytes kept under a hash are the very bytes that were hashed to it,
 * so they are that content whatever happened to the file since (the receiver verifies anyway).
 * Bounded: at most `maxBytes` (oldest out first); files above `maxFileBytes` are not kept.
 * One per folder, so a folder's content is only ever served to those who may read that folder.
 */
export class RecentContent {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(
    readonly maxBytes = 16 * 1024 * 1024,
    readonly maxFileBytes = 64 * 1024,
  ) {}

  /** Keeps `data` as the content `hash` (the caller hashed exactly these bytes). */
  put(hash: string, data: Buffer): void {
    if (data.length > this.maxFileBytes || this.entries.has(hash)) return;
    this.entries.set(hash, data);
    this.bytes += data.length;
    for (const [oldest, old] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= old.length;
    }
  }

  get(hash: string): Buffer | null {
    return this.entries.get(hash) ?? null;
  }

  get size(): number {
    return this.entries.size;
  }

  get heldBytes(): number {
    return this.bytes;
  }
}
