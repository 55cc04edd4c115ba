/**
 * Keeps each picture's bytes where its replicated state says they belong: fetched from a peer
 * when the picture is alive here but its bytes are not, moved to the trash when it dies,
 * restored when it comes back. A picture becomes visible only once its bytes are here.
 *
 * Small blobs (up to MAX_BATCH_BLOB_BYTES) are fetched in batches: one request brings many
 * (POST /peer/blobs, blob-frames.ts), each verified as it arrives, and the store makes the batch
 * durable with one fsync per file and one per directory touched (a catch-up after downtime
 * brings hundreds of pictures). Larger blobs, blobs with a partial left, and blobs no peer gave
 * in a batch stream on their own from any reachable peer that has them, verified against the
 * hash, resuming from the partial file after an interruption or a restart.
 */
import type { Logger } from 'pino';
import { BlobBatchError, receiveBlobBatch } from '../blobs/blob-batch.js';
import { MAX_BATCH_BLOB_BYTES } from '../blobs/blob-frames.js';
import type { BlobStore } from '../blobs/blob-store.js';
import { Limiter } from '../core/limiter.js';
import type { Executor, MetadataStore } from '../storage/metadata/dialect.js';
import { lockPictures } from '../oplog/apply.js';
import type { Op } from '../oplog/op.js';
import type { PhotoFacts } from '../pictures/core/photo-facts.js';
import type { PictureRepository } from '../pictures/picture.repository.js';
import type { PictureService } from '../pictures/picture.service.js';
import { isAlive } from '../pictures/picture.state.js';
import { BatchBlobs } from './batch-blobs.js';
import type { PeerClient } from './peer-client.js';

