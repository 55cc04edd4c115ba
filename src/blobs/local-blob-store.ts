/**
 * The blob store on the local file system (the default, one process):
 *
 *   <root>/blobs/ab/abcdef…   the bytes, named by their SHA-256
 *   <root>/tmp/               uploads in progress (emptied at start: a crash leaves no partial blob)
 *   <root>/trash/abcdef…      deleted bytes, kept for the retention period, then swept
 *   <root>/partial/abcdef…    blobs being fetched from peers (kept across restarts: resumable)
 *   <named>/<name>            derived objects (thumbnails); <root>/named unless told otherwise
 *
 * Writes stream into a temp file while hashing, are fsynced, then renamed into place (and the
 * directory fsynced), so a blob that exists is always whole. Nothing is buffered in memory.
 */
import { randomUUID } from 'node:crypto';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, open, readdir, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NotFoundError } from '../core/errors.js';
import { fsyncDir } from '../core/fsync.js';
import { eachAsItComes } from '../core/limiter.js';
import { isSha256Hex } from '../core/ids.js';
import {
  assertHash,
  assertName,
  type BlobStore,
  type ByteRange,
  type LocalBytes,
  type StagedBlob,
} from './blob-store.js';
import {
  isNotFound,
  readWholeFile,
  receiveFile,
  sizeOf,
  stageFile,
  writeDurably,
} from './local-files.js';
import { BlobBatchError, checkWhole, type BatchBlobStore, type WholeBlob } from './blob-batch.js';

const TOKEN = /^[0-9a-f-]{36}$/;

/** Blobs of a batch written (and fsynced) at once: fsyncs in flight together commit together. */
const BATCH_WRITES = 8;

export class LocalBlobStore implements BlobStore, BatchBlobStore {
  readonly blobsDir: string;
  readonly tmpDir: string;
  readonly trashDir: string;
  readonly partialDir: string;
  readonly namedDir: string;
  /** `blobs/ab/` directories known to exist (made or seen by this process): no mkdir each time. */
  private readonly prefixDirs = new Set<string>();

  constructor(root: string, options: { readonly namedDir?: string } = {}) {
    this.partialDir = join(root, 'partial');
    this.blobsDir = join(root, 'blobs');
    this.tmpDir = join(root, 'tmp');
    this.trashDir = join(root, 'trash');
    this.namedDir = options.namedDir ?? join(root, 'named');
  }

