/**
 * Keeps each picture's bytes where its replicated state says they belong: fetched from a peer
 * when the picture is alive here but its bytes are not, moved to the trash when it dies,
 * restored when it comes back. A picture becomes visible only once its bytes are here.
 *
 * Small blobs (up to MAX_BATCH_BLOB_BYTES) are fetched in batches (batch-fetch.ts): one request
 * brings many (POST /peer/blobs, blob-frames.ts), each verified as it arrives, and the store
 * makes the batch durable with one fsync per file and one per directory touched (a catch-up
 * after downtime brings hundreds of pictures). Larger blobs, blobs with a partial left, and
 * blobs no peer gave in a batch stream on their own from any reachable peer that has them,
 * verified against the hash, resuming from the partial file after an interruption or a restart.
 * Pictures whose bytes arrived are marked visible many at a time (blob-arrivals.ts).
 */
import type { Logger } from 'pino';
import { MAX_BATCH_BLOB_BYTES } from '../blobs/blob-frames.js';
import type { BlobStore } from '../blobs/blob-store.js';
import { Limiter } from '../core/limiter.js';
import type { Executor, MetadataStore } from '../storage/metadata/dialect.js';
import type { Op } from '../oplog/op.js';
import type { PhotoFacts } from '../pictures/core/photo-facts.js';
import type { PictureRepository } from '../pictures/picture.repository.js';
import type { PictureService } from '../pictures/picture.service.js';
import { isAlive } from '../pictures/picture.state.js';
import { BatchFetch } from './batch-fetch.js';
import { BlobArrivals } from './blob-arrivals.js';
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

const RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

export class BlobSync {
  /** Per picture: the reconcile in progress, and whether another was asked for meanwhile. */
  private readonly inflight = new Map<string, { again: boolean }>();
  private readonly limiter: Limiter;
  private stopped = false;
  /** Fetched blobs whose pictures are to be marked visible (blob-arrivals.ts). */
  private readonly arrivals: BlobArrivals;
  /** Pictures waiting for their small thumbnail until no fetch is in flight. */
  private thumbsLater: string[] = [];
  /** Failed fetch rounds per picture, for the retry back-off. */
  private readonly attempts = new Map<string, number>();
  /** Small blobs, fetched many per request (batch-fetch.ts). */
  private readonly batches: BatchFetch;

  constructor(private readonly deps: BlobSyncDeps) {
    // Fetches mostly wait on the network and on fsync; fsyncs in flight together are committed
    // together by the file system, so several at once go much faster than one by one.
    this.limiter = new Limiter(deps.concurrency ?? 8);
    this.batches = new BatchFetch(deps, (id, facts) => {
      this.attempts.delete(id);
      this.arrivals.markArrived(id, facts);
    });
    this.arrivals = new BlobArrivals(deps, {
      settle: (id) => {
        this.schedule(id);
      },
      retryLater: (id) => this.retryLater(id),
      shown: (ids) => {
        this.thumbnailsLater(ids);
      },
    });
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
    return this.inflight.size > 0 || this.arrivals.busy();
  }

  /** Stops fetching; marks what already arrived (before the database closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.batches.stop();
    await this.arrivals.stop();
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
      if (await this.batches.fetchInBatch(id, size, stored.state.info.contentType)) return;
    }
    await this.limiter.run(() => this.fetch(id, size));
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
      this.arrivals.markArrived(id, null);
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
   * The small thumbnail (what a gallery shows) is made from our own copy in the background,
   * once the fetches are done so it does not take a core from them; the large one, four times
   * the work, only when someone opens the picture.
   */
  private thumbnailsLater(visible: readonly string[]): void {
    this.thumbsLater.push(...visible);
    if (this.inflight.size === 0) this.releaseThumbnails();
  }

  private releaseThumbnails(): void {
    const ids = this.thumbsLater;
    this.thumbsLater = [];
    for (const id of ids) this.deps.service.prepareSmallThumbnail(id);
  }
}
