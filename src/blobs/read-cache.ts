/**
 * A process-local cache of blobs read from a remote store (S3), on the local disk: a blob's
 * bytes never change under its name (content addressing), so a copy is valid for as long as
 * the blob lives, and a read served from here costs a local file read instead of a request to
 * the store (on the test Swift, 5 ms of the store's CPU per 200 KB GET and 3-4 ms of the
 * node's). Filled by whole-blob reads as they stream to their reader (hashed on the way, kept
 * only when the bytes hash to their name), least recently used first out beyond `capBytes`.
 * Emptied at start. Trashing a blob through this process drops its copy; a blob another process
 * of the site trashed may still be read here, which the callers allow: the file routes read
 * only pictures the metadata lists as alive, and a peer verifies what it fetches.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream';
import type { ByteRange } from './blob-store.js';
import { isNotFound } from './local-files.js';

export class BlobReadCache {
  /** Cached blobs and their sizes, least recently used first. */
  private readonly entries = new Map<string, number>();
  private held = 0;

  constructor(
    private readonly dir: string,
    readonly capBytes: number,
  ) {}

  async init(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
  }

  /** Blobs up to this size are kept (a few of the largest fit at once). */
  get maxBlobBytes(): number {
    return Math.floor(this.capBytes / 8);
  }

  /** The cached bytes (or a range of them), or null when this blob is not here. */
  async open(hash: string, range?: ByteRange): Promise<Readable | null> {
    const size = this.entries.get(hash);
    if (size === undefined) return null;
    this.entries.delete(hash);
    this.entries.set(hash, size);
    try {
      // Opened now: an eviction after this point unlinks a file that stays readable.
      const handle = await open(join(this.dir, hash), 'r');
      return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /**
   * The blob's bytes as they stream from `source` to the reader, kept here on the way when they
   * hash to `hash` and the reader takes them all. Never slows or fails the reader: a write
   * error only means the copy is not kept.
   */
  keep(hash: string, source: Readable): Readable {
    const temp = join(this.dir, `${hash}.${randomUUID()}.tmp`);
    const out = createWriteStream(temp);
    let failed = false;
    out.on('error', () => {
      failed = true;
    });
    const digest = createHash('sha256');
    let size = 0;
    const settle = (whole: boolean) => {
      out.end(() => {
        const ok = whole && !failed && digest.digest('hex') === hash && size <= this.maxBlobBytes;
        const done = ok
          ? rename(temp, join(this.dir, hash)).then(() => {
              this.add(hash, size);
            })
          : null;
        void (done ?? rm(temp, { force: true })).catch(() => rm(temp, { force: true }));
      });
    };
    let ended = false;
    const tee = new Transform({
      transform(chunk: Buffer, _encoding: BufferEncoding, next: TransformCallback) {
        size += chunk.length;
        digest.update(chunk);
        if (!failed) out.write(chunk);
        next(null, chunk);
      },
      flush(next: TransformCallback) {
        ended = true;
        settle(true);
        next();
      },
    });
    tee.once('close', () => {
      if (!ended) settle(false);
    });
    return pipeline(source, tee, () => undefined);
  }

  /** Forgets a blob (trashed through this process). */
  async drop(hash: string): Promise<void> {
    const size = this.entries.get(hash);
    if (size === undefined) return;
    this.entries.delete(hash);
    this.held -= size;
    await rm(join(this.dir, hash), { force: true });
  }

  private add(hash: string, size: number): void {
    if (this.entries.has(hash)) return;
    this.entries.set(hash, size);
    this.held += size;
    for (const [oldest, bytes] of this.entries) {
      if (this.held <= this.capBytes) break;
      this.entries.delete(oldest);
      this.held -= bytes;
      void rm(join(this.dir, oldest), { force: true });
    }
  }
}