  async init(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true });
    await mkdir(this.trashDir, { recursive: true });
    await mkdir(this.partialDir, { recursive: true });
    await mkdir(this.namedDir, { recursive: true });
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
  }

  private path(hash: string): string {
    assertHash(hash);
    return join(this.blobsDir, hash.slice(0, 2), hash);
  }

  private stagedPath(staged: StagedBlob): string {
    if (!TOKEN.test(staged.token)) throw new Error('Not a staged blob of this store');
    return join(this.tmpDir, staged.token);
  }

  async has(hash: string): Promise<boolean> {
    return sizeOf(this.path(hash)) !== null;
  }

  async size(hash: string): Promise<number | null> {
    return sizeOf(this.path(hash));
  }

  async readWhole(hash: string, maxBytes: number): Promise<Buffer | null> {
    return readWholeFile(this.path(hash), maxBytes);
  }

  async *ids(): AsyncGenerator<string> {
    // blobs/<first two hex digits>/<hash>: directories in order, then each one's hashes.
    const dirs = (await readdir(this.blobsDir, { withFileTypes: true }))
      .filter((d) => d.isDirectory() && /^[0-9a-f]{2}$/.test(d.name))
      .map((d) => d.name)
      .sort();
    for (const dir of dirs) {
      const entries = await readdir(join(this.blobsDir, dir), { withFileTypes: true }).catch(
        () => [],
      );
      const hashes = entries
        .filter((e) => e.isFile() && isSha256Hex(e.name) && e.name.startsWith(dir))
        .map((e) => e.name)
        .sort();
      yield* hashes;
    }
  }

  async stage(source: Readable, limit: number): Promise<StagedBlob> {
    const token = randomUUID();
    const { hash, size } = await stageFile(source, join(this.tmpDir, token), limit);
    return { hash, size, token };
  }

  readStaged(staged: StagedBlob): Readable {
    return createReadStream(this.stagedPath(staged));
  }

  stagedBytes(staged: StagedBlob): LocalBytes {
    return { file: this.stagedPath(staged) };
  }

  async localBytes(hash: string): Promise<LocalBytes | null> {
    const file = this.path(hash);
    return sizeOf(file) === null ? null : { file };
  }

  /** The data was fsynced when the temp file closed; the rename makes it visible. */
  async commit(staged: StagedBlob): Promise<void> {
    const target = this.path(staged.hash);
    if (sizeOf(target) === staged.size) {
      await this.discard(staged);
      return;
    }
    await this.moveIn(this.stagedPath(staged), staged.hash);
  }

  async discard(staged: StagedBlob): Promise<void> {
    await rm(this.stagedPath(staged), { force: true });
  }

  async read(hash: string, range?: ByteRange): Promise<Readable> {
    try {
      const handle = await open(this.path(hash), 'r');
      return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError('Blob');
      throw error;
    }
  }

  private partialPath(hash: string): string {
    assertHash(hash);
    return join(this.partialDir, hash);
  }

  async partialSize(hash: string): Promise<number> {
    return sizeOf(this.partialPath(hash)) ?? 0;
  }

  async receive(hash: string, size: number, source: Readable, start: number): Promise<void> {
    const partial = this.partialPath(hash);
    await receiveFile(partial, hash, size, source, start);
    await this.moveIn(partial, hash);
  }

  /**
   * Each blob is written to a temp file and fsynced (up to BATCH_WRITES at once), renamed into
   * place, and each directory that received one is fsynced once at the end of the batch: one
   * directory fsync per prefix touched instead of one per blob. The hashes are returned (or
   * listed in the BlobBatchError) only after those directory fsyncs.
   */
  async receiveMany(items: AsyncIterable<WholeBlob>): Promise<string[]> {
    const renamed: string[] = [];
    const dirs = new Set<string>();
    let failure: { error: unknown } | null = null;
    // A blob already here is written again and renamed over itself (same name, same bytes): a
    // batch asks only for blobs found missing, so a check before each write would cost more.
    const place = async ({ hash, data, release }: WholeBlob): Promise<void> => {
      const target = this.path(hash);
      const tmp = join(this.tmpDir, randomUUID());
      await writeDurably(tmp, data);
      release?.();
      const dir = join(this.blobsDir, hash.slice(0, 2));
      await this.renameInto(tmp, target, dir);
      dirs.add(dir);
      renamed.push(hash);
    };
    try {
      await eachAsItComes(items, BATCH_WRITES, (item) => {
        checkWhole(item);
        return place(item);
      });
    } catch (error) {
      failure = { error };
    }
    const synced = await Promise.allSettled([...dirs].map((dir) => fsyncDir(dir)));
    const unsynced = synced.find((r) => r.status === 'rejected');
    if (unsynced) throw new BlobBatchError([], unsynced.reason);
    if (failure !== null) throw new BlobBatchError(renamed, failure.error);
    return renamed;
  }

  /** Renames `file` to `target` in `dir`, making `dir` first if this process has not seen it. */
  private async renameInto(file: string, target: string, dir: string): Promise<void> {
    if (!this.prefixDirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.prefixDirs.add(dir);
    }
    try {
      await rename(file, target);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      // The directory went away since (removed by hand): make it again, once.
      this.prefixDirs.delete(dir);
      await mkdir(dir, { recursive: true });
      this.prefixDirs.add(dir);
      await rename(file, target);
    }
  }

  private async moveIn(file: string, hash: string): Promise<void> {
    const dir = join(this.blobsDir, hash.slice(0, 2));
    await mkdir(dir, { recursive: true });
    await rename(file, this.path(hash));
    await fsyncDir(dir);
  }

  /** The trashed file's mtime records when, for the retention sweep. */
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

  async restore(hash: string): Promise<boolean> {
    const trashed = join(this.trashDir, hash);
    // Mostly asked of a blob never trashed (every fetched picture is first settled): no rename
    // to fail then. A blob trashed meanwhile is moved under the same caller's lock.
    if (sizeOf(trashed) === null) return false;
    const dir = join(this.blobsDir, hash.slice(0, 2));
    await mkdir(dir, { recursive: true });
    try {
      await rename(trashed, this.path(hash));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async purgeTrashed(hash: string): Promise<boolean> {
    assertHash(hash);
    try {
      await unlink(join(this.trashDir, hash));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

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

  private namedPath(name: string): string {
    assertName(name);
    return join(this.namedDir, name);
  }

  /** Temp file then rename: a reader sees the old object or the new one, never half. */
  async putNamed(name: string, bytes: Buffer): Promise<void> {
    const target = this.namedPath(name);
    const tmp = `${target}.${randomUUID()}.tmp`;
    try {
      await pipeline([bytes], createWriteStream(tmp));
      await rename(tmp, target);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  async readNamed(name: string): Promise<Readable | null> {
    try {
      const handle = await open(this.namedPath(name), 'r');
      return handle.createReadStream();
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async hasNamed(name: string): Promise<boolean> {
    return sizeOf(this.namedPath(name)) !== null;
  }

  async removeNamed(name: string): Promise<void> {
    await rm(this.namedPath(name), { force: true });
  }

  /** The blobs directory is there and writable (a full or read-only disk shows up in uploads). */
  async probe(): Promise<void> {
    await access(this.blobsDir, constants.W_OK);
  }

  async close(): Promise<void> {
    // Nothing held open.
  }
}
