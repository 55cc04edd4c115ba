/**
 * The blob store on an S3-compatible object store, shared by every process of a site:
 *
 *   <prefix>blobs/<sha256>    the bytes (multipart uploads for large ones)
 *   <prefix>trash/<sha256>    deleted bytes; the copy's LastModified is the deletion time (also in
 *                             the `mosaic-trashed-at` metadata), swept after the retention
 *   <prefix>named/<name>      derived objects (thumbnails)
 *   <scratch>/tmp/, partial/  local files: uploads being hashed, peer fetches being resumed
 *
 * What S3 cannot do and how this copes (see docs/architecture.md, "Blob store"):
 * - No append and no rename: an upload is hashed while it streams into memory (up to
 *   MEMORY_STAGE_BYTES, within a budget for the process) or else into a local temp file, and
 *   only verified bytes are uploaded, straight to their hash key, so nothing unverified is ever
 *   visible in the bucket and a crash leaves nothing there (a multipart upload that dies is
 *   aborted; what the store keeps of one is not an object). Peer fetches resume from a local
 *   partial file the same way; another process of the site starts such a fetch over.
 * - Every PUT of verified bytes sends their SHA-256 as `x-amz-content-sha256`: the SDK's
 *   signer takes it as is instead of hashing the body again, and the store checks the bytes
 *   it receives against it (s3api answers BadDigest otherwise), end to end.
 * - No conditional PUT on every store (OpenStack Swift's s3api has none): an object of one
 *   PUT is written without asking first (content addressing makes a second PUT of the same
 *   bytes harmless, and a HEAD costs the store nearly what a small PUT does); a multipart
 *   object is HEADed first, which saves sending its parts again.
 * - No move: trash and restore are a server-side copy then a delete.
 * - Ranges are GETs with a Range header, straight from the store.
 *
 * The S3 protocol itself (the SDK, its settings, requests) is s3-bucket.ts.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { NotFoundError } from '../core/errors.js';
import { isSha256Hex } from '../core/ids.js';
import {
  assertHash,
  assertName,
  collectWhole,
  type BlobStore,
  type ByteRange,
  type LocalBytes,
  type StagedBlob,
} from './blob-store.js';
import { receiveFile, sizeOf, stageSpilling } from './local-files.js';
import { BlobReadCache } from './read-cache.js';
import { S3Bucket } from './s3-bucket.js';

/** How long a read waits before asking again for an object the store said it lacks. */
const MISSING_RETRY_MS = 300;

export interface S3BlobStoreOptions {
  readonly bucket: string;
  /** Prepended to every key, e.g. "site-a/" (empty: the bucket root). */
  readonly prefix?: string;
  /** The store's URL (path-style requests are used, as Swift and most S3 servers want). */
  readonly endpoint?: string;
  readonly region: string;
  /** Default: the SDK's chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles...). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Local directory for uploads being hashed and peer fetches being resumed. */
  readonly scratchDir: string;
  /** Objects above this many bytes are uploaded in parts of this size (S3's minimum is 5 MiB). */
  readonly partSize?: number;
  /** Local disk kept for blobs read from the store (read-cache.ts); 0: none. Default 256 MiB. */
  readonly cacheBytes?: number;
}

const TOKEN = /^[0-9a-f-]{36}$/;
const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** Uploads up to this size are staged in memory and PUT from there (no scratch file). */
export const MEMORY_STAGE_BYTES = 8 * 1024 * 1024;
/** What all the uploads staged in memory at once may hold; beyond it they go to scratch files. */
const MEMORY_STAGE_BUDGET = 64 * 1024 * 1024;
const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

export class S3BlobStore implements BlobStore {
  private readonly bucket: S3Bucket;
  private readonly prefix: string;
  private readonly tmpDir: string;
  private readonly partialDir: string;
  private readonly partSize: number;
  /** Uploads staged in memory, by token (the others are files in tmp/). */
  private readonly inMemory = new Map<string, Buffer>();
  private memoryHeld = 0;
  private readonly cache: BlobReadCache | null;
  /**
   * Reads since start by where their bytes came from (`/metrics`); `joined`: reads that waited
   * for another read of the same blob to fill the cache (then counted under cache or store).
   */
  readonly reads = { cache: 0, store: 0, joined: 0 };

  constructor(options: S3BlobStoreOptions) {
    this.bucket = new S3Bucket(options);
    this.prefix = options.prefix ?? '';
    this.tmpDir = join(options.scratchDir, 'tmp');
    this.partialDir = join(options.scratchDir, 'partial');
    this.partSize = Math.max(5 * 1024 * 1024, options.partSize ?? DEFAULT_PART_SIZE);
    const cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
    this.cache =
      cacheBytes > 0 ? new BlobReadCache(join(options.scratchDir, 'cache'), cacheBytes) : null;
  }

