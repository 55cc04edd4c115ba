/**
 * Keeps each picture's bytes where its replicated state says they belong: fetched from a peer
 * when the picture is alive here but its bytes are not, moved to the trash when it dies,
 * restored when it comes back. A picture becomes visible only once its bytes are here.
 *
 * Fetches stream from any reachable peer that has the blob, are verified against the hash,
 * and resume from the partial file after an interruption or a restart.
 */
import type { Logger } from 'pino';
import type { BlobStore } from '../blobs/blob-store.js';
import { Limiter } from '../core/limiter.js';
import type { Db } from '../db/database.js';
import type { Op } from '../oplog/op.js';
import type { PictureRepository } from '../pictures/picture.repository.js';
import type { PictureService } from '../pictures/picture.service.js';
import { isAlive } from '../pictures/picture.state.js';
import type { PeerClient } from './peer-client.js';

export interface BlobSyncDeps {
  readonly db: Db;
  readonly pictures: PictureRepository;
  readonly service: PictureService;
  readonly blobs: BlobStore;
  /** Peers to fetch from, best first. */
  readonly sources: () => PeerClient[];
  readonly log: Logger;
  readonly onVisible?: (id: string) => void;
  readonly concurrency?: number;
}

const RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

export class BlobSync {
  /** Per picture: the reconcile in progress, and whether another was asked for meanwhile. */
  private readonly inflight = new Map<string, { again: boolean }>();
  private readonly limiter: Limiter;
  private stopped = false;
  /** Fetched blobs whose pictures are not marked visible yet (flushed in one transaction). */
  private arrived: string[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  /** Pictures waiting for their small thumbnail until no fetch is in flight. */
  private thumbsLater: string[] = [];
  /** Failed fetch rounds per picture, for the retry back-off. */
  private readonly attempts = new Map<string, number>();

  constructor(private readonly deps: BlobSyncDeps) {
    // Fetches mostly wait on the network and on fsync; fsyncs in flight together are committed
    // together by the file system, so several at once go much faster than one by one.
    this.limiter = new Limiter(deps.concurrency ?? 8);
  }

  handleOps(ops: readonly Op[]): void {
    for (const op of ops) {
      const kind = op.body.kind;
      if (kind === 'picture.create' || kind === 'picture.update' || kind === 'picture.delete') {
        this.schedule(op.body.id);
      }
    }
  }

  /** Reconciles every picture whose bytes are missing (at start, and when a peer comes up). */
  scanMissing(): void {
    const ids = this.deps.db
      .prepare('SELECT id FROM pictures WHERE alive = 1 AND has_blob = 0')
      .pluck()
      .all() as string[];
    for (const id of ids) this.schedule(id);
  }

  /** Bytes of pictures known here whose blobs are still to fetch. */
  pendingBytes(): number {
    return this.deps.db
      .prepare('SELECT COALESCE(SUM(size), 0) FROM pictures WHERE alive = 1 AND has_blob = 0')
      .pluck()
      .get() as number;
  }

  /** Whether a reconcile is running or a flag is waiting to be written (for tests). */
  busy(): boolean {
    return this.inflight.size > 0 || this.flushTimer !== null || this.flushing !== null;
  }

  /** Stops fetching; marks what already arrived (before the database closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      await this.flushArrived();
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
        this.deps.log.warn(
          { picture: id, err: (error as Error).message },
          'blob sync failed; will retry',
        );
      } finally {
        this.inflight.delete(id);
        if (this.inflight.size === 0) this.releaseThumbnails();
      }
    })();
  }

  private async reconcile(id: string): Promise<void> {
    const { service, pictures } = this.deps;
    await service.settleBytes(id);
    const stored = pictures.get(id);
    if (!stored || stored.hasBlob || !isAlive(stored.state) || !stored.state.info) return;
    const size = stored.state.info.size;
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
      this.markArrived(id);
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
    if (!this.stopped) {
      const attempts = (this.attempts.get(id) ?? 0) + 1;
      this.attempts.set(id, attempts);
      const delay = Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** (attempts - 1));
      log.debug({ picture: id, attempts, delay }, 'blob not available yet; retrying');
      setTimeout(() => {
        this.schedule(id);
      }, delay).unref();
    }
  }

  /**
   * Marks pictures visible in batches: each SQLite commit is an fsync on the event loop, so a
   * node catching up on hundreds of small pictures would otherwise spend most of its time
   * waiting on one fsync per picture. A batch waits at most a few milliseconds. (If the node
   * stops before the flush, the next start finds the blob on disk and marks it then.)
   */
  private markArrived(id: string): void {
    this.arrived.push(id);
    this.flushTimer ??= setTimeout(() => {
      this.flushing = this.flushArrived()
        .catch((err: unknown) => {
          this.deps.log.error({ err }, 'could not mark fetched pictures visible');
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
  private async flushArrived(): Promise<void> {
    this.flushTimer = null;
    const ids = this.arrived;
    this.arrived = [];
    const { db, pictures, blobs } = this.deps;
    const present = new Set<string>();
    for (const id of ids) if (await blobs.has(id)) present.add(id);
    const visible: string[] = [];
    const settle: string[] = [];
    db.transaction(() => {
      for (const id of ids) {
        const stored = pictures.get(id);
        if (!stored) continue;
        if (present.has(id) && isAlive(stored.state)) {
          if (!stored.hasBlob) pictures.setHasBlob(id, true);
          visible.push(id);
        } else if (present.has(id) || stored.hasBlob) {
          // Died meanwhile (bytes to trash) or the bytes moved: settle it again.
          settle.push(id);
        }
      }
    })();
    for (const id of settle) this.schedule(id);
    for (const id of visible) this.deps.onVisible?.(id);
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
