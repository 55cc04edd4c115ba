/**
 * The blob store port: content-addressed bytes, named by their SHA-256. It speaks hashes,
 * streams and ranges, never paths, so that the same callers work on the local file system
 * (local-blob-store.ts) and on an S3 object store shared by several processes
 * (s3-blob-store.ts). Both adapters pass the one contract suite, blob-store.contract.ts.
 *
 * Guarantees every adapter keeps:
 * - A blob is visible (`has`, `size`, `read`) only once all its bytes are stored and they hash
 *   to its name: uploads and peer fetches are hashed while they stream, and moved to their hash
 *   only once verified. A crash or a failed check leaves nothing visible.
 * - Writing the same bytes twice is harmless (content addressing makes it idempotent).
 * - Deleted bytes go to a trash, can be restored, and are swept after the retention.
 * - Peer fetches are resumable: `partialSize` says how much an interrupted fetch left, and
 *   `receive` goes on from there.
 * - A small named-object area holds derived objects (thumbnails), keyed by name, written whole.
 */
import type { Readable } from 'node:stream';
import { isSha256Hex } from '../core/ids.js';

/** An inclusive byte range, as in an HTTP `Range` header. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Bytes a decoder (libvips) can take without their being read into this process first: a
 * buffer the store holds anyway, or a local file the decoder opens and reads in small pieces
 * itself. Reading a 20 MB upload whole into a new Buffer cost ~100 ms of CPU here (the page
 * faults of fresh memory), nearly as much as its thumbnail's decode, and 20 MB of RSS per
 * upload at once (docs/benchmarks.md, "Thumbnails from the file"). A file named here holds
 * exactly the blob's verified bytes; it may go away (a trash), so a decode that fails checks
 * `has` before blaming the bytes.
 */
export type LocalBytes = { readonly buffer: Buffer } | { readonly file: string };

/** Bytes hashed into the store's staging area: not visible until `commit`. */
export interface StagedBlob {
  readonly hash: string;
  readonly size: number;
  /** The adapter's own handle on the staged bytes (a temp file); callers never look inside. */
  readonly token: string;
}

export interface BlobStore {
  /** Prepares the store and removes what a crash left in the staging area. */
  init(): Promise<void>;

  /**
   * Streams `source` into the staging area, hashing as it goes. Fails with PayloadTooLargeError
   * (and keeps nothing) as soon as more than `limit` bytes arrive.
   */
  stage(source: Readable, limit: number): Promise<StagedBlob>;
  /** The staged bytes, readable until commit or discard (e.g. to check they are an image). */
  readStaged(staged: StagedBlob): Readable;
  /** The staged bytes for a decoder (see LocalBytes), valid until commit or discard. */
  stagedBytes(staged: StagedBlob): LocalBytes;
  /** Makes staged bytes visible under their hash; idempotent when the blob already exists. */
  commit(staged: StagedBlob): Promise<void>;
  discard(staged: StagedBlob): Promise<void>;

  has(hash: string): Promise<boolean>;
  /**
   * Every blob's hash in ascending order, listed as it goes (S3: a request per 1000 objects,
   * not one per blob; never the whole list in memory), for checks over the whole library
   * merged with the metadata's rows in id order. A snapshot: re-check with `has` before acting.
   */
  ids(): AsyncIterable<string>;
  /** The blob's size in bytes, or null when it is not in the store. */
  size(hash: string): Promise<number | null>;
  /** The whole blob or an inclusive byte range; rejects with NotFoundError when absent. */
  read(hash: string, range?: ByteRange): Promise<Readable>;
  /**
   * The blob for a decoder when this store has it on this machine (the local store's file), or
   * null: then `read` it (an object store's bytes are fetched).
   */
  localBytes(hash: string): Promise<LocalBytes | null>;
  /**
   * The whole blob in one buffer, or null when it is absent or longer than `maxBytes` (a peer's
   * batch of small pictures, blob-frames.ts).
   */
  readWhole(hash: string, maxBytes: number): Promise<Buffer | null>;

  /** Bytes already fetched of a blob from a peer (0 when none). */
  partialSize(hash: string): Promise<number>;
  /**
   * Writes a fetched blob from `start` (appending to what an earlier, interrupted fetch left),
   * checks that the whole blob hashes to `hash` with `size` bytes, and makes it visible. On a
   * mismatch what was fetched is dropped, so the next attempt starts over.
   */
  receive(hash: string, size: number, source: Readable, start: number): Promise<void>;

  /** Moves a blob to the trash (a no-op when absent); the time is kept for the sweep. */
  trash(hash: string): Promise<void>;
  /** Brings a blob back from the trash; false if it is not there. */
  restore(hash: string): Promise<boolean>;
  /** Deletes one trashed blob now (emptying the trash); false if it was not there. */
  purgeTrashed(hash: string): Promise<boolean>;
  /** Deletes trashed blobs older than `retentionMs`; returns the hashes removed. */
  sweepTrash(retentionMs: number, now?: number): Promise<string[]>;

  /** Writes a small derived object whole (replacing any previous one); atomic. */
  putNamed(name: string, bytes: Buffer): Promise<void>;
  /** A named object's bytes, or null when there is none. */
  readNamed(name: string): Promise<Readable | null>;
  hasNamed(name: string): Promise<boolean>;
  removeNamed(name: string): Promise<void>;

  /**
   * Resolves when the store answers (health checks): the directory is writable, or the bucket
   * answers a HEAD. Gives up when `signal` aborts.
   */
  probe(signal?: AbortSignal): Promise<void>;

  /** Releases connections and the like. */
  close(): Promise<void>;

  /** Reads since start by where their bytes came from, for a store with a local cache (S3). */
  readonly reads?: BlobReadCounts;
}

export interface BlobReadCounts {
  readonly cache: number;
  readonly store: number;
  /** Reads that waited for another read of the same blob to fill the cache. */
  readonly joined: number;
}

/**
 * The whole of `body` when it is exactly `size` bytes long, else null (a blob read through a
 * stream, for adapters without a cheaper way to `readWhole`).
 */
export async function collectWhole(body: Readable, size: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let read = 0;
  for await (const chunk of body) {
    read += (chunk as Buffer).length;
    if (read > size) {
      body.destroy();
      return null;
    }
    chunks.push(chunk as Buffer);
  }
  return read === size ? Buffer.concat(chunks, read) : null;
}

/** Blob names come from requests and peers: never let one become a path or a key elsewhere. */
export function assertHash(hash: string): void {
  if (!isSha256Hex(hash)) throw new Error(`Not a SHA-256 hex digest: ${JSON.stringify(hash)}`);
}

const NAMED = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export function assertName(name: string): void {
  if (!NAMED.test(name) || name.includes('..')) {
    throw new Error(`Not a valid object name: ${JSON.stringify(name)}`);
  }
}