  /** The SDK client (tests count its requests). */
  get client() {
    return this.bucket.client;
  }

  /** Creates the scratch directories (emptying tmp/) and the bucket when it does not exist. */
  async init(): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(this.partialDir, { recursive: true });
    await this.cache?.init();
    await this.bucket.ensure();
  }

  private key(area: 'blobs' | 'trash', hash: string): string {
    assertHash(hash);
    return `${this.prefix}${area}/${hash}`;
  }

  private namedKey(name: string): string {
    assertName(name);
    return `${this.prefix}named/${name}`;
  }

  private stagedPath(staged: StagedBlob): string {
    if (!TOKEN.test(staged.token)) throw new Error('Not a staged blob of this store');
    return join(this.tmpDir, staged.token);
  }

  async has(hash: string): Promise<boolean> {
    return (await this.bucket.head(this.key('blobs', hash))) !== null;
  }

  async size(hash: string): Promise<number | null> {
    return this.bucket.head(this.key('blobs', hash));
  }

  /** S3 lists keys in ascending (UTF-8 byte) order: the hashes come in order. */
  async *ids(): AsyncGenerator<string> {
    const prefix = `${this.prefix}blobs/`;
    for await (const { key } of this.bucket.list(prefix)) {
      const hash = key.slice(prefix.length);
      if (isSha256Hex(hash)) yield hash;
    }
  }

  async stage(source: Readable, limit: number): Promise<StagedBlob> {
    const token = randomUUID();
    // The share of the budget this upload may hold; returned as soon as its size is known.
    const room = Math.max(0, Math.min(MEMORY_STAGE_BYTES, MEMORY_STAGE_BUDGET - this.memoryHeld));
    this.memoryHeld += room;
    try {
      const { hash, size, bytes } = await stageSpilling(
        source,
        join(this.tmpDir, token),
        limit,
        room,
      );
      if (bytes !== null) {
        this.memoryHeld += bytes.length;
        this.inMemory.set(token, bytes);
      }
      return { hash, size, token };
    } finally {
      this.memoryHeld -= room;
    }
  }

  readStaged(staged: StagedBlob): Readable {
    const bytes = this.inMemory.get(staged.token);
    return bytes === undefined
      ? createReadStream(this.stagedPath(staged))
      : Readable.from([bytes], { objectMode: false });
  }

  stagedBytes(staged: StagedBlob): LocalBytes {
    const buffer = this.inMemory.get(staged.token);
    return buffer === undefined ? { file: this.stagedPath(staged) } : { buffer };
  }

  /** Null: the store's bytes (a read-cache copy may be evicted while a decoder reads it). */
  async localBytes(_hash: string): Promise<LocalBytes | null> {
    return null;
  }

  /**
   * Uploads the staged bytes; this process's read cache then keeps them (they were hashed on
   * the way in and the store now holds them), so the uploader's next read makes no GET.
   */
  async commit(staged: StagedBlob): Promise<void> {
    const bytes = this.inMemory.get(staged.token);
    if (bytes !== undefined) {
      try {
        await this.bucket.put(this.key('blobs', staged.hash), bytes, { sha256: staged.hash });
        await this.cache?.put(staged.hash, bytes);
      } finally {
        this.release(staged.token);
      }
      return;
    }
    const file = this.stagedPath(staged);
    try {
      await this.putVerified(file, staged.hash, staged.size);
      await this.cache?.adopt(staged.hash, file, staged.size);
    } finally {
      await rm(file, { force: true });
    }
  }

  async discard(staged: StagedBlob): Promise<void> {
    if (this.release(staged.token)) return;
    await rm(this.stagedPath(staged), { force: true });
  }

  private release(token: string): boolean {
    const bytes = this.inMemory.get(token);
    if (bytes === undefined) return false;
    this.inMemory.delete(token);
    this.memoryHeld -= bytes.length;
    return true;
  }

  /**
   * Uploads a verified file: one PUT when it fits in a part (no HEAD first, see the header
   * comment), else HEAD (bytes already there are not sent again) then a multipart upload.
   */
  private async putVerified(file: string, hash: string, size: number): Promise<void> {
    const key = this.key('blobs', hash);
    if (size <= this.partSize) {
      await this.bucket.put(key, createReadStream(file), { sha256: hash, size });
      return;
    }
    if ((await this.bucket.head(key)) === size) return;
    await this.bucket.putMultipart(key, createReadStream(file), this.partSize);
    const stored = await this.bucket.head(key);
    if (stored !== size) throw new Error(`Blob ${hash}: the store kept ${stored}/${size} bytes`);
  }

  /**
   * Reads a blob. A 404 is asked once more after a moment before it counts: a store that is
   * only eventually consistent (Swift: another process of the site may have written the object
   * a few milliseconds ago, observed 1 time in 3 in test/storage/scaled-site.test.ts) must not
   * make a listed picture look lost, which would start a repair.
   */
  async read(hash: string, range?: ByteRange): Promise<Readable> {
    const opened = await this.openBlob(hash, range, { askTwice: true });
    if (opened === null) throw new NotFoundError('Blob');
    return opened.body;
  }

  /**
   * A blob whole (a peer's batch, blob-frames.ts), or null when the store lacks it or it is over
   * `maxBytes`: from this process's cache when it holds the blob, else one GET, whose length
   * says whether it fits (a HEAD first was a second request to the store per blob).
   */
  async readWhole(hash: string, maxBytes: number): Promise<Buffer | null> {
    const opened = await this.openBlob(hash, undefined, { askTwice: false });
    if (opened === null) return null;
    // A store that sends no length (S3 always does) is asked for it.
    const size = opened.length ?? (await this.size(hash));
    if (size === null || size > maxBytes) {
      opened.body.destroy();
      return null;
    }
    return collectWhole(opened.body, size);
  }

  /**
   * The blob's bytes and, when known, how many: from the cache, else from the store (a whole
   * read fills the cache on the way). Null when the store lacks it (`askTwice`: after a second
   * ask, see `read`).
   */
  private async openBlob(
    hash: string,
    range: ByteRange | undefined,
    options: { readonly askTwice: boolean },
  ): Promise<{ body: Readable; length?: number } | null> {
    const cache = this.cache;
    if (cache) {
      let cached = await cache.open(hash, range);
      // Another read of this blob is filling the cache: a whole read waits for it rather than
      // GET it too (a range, e.g. a video's seek, goes to the store at once as before).
      const filling = cached || range !== undefined ? null : cache.joinFill(hash);
      if (filling) {
        this.reads.joined++;
        await filling;
        cached = await cache.open(hash, range);
      }
      if (cached) {
        this.reads.cache++;
        return cached;
      }
    }
    this.reads.store++;
    const fill = range === undefined ? cache?.begin(hash) : undefined;
    try {
      const key = this.key('blobs', hash);
      let found = await this.bucket.get(key, range);
      if (found === null && options.askTwice) {
        await new Promise((resolve) => setTimeout(resolve, MISSING_RETRY_MS));
        found = await this.bucket.get(key, range);
      }
      if (found === null) {
        fill?.abandon();
        return null;
      }
      if (fill && cache && found.length !== undefined && found.length <= cache.maxBlobBytes) {
        return { body: fill.keep(found.body), length: found.length };
      }
      fill?.abandon();
      return found;
    } catch (error) {
      fill?.abandon();
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
    await this.putVerified(partial, hash, size);
    if (!(await this.cache?.adopt(hash, partial, size))) await rm(partial, { force: true });
  }

  async trash(hash: string): Promise<void> {
    await this.cache?.drop(hash);
    await this.move(this.key('blobs', hash), this.key('trash', hash), {
      'mosaic-trashed-at': String(Date.now()),
    });
  }

  async restore(hash: string): Promise<boolean> {
    return this.move(this.key('trash', hash), this.key('blobs', hash), {});
  }

  /** Copy then delete (S3 has no rename); false when the source is not there. */
  private async move(from: string, to: string, metadata: Record<string, string>): Promise<boolean> {
    if (!(await this.bucket.copy(from, to, metadata))) return false;
    await this.bucket.delete(from);
    return true;
  }

  async purgeTrashed(hash: string): Promise<boolean> {
    const key = this.key('trash', hash);
    if ((await this.bucket.head(key)) === null) return false;
    await this.bucket.delete(key);
    return true;
  }

  async sweepTrash(retentionMs: number, now = Date.now()): Promise<string[]> {
    const removed: string[] = [];
    const prefix = `${this.prefix}trash/`;
    for await (const { key, lastModified } of this.bucket.list(prefix)) {
      const hash = key.slice(prefix.length);
      if (!isSha256Hex(hash) || !lastModified) continue;
      if (now - lastModified.getTime() >= retentionMs) {
        await this.bucket.delete(key);
        removed.push(hash);
      }
    }
    return removed;
  }

  /** One PUT: S3 objects appear whole, so no temp key is needed. */
  async putNamed(name: string, bytes: Buffer): Promise<void> {
    await this.bucket.put(this.namedKey(name), bytes);
  }

  async readNamed(name: string): Promise<Readable | null> {
    return (await this.bucket.get(this.namedKey(name)))?.body ?? null;
  }

  async hasNamed(name: string): Promise<boolean> {
    return (await this.bucket.head(this.namedKey(name))) !== null;
  }

  async removeNamed(name: string): Promise<void> {
    await this.bucket.delete(this.namedKey(name));
  }

  async probe(signal?: AbortSignal): Promise<void> {
    await this.bucket.probe(signal);
  }

  async close(): Promise<void> {
    this.bucket.destroy();
  }
}
