/**
 * Content-addressed blob store on the local file system.
 *
 *   <root>/blobs/ab/abcdef…   the bytes, named by their SHA-256
 *   <root>/tmp/               uploads in progress (emptied at start: a crash leaves no partial blob)
 *   <root>/trash/abcdef…      deleted bytes, kept for the retention period, then swept
 *   <root>/partial/abcdef…    blobs being fetched from peers (kept across restarts: resumable)
 *
 * Writes stream into a temp file while hashing, are fsynced, then renamed into place (and the
 * directory fsynced), so a blob that exists is always whole. Nothing is buffered in memory.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PayloadTooLargeError } from '../core/errors.js';
import { fsyncDir } from '../core/fsync.js';
import { isSha256Hex } from '../core/ids.js';

export interface StagedBlob {
  readonly hash: string;
  readonly size: number;
  /** The temp file, readable until commit or discard (e.g. to check it is an image). */
  readonly tempPath: string;
}

export class BlobStore {
  readonly blobsDir: string;
  readonly tmpDir: string;
  readonly trashDir: string;
  readonly partialDir: string;

  constructor(root: string) {
    this.partialDir = join(root, 'partial');
    this.blobsDir = join(root, 'blobs');
    this.tmpDir = join(root, 'tmp');
    this.trashDir = join(root, 'trash');
  }

  /** Creates the directories and removes temp files left by a crash. */
  async init(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true });
    await mkdir(this.trashDir, { recursive: true });
    await mkdir(this.partialDir, { recursive: true });
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
  }

  path(hash: string): string {
    assertHash(hash);
    return join(this.blobsDir, hash.slice(0, 2), hash);
  }

  async has(hash: string): Promise<boolean> {
    return (await sizeOf(this.path(hash))) !== null;
  }

  /** Whether the blob is in the store now, synchronously (to decide inside a transaction). */
  hasNow(hash: string): boolean {
    return existsSync(this.path(hash));
  }

  async size(hash: string): Promise<number | null> {
    return sizeOf(this.path(hash));
  }

  /**
   * Streams `source` into a temp file, hashing as it goes. Fails with PayloadTooLargeError
   * (and removes the temp file) as soon as more than `limit` bytes arrive.
   */
  async stage(source: Readable, limit: number): Promise<StagedBlob> {
    const tempPath = join(this.tmpDir, randomUUID());
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
        size += chunk.length;
        if (size > limit) {
          done(new PayloadTooLargeError(limit));
          return;
        }
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(source, meter, createWriteStream(tempPath, { flags: 'wx', flush: true }));
    } catch (error) {
      await rm(tempPath, { force: true });
      throw error;
    }
    return { hash: hash.digest('hex'), size, tempPath };
  }

  /**
   * Moves a staged file into the store (the data was fsynced when the temp file closed).
   * Idempotent: if the blob already exists the temp file is simply removed.
   */
  async commit(staged: StagedBlob): Promise<void> {
    const target = this.path(staged.hash);
    if ((await sizeOf(target)) === staged.size) {
      await this.discard(staged);
      return;
    }
    const dir = join(this.blobsDir, staged.hash.slice(0, 2));
    await mkdir(dir, { recursive: true });
    await rename(staged.tempPath, target);
    await fsyncDir(dir);
  }

  /** Where a blob being fetched from a peer accumulates; survives restarts. */
  partialPath(hash: string): string {
    assertHash(hash);
    return join(this.partialDir, hash);
  }

  /**
   * Writes a fetched blob from `start` (appending to what an earlier, interrupted fetch left),
   * checks that the whole file hashes to `hash` with `size` bytes, and moves it into the store.
   * On a mismatch the partial file is removed, so the next attempt starts over.
   */
  async receive(hash: string, size: number, source: Readable, start: number): Promise<void> {
    const partial = this.partialPath(hash);
    const digest = createHash('sha256');
    if (start > 0) {
      await pipeline(
        createReadStream(partial, { end: start - 1 }),
        async (chunks: AsyncIterable<Buffer>) => {
          for await (const chunk of chunks) digest.update(chunk);
        },
      );
    }
    let received = start;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
        received += chunk.length;
        if (received > size) {
          done(new Error(`Blob ${hash} is longer than ${size} bytes`));
          return;
        }
        digest.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(
      source,
      meter,
      createWriteStream(partial, start > 0 ? { flags: 'r+', start, flush: true } : { flush: true }),
    );
    const actual = digest.digest('hex');
    if (received !== size || actual !== hash) {
      await rm(partial, { force: true });
      throw new Error(
        `Blob ${hash} failed verification (${received}/${size} bytes, hash ${actual})`,
      );
    }
    const dir = join(this.blobsDir, hash.slice(0, 2));
    await mkdir(dir, { recursive: true });
    await rename(partial, this.path(hash));
    await fsyncDir(dir);
  }

  /** Bytes already fetched of a blob (0 when none). */
  async partialSize(hash: string): Promise<number> {
    return (await sizeOf(this.partialPath(hash))) ?? 0;
  }

  async discard(staged: StagedBlob): Promise<void> {
    await rm(staged.tempPath, { force: true });
  }

  /** A read stream over the whole blob or an inclusive byte range. */
  read(hash: string, range?: { start: number; end: number }): ReadStream {
    return createReadStream(this.path(hash), range ?? {});
  }

  /**
   * Opens the blob first, then streams from the open file: null when it is not in the store,
   * and a blob moved to the trash after opening is still read whole (same inode).
   */
  async openRead(hash: string, range?: { start: number; end: number }): Promise<ReadStream | null> {
    let handle;
    try {
      handle = await open(this.path(hash), 'r');
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    return handle.createReadStream(range ?? {});
  }

  /** Moves a blob to the trash; its mtime records when, for the retention sweep. */
  async trash(hash: string): Promise<void> {
    const target = join(this.trashDir, hash);
    try {
      await rename(this.path(hash), target);
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    const now = new Date();
    await utimes(target, now, now);
  }

  /** Brings a blob back from the trash; false if it is not there. */
  async restore(hash: string): Promise<boolean> {
    const dir = join(this.blobsDir, hash.slice(0, 2));
    await mkdir(dir, { recursive: true });
    try {
      await rename(join(this.trashDir, hash), this.path(hash));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** Deletes trashed blobs older than `retentionMs`; returns the hashes removed. */
  async sweepTrash(retentionMs: number, now = Date.now()): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await readdir(this.trashDir)) {
      if (!isSha256Hex(name)) continue;
      const file = join(this.trashDir, name);
      const info = await stat(file);
      if (now - info.mtimeMs >= retentionMs) {
        await unlink(file);
        removed.push(name);
      }
    }
    return removed;
  }
}

function assertHash(hash: string): void {
  // Blob names come from requests and peers: never let one become a path.
  if (!isSha256Hex(hash)) throw new Error(`Not a SHA-256 hex digest: ${JSON.stringify(hash)}`);
}

async function sizeOf(file: string): Promise<number | null> {
  try {
    return (await stat(file)).size;
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}
