/**
 * A process-local cache of blobs read from a remote store (S3), on the local disk: a blob's
 * bytes never change under its name (content addressing), so a copy is valid for as long as
 * the blob lives, and a read served from here costs a local file read instead of a request to
 * the store (on the test Swift, 3.4 ms of the store's CPU per 200 KB GET and 2.2 ms of the
 * node's). Filled by whole-blob reads as they stream to their reader (hashed on the way, kept
 * only when the bytes hash to their name), and by this process's own uploads and peer fetches
 * once the store holds them (their bytes were hashed on the way in); least recently used first
 * out beyond `capBytes`. Emptied at start.
 *
 * Concurrent misses of one blob make one GET: while a whole read fills the copy, other whole
 * reads of that blob wait for it (at most JOIN_WAIT_MS, then they ask the store themselves);
 * ranges do not wait.
 *
 * Trashing a blob through this process drops its copy; a blob another process of the site
 * trashed may still be read here until evicted. That never serves bytes a reader may not have:
 * every caller checks the metadata (shared by the site's processes) before reading — the file
 * routes read only pictures listed as alive and visible to the user, the zip and peer routes ask
 * the store for the blob's size first — and the bytes of a name never change.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream';
import type { ByteRange } from './blob-store.js';
import { isNotFound } from './local-files.js';

/** A whole read from the store under way (`BlobReadCache.begin`). */
export interface Fill {
  /** The bytes as they stream to the reader, kept on the way (see `keep`). */
  keep(source: Readable): Readable;
  /** The read gave nothing to keep: readers waiting for it go on. */
  abandon(): void;
}

/** The largest chunk a cached blob is read in (more would hold more memory per reader). */
const READ_CHUNK_BYTES = 256 * 1024;

/** How long a reader waits for another read of the same blob to fill the cache. */
export const JOIN_WAIT_MS = 2000;

export class BlobReadCache {
  /** Cached blobs and their sizes, least recently used first. */
  private readonly entries = new Map<string, number>();
  private held = 0;
  /** Blobs being read from the store into the cache now: settled when kept or given up. */
  private readonly filling = new Map<string, Promise<void>>();

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
  async open(hash: string, range?: ByteRange): Promise<{ body: Readable; length: number } | null> {
    const size = this.entries.get(hash);
    if (size === undefined) return null;
    this.entries.delete(hash);
    this.entries.set(hash, size);
    try {
      // Opened now: an eviction after this point unlinks a file that stays readable.
      const handle = await open(join(this.dir, hash), 'r');
      const length = range ? range.end - range.start + 1 : size;
      // A photo in one read (or a few) rather than 64 KiB ones: each is a hop through libuv's
      // threads and a chunk for the socket.
      const highWaterMark = Math.min(Math.max(length, 16 * 1024), READ_CHUNK_BYTES);
      const body = handle.createReadStream(
        range ? { start: range.start, end: range.end, highWaterMark } : { highWaterMark },
      );
      return { body, length };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /**
   * Marks a whole read of `hash` from the store as under way, before its GET is sent, so that
   * concurrent readers of the blob wait for it (`joinFill`) instead of sending theirs. The caller
   * then passes the GET's body to `keep`, or calls `abandon` (not found, too large, an error).
   */
  begin(hash: string): Fill {
    let filled = (): void => undefined;
    const fill = new Promise<void>((resolve) => {
      filled = resolve;
    });
    this.filling.set(hash, fill);
    let done = false;
    const settled = (): void => {
      if (done) return;
      done = true;
      if (this.filling.get(hash) === fill) this.filling.delete(hash);
      filled();
    };
    return { keep: (source) => this.keep(hash, source, settled), abandon: settled };
  }

  /**
   * The blob's bytes as they stream from `source` to the reader, kept here on the way when they
   * hash to `hash` and the reader takes them all. Never slows or fails the reader: a write
   * error only means the copy is not kept. `settled` is called once the copy is kept or not.
   */
  private keep(hash: string, source: Readable, settled: () => void): Readable {
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
        void (done ?? rm(temp, { force: true }))
          .catch(() => rm(temp, { force: true }))
          .finally(settled);
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

  /**
   * When a read of `hash` into the cache is under way, a promise settled once it has kept the
   * copy or given up (or after `waitMs`); else null. Synchronous, so that a caller that gets
   * null can `begin` its own read before any other reader looks.
   */
  joinFill(hash: string, waitMs = JOIN_WAIT_MS): Promise<void> | null {
    const fill = this.filling.get(hash);
    if (fill === undefined) return null;
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      fill,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, waitMs);
      }),
    ]).finally(() => {
      clearTimeout(timer);
    });
  }

  /**
   * Keeps verified bytes this process just wrote to the store (an upload staged in memory).
   * Never fails its caller: a write error only means the copy is not kept.
   */
  async put(hash: string, bytes: Buffer): Promise<void> {
    if (bytes.length > this.maxBlobBytes || this.entries.has(hash)) return;
    const temp = join(this.dir, `${hash}.${randomUUID()}.tmp`);
    try {
      await writeFile(temp, bytes);
      await rename(temp, join(this.dir, hash));
      this.add(hash, bytes.length);
    } catch {
      await rm(temp, { force: true });
    }
  }

  /**
   * Takes a verified local file of `size` bytes this process just wrote to the store (a staged
   * upload or a peer fetch) in place of deleting it: true when moved here, else the caller
   * removes it.
   */
  async adopt(hash: string, file: string, size: number): Promise<boolean> {
    if (size > this.maxBlobBytes || this.entries.has(hash)) return false;
    try {
      await rename(file, join(this.dir, hash));
    } catch {
      return false;
    }
    this.add(hash, size);
    return true;
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
