/**
 * Small blobs (up to MAX_BATCH_BLOB_BYTES, no partial) fetched many per request for BlobSync:
 * a wanted blob waits a moment for others to join its batch, and one POST /peer/blobs brings
 * them (blob-frames.ts), each verified as it arrives; the store makes the batch durable with one
 * fsync per file and one per directory touched. Whatever a batch did not store is handed back,
 * to be fetched on its own.
 */
import type { Logger } from 'pino';
import { BlobBatchError, receiveBlobBatch } from '../blobs/blob-batch.js';
import type { BlobStore } from '../blobs/blob-store.js';
import { Limiter } from '../core/limiter.js';
import type { PhotoFacts } from '../pictures/core/photo-facts.js';
import { BatchBlobs, type FactsOfBytes } from './batch-blobs.js';
import type { PeerClient } from './peer-client.js';

/** What a batch needs of BlobSync's dependencies (BlobSyncDeps). */
export interface BatchFetchDeps {
  readonly blobs: BlobStore;
  /** Peers to fetch from, best first. */
  readonly sources: () => PeerClient[];
  readonly log: Logger;
  /** Reads a blob's photo facts from its bytes while they are in memory. */
  readonly facts?: FactsOfBytes;
}

/** A batch: at most this many blobs, or this many bytes. */
const BATCH_BLOBS = 64;
const BATCH_BYTES = 16 * 1024 * 1024;
/** Batches in flight at once (each streams while the previous one's files are fsynced). */
const BATCH_CONCURRENCY = 2;
/** How long a first wanted blob waits for others to join its batch. */
const BATCH_WAIT_MS = 2;

interface Wanted {
  readonly id: string;
  readonly size: number;
  readonly contentType: string;
  /** true: stored and durable; false: fetch it on its own. */
  readonly done: (stored: boolean) => void;
}

export class BatchFetch {
  /** Small blobs waiting for their batch. */
  private wanted: Wanted[] = [];
  private wantedBytes = 0;
  private batchTimer: NodeJS.Timeout | null = null;
  private readonly batches = new Limiter(BATCH_CONCURRENCY);
  /** Frames to blobs, in pooled buffers (batch-blobs.ts). */
  private readonly batchBlobs = new BatchBlobs();
  private stopped = false;

  constructor(
    private readonly deps: BatchFetchDeps,
    /** A blob is stored and durable, with its photo facts when read from its bytes. */
    private readonly fetched: (id: string, facts: Promise<PhotoFacts | null> | null) => void,
  ) {}

  /** Queues a small blob for the next batch; resolves true once it is stored and durable. */
  fetchInBatch(id: string, size: number, contentType: string): Promise<boolean> {
    return new Promise((done) => {
      this.wanted.push({ id, size, contentType, done });
      this.wantedBytes += size;
      if (this.wanted.length >= BATCH_BLOBS || this.wantedBytes >= BATCH_BYTES) {
        this.dispatchBatch();
      } else {
        this.batchTimer ??= setTimeout(() => {
          this.dispatchBatch();
        }, BATCH_WAIT_MS);
      }
    });
  }

  /** Starts no more batches; the blobs waiting for one are fetched on their own. */
  stop(): void {
    this.stopped = true;
    if (this.batchTimer) {
      clearTimeout(this.batchTimer);
      this.batchTimer = null;
      for (const w of this.wanted) w.done(false);
      this.wanted = [];
    }
  }

  private dispatchBatch(): void {
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = null;
    const batch = this.wanted;
    this.wanted = [];
    this.wantedBytes = 0;
    if (batch.length === 0) return;
    void this.batches
      .run(() => this.fetchBatch(batch))
      .catch((error: unknown) => {
        this.deps.log.warn({ err: (error as Error).message }, 'blob batch failed');
      })
      .finally(() => {
        // Whatever the batch did not store is fetched on its own (with its retries).
        for (const w of batch) w.done(false);
      });
  }

  /** Asks each peer in turn for the blobs still missing; marks each stored one as arrived. */
  private async fetchBatch(batch: readonly Wanted[]): Promise<void> {
    const { blobs, log } = this.deps;
    let remaining = batch;
    for (const peer of this.deps.sources()) {
      if (this.stopped || remaining.length === 0) return;
      let stored: readonly string[] = [];
      const facts = new Map<string, Promise<PhotoFacts | null>>();
      try {
        const frames = await peer.blobBatch(
          remaining.map((w) => ({ hash: w.id, size: w.size })),
          this.batchBlobs.allocate,
        );
        if (frames === null) continue; // an older peer without the batch route
        const types = new Map(remaining.map((w) => [w.id, w.contentType]));
        stored = await receiveBlobBatch(
          blobs,
          this.batchBlobs.present(frames, types, facts, this.deps.facts),
        );
      } catch (error) {
        if (error instanceof BlobBatchError) stored = error.stored;
        log.warn(
          { peer: peer.baseUrl, blobs: remaining.length, err: (error as Error).message },
          'blob batch fetch failed',
        );
      }
      const got = new Set(stored);
      for (const w of remaining) {
        if (!got.has(w.id)) continue;
        this.fetched(w.id, facts.get(w.id) ?? null);
        w.done(true);
      }
      if (got.size > 0) log.debug({ peer: peer.baseUrl, blobs: got.size }, 'blob batch fetched');
      remaining = remaining.filter((w) => !got.has(w.id));
    }
  }
}