export interface BlobSyncDeps {
  readonly store: MetadataStore;
  readonly pictures: PictureRepository;
  readonly service: PictureService;
  readonly blobs: BlobStore;
  /** Peers to fetch from, best first. */
  readonly sources: () => PeerClient[];
  readonly log: Logger;
  /**
   * A picture became visible; `factsSaved`: its photo facts were recorded with it (read from the
   * bytes of its batch), otherwise they are still to be derived from the stored file.
   */
  readonly onVisible?: (id: string, factsSaved: boolean) => void;
  /**
   * Photo facts of a blob fetched in a batch, read from its bytes while they are in memory and
   * recorded in the transaction that marks its picture visible (PictureFactsService): no second
   * read of the file and no commit per picture.
   */
  readonly facts?: {
    ofBytes(bytes: Buffer, contentType: string): Promise<PhotoFacts>;
    saveIn(trx: Executor, id: string, facts: PhotoFacts): Promise<void>;
  };
  readonly concurrency?: number;
  /**
   * This site's id. Its own `picture.create` operations come only from uploads, which store
   * the bytes before committing the operation (and ask for a reconcile themselves when the
   * picture is not visible after it): they are not reconciled again, which would cost two
   * store requests and three queries per upload (the HEADs are network calls on S3).
   */
  readonly selfId?: string;
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

/** A fetched blob whose picture is to be marked visible (see `arrived`). */
interface Arrived {
  readonly id: string;
  readonly facts: Promise<PhotoFacts | null> | null;
}

const RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

export class BlobSync {
  /** Per picture: the reconcile in progress, and whether another was asked for meanwhile. */
  private readonly inflight = new Map<string, { again: boolean }>();
  private readonly limiter: Limiter;
  private stopped = false;
  /**
   * Fetched blobs whose pictures are not marked visible yet (flushed in one transaction), with
   * their photo facts when read from the bytes of a batch (null: not read, or not readable).
   */
  private arrived: Arrived[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  /** Pictures waiting for their small thumbnail until no fetch is in flight. */
  private thumbsLater: string[] = [];
  /** Failed fetch rounds per picture, for the retry back-off. */
  private readonly attempts = new Map<string, number>();
  /** Small blobs waiting for their batch. */
  private wanted: Wanted[] = [];
  private wantedBytes = 0;
  private batchTimer: NodeJS.Timeout | null = null;
  private readonly batches = new Limiter(BATCH_CONCURRENCY);
  /** Frames to blobs, in pooled buffers (batch-blobs.ts). */
  private readonly batchBlobs = new BatchBlobs();

  constructor(private readonly deps: BlobSyncDeps) {
    // Fetches mostly wait on the network and on fsync; fsyncs in flight together are committed
    // together by the file system, so several at once go much faster than one by one.
    this.limiter = new Limiter(deps.concurrency ?? 8);
  }

  handleOps(ops: readonly Op[]): void {
    for (const op of ops) {
      const kind = op.body.kind;
      if (kind === 'picture.create' && op.origin === this.deps.selfId) continue;
      if (
        kind === 'picture.create' ||
        kind === 'picture.update' ||
        kind === 'picture.delete' ||
        kind === 'picture.restore'
      ) {
        this.schedule(op.body.id);
      }
    }
  }

  /** Reconciles every picture whose bytes are missing (at start, and when a peer comes up). */
  async scanMissing(): Promise<void> {
    for (const id of await this.deps.pictures.missingBytes()) this.schedule(id);
  }

  /** Bytes of pictures known here whose blobs are still to fetch. */
  pendingBytes(): Promise<number> {
    return this.deps.pictures.missingBytesTotal();
  }

  /** Whether a reconcile is running or a flag is waiting to be written (for tests). */
  busy(): boolean {
    return this.inflight.size > 0 || this.flushTimer !== null || this.flushing !== null;
  }

  /** Stops fetching; marks what already arrived (before the database closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.batchTimer) {
      clearTimeout(this.batchTimer);
      this.batchTimer = null;
      for (const w of this.wanted) w.done(false);
      this.wanted = [];
    }
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      const arrived = this.arrived;
      this.arrived = [];
      await this.flushArrived(arrived);
    }
    await this.flushing;
  }

  schedule(id: string): void {
    if (this.stopped) return;
    const running = this.inflight.get(id);
    if (running) {
      running.again = true;
      return;
    }
    const entry = { again: false };
    this.inflight.set(id, entry);
    void (async () => {
      try {
        // `again` is set by schedule() while reconcile() awaits: run once more for it.
        const more = () => entry.again && !this.stopped;
        do {
          entry.again = false;
          await this.reconcile(id);
        } while (more());
      } catch (error) {
        // This node's side failed (its database or disk: full, say): tried again with the same
        // back-off as a blob no peer has yet. Before, nothing did until a peer came up again
        // or the node restarted, though the log said it would.
        const delay = this.retryLater(id);
        this.deps.log.warn(
          { picture: id, err: (error as Error).message, retryInMs: delay },
          'blob sync failed; will retry',
        );
      } finally {
        this.inflight.delete(id);
        if (this.inflight.size === 0) this.releaseThumbnails();
      }
    })();
  }

  private async reconcile(id: string): Promise<void> {
    // The picture as settled: its row read under the picture's byte lock, its flag as found.
    const stored = await this.deps.service.settleBytes(id);
    if (!stored || stored.hasBlob || !isAlive(stored.state) || !stored.state.info) return;
    const size = stored.state.info.size;
    if (size <= MAX_BATCH_BLOB_BYTES && (await this.deps.blobs.partialSize(id)) === 0) {
      if (await this.fetchInBatch(id, size, stored.state.info.contentType)) return;
    }
    await this.limiter.run(() => this.fetch(id, size));
  }

  /** Queues a small blob for the next batch; resolves true once it is stored and durable. */
  private fetchInBatch(id: string, size: number, contentType: string): Promise<boolean> {
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
        this.attempts.delete(w.id);
        this.markArrived(w.id, facts.get(w.id) ?? null);
        w.done(true);
      }
      if (got.size > 0) log.debug({ peer: peer.baseUrl, blobs: got.size }, 'blob batch fetched');
      remaining = remaining.filter((w) => !got.has(w.id));
    }
  }

  private async fetch(id: string, size: number): Promise<void> {
    const { blobs, log } = this.deps;
    for (const peer of this.deps.sources()) {
      if (this.stopped) return;
      const start = await blobs.partialSize(id);
      try {
        // A partial as long as the blob (a crash before its rename) is fetched again whole.
        const res = await peer.blob(id, start >= size ? 0 : start);
        if (!res) continue; // that peer does not have it
        await blobs.receive(id, size, res.body, res.start);
      } catch (error) {
        log.warn(
          { picture: id, peer: peer.baseUrl, err: (error as Error).message },
          'blob fetch failed',
        );
        continue;
      }
      this.attempts.delete(id);
      this.markArrived(id, null);
      if (start > 0)
        log.info(
          { picture: id, peer: peer.baseUrl, resumedAt: start },
          'blob fetch resumed and done',
        );
      else log.debug({ picture: id, peer: peer.baseUrl }, 'blob fetched');
      return;
    }
    // No peer could give it now (those that have the operation may not have the bytes yet):
    // try again soon rather than wait for the next peer to come up.
    const delay = this.retryLater(id);
    log.debug({ picture: id, delay }, 'blob not available yet; retrying');
  }

