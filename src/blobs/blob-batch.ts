/**
 * Storing a batch of fetched blobs (a catch-up after downtime brings hundreds of small pictures):
 * the bytes come whole and already checked against their hash (blob-frames.ts), and the store
 * makes them durable together, so the batch costs far fewer fsyncs than one blob at a time.
 *
 * Adapters that can do better than one `receive` per blob implement `BatchBlobStore`; for the
 * others (the S3 adapter) `receiveBlobBatch` loops over `receive`, a few at a time.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { eachAsItComes } from '../core/limiter.js';
import type { BlobStore } from './blob-store.js';

export interface WholeBlob {
  readonly hash: string;
  readonly data: Buffer;
  /** The caller has checked that `data` hashes to `hash` (the frame reader does): not hashed again. */
  readonly verified?: boolean;
  /**
   * Called once the store has written `data` and reads it no more, so the caller may reuse the
   * buffer. Not called when the blob was not written (a failed write may still be reading it:
   * the buffer is then left to the garbage collector).
   */
  readonly release?: () => void;
}

/** A batch that failed part way: `stored` lists the blobs that were made durable before. */
export class BlobBatchError extends Error {
  constructor(
    readonly stored: readonly string[],
    cause: unknown,
  ) {
    super(`blob batch failed after ${stored.length} blobs: ${(cause as Error).message}`, {
      cause,
    });
    this.name = 'BlobBatchError';
  }
}

export interface BatchBlobStore {
  /**
   * Stores every blob of `items`, each checked to hash to its name (unless `verified`), and resolves with the hashes
   * stored once they are all durable (data and directory entries on disk). Nothing is reported
   * stored before it is durable. When `items` or a write fails, rejects with BlobBatchError
   * listing the blobs made durable before the failure.
   */
  receiveMany(items: AsyncIterable<WholeBlob>): Promise<string[]>;
}

function isBatchStore(store: BlobStore): store is BlobStore & BatchBlobStore {
  return typeof (store as Partial<BatchBlobStore>).receiveMany === 'function';
}

export function checkWhole(blob: WholeBlob): void {
  if (blob.verified === true) return;
  if (createHash('sha256').update(blob.data).digest('hex') !== blob.hash) {
    throw new Error(`Blob ${blob.hash} failed verification (${blob.data.length} bytes)`);
  }
}

/** Stores a batch through the adapter's own batch path, or blob by blob (`concurrency` at once). */
export async function receiveBlobBatch(
  store: BlobStore,
  items: AsyncIterable<WholeBlob>,
  concurrency = 4,
): Promise<string[]> {
  if (isBatchStore(store)) return store.receiveMany(items);
  const stored: string[] = [];
  try {
    await eachAsItComes(items, concurrency, async (item) => {
      await store.receive(item.hash, item.data.length, Readable.from([item.data]), 0);
      stored.push(item.hash);
      item.release?.();
    });
  } catch (error) {
    throw new BlobBatchError(stored, error);
  }
  return stored;
}