  /** Reconciles the picture again after a back-off that grows with its failed rounds. */
  private retryLater(id: string): number {
    const attempts = (this.attempts.get(id) ?? 0) + 1;
    this.attempts.set(id, attempts);
    const delay = Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** (attempts - 1));
    if (!this.stopped) {
      setTimeout(() => {
        this.schedule(id);
      }, delay).unref();
    }
    return delay;
  }

  /**
   * Marks pictures visible in batches: each SQLite commit is an fsync on the event loop, so a
   * node catching up on hundreds of small pictures would otherwise spend most of its time
   * waiting on one fsync per picture. A batch waits at most a few milliseconds. (If the node
   * stops before the flush, the next start finds the blob on disk and marks it then.)
   */
  private markArrived(id: string, facts: Promise<PhotoFacts | null> | null): void {
    this.arrived.push({ id, facts });
    this.flushTimer ??= setTimeout(() => {
      const arrived = this.arrived;
      this.arrived = [];
      this.flushing = this.flushArrived(arrived)
        .catch((err: unknown) => {
          // The store or the database did not answer (an outage): the bytes may be stored, the
          // flag is not. Each is settled again after the back-off (settleBytes finds its bytes
          // and sets the flag, or fetches them). Before, nothing did until a restart or a peer
          // coming up: such a picture stayed hidden (the scaled fault tier, two sites).
          const retries = arrived.map((a) => this.retryLater(a.id));
          this.deps.log.warn(
            {
              err: (err as Error).message,
              pictures: arrived.length,
              retryInMs: Math.min(...retries),
            },
            'could not mark fetched pictures visible; will retry',
          );
        })
        .finally(() => {
          this.flushing = null;
        });
    }, 5);
  }

  /**
   * The flag is set only for a picture that is still alive (read in the transaction that sets
   * it) and whose bytes are in the store (checked just before): a delete applied while the fetch
   * ran must not be overridden by this late flag. Bytes only leave the store for a dead picture,
   * after its death committed, so a picture still alive in the transaction still has them; a
   * death committed later is settled (bytes to trash, flag cleared) after this flag.
   */
  private async flushArrived(arrived: readonly Arrived[]): Promise<void> {
    this.flushTimer = null;
    const ids = arrived.map((a) => a.id);
    const { store, pictures, blobs } = this.deps;
    const present = new Set<string>();
    for (const id of ids) if (await blobs.has(id)) present.add(id);
    const factsOf = new Map<string, PhotoFacts>();
    for (const { id, facts } of arrived) {
      const found = await facts;
      if (found) factsOf.set(id, found);
    }
    const visible: string[] = [];
    const settle: string[] = [];
    /** Alive, said stored, not found in the store: fetched again after the back-off. */
    const lost: string[] = [];
    const withFacts = new Set<string>();
    await store.transaction(async (trx) => {
      // The appliers' order first (PostgreSQL): applying ops on these pictures meanwhile
      // would otherwise lock their rows in another order than this loop.
      await lockPictures(trx, store.dialect, ids);
      for (const id of ids) {
        const stored = await pictures.get(id, trx, { forUpdate: true });
        if (!stored) continue;
        if (present.has(id) && isAlive(stored.state)) {
          if (!stored.hasBlob) await pictures.setHasBlob(id, true, trx);
          const found = factsOf.get(id);
          if (found && this.deps.facts) {
            await this.deps.facts.saveIn(trx, id, found);
            withFacts.add(id);
          }
          visible.push(id);
        } else if (present.has(id) || stored.hasBlob) {
          // Died meanwhile (bytes to trash) or the bytes moved: settle it again.
          settle.push(id);
        } else if (isAlive(stored.state)) {
          // Not in the store although stored: settled (and fetched) again, never left hidden.
          lost.push(id);
        }
      }
    });
    for (const id of settle) this.schedule(id);
    for (const id of lost) this.retryLater(id);
    for (const id of visible) this.deps.onVisible?.(id, withFacts.has(id));
    // The small thumbnail (what a gallery shows) is made from our own copy in the background,
    // once the fetches are done so it does not take a core from them; the large one, four times
    // the work, only when someone opens the picture.
    this.thumbsLater.push(...visible);
    if (this.inflight.size === 0) this.releaseThumbnails();
  }

  private releaseThumbnails(): void {
    const ids = this.thumbsLater;
    this.thumbsLater = [];
    for (const id of ids) this.deps.service.prepareSmallThumbnail(id);
  }
}
