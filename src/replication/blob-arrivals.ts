/**
 * Fetched blobs' pictures marked visible (`pictures.has_blob`), many in one transaction, with
 * the photo facts read from their batch's bytes (BlobSync). A picture that died meanwhile, whose
 * bytes moved, or whose bytes the store does not have after all is handed back to be settled
 * again; a flush that fails is retried per picture after the back-off.
 */
import type { Logger } from 'pino';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Executor, MetadataStore } from '../storage/metadata/dialect.js';
import { lockPictures } from '../oplog/apply.js';
import type { PhotoFacts } from '../pictures/core/photo-facts.js';
import type { PictureRepository } from '../pictures/picture.repository.js';
import { isAlive } from '../pictures/picture.state.js';

/** What the flush needs of BlobSync's dependencies (BlobSyncDeps). */
export interface ArrivalsDeps {
  readonly store: MetadataStore;
  readonly pictures: PictureRepository;
  readonly blobs: BlobStore;
  readonly log: Logger;
  /** A picture became visible; `factsSaved`: its photo facts were recorded with it. */
  readonly onVisible?: (id: string, factsSaved: boolean) => void;
  readonly facts?: { saveIn(trx: Executor, id: string, facts: PhotoFacts): Promise<void> };
}

/** What the flush hands back to BlobSync. */
export interface ArrivalsOutcome {
  /** Settles the picture again now (BlobSync.schedule). */
  settle(id: string): void;
  /** Settles it again after the back-off; returns the delay (BlobSync.retryLater). */
  retryLater(id: string): number;
  /** These pictures were just marked visible (their small thumbnails are due). */
  shown(ids: readonly string[]): void;
}

/** A fetched blob whose picture is to be marked visible (see `arrived`). */
interface Arrived {
  readonly id: string;
  readonly facts: Promise<PhotoFacts | null> | null;
}

export class BlobArrivals {
  /**
   * Fetched blobs whose pictures are not marked visible yet (flushed in one transaction), with
   * their photo facts when read from the bytes of a batch (null: not read, or not readable).
   */
  private arrived: Arrived[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  /**
   * The flushes, one after another (a batch that arrives while one runs waits for it): the
   * last one's end is when every flag asked for so far is written. `inFlight` counts those not
   * ended (before, a second flush's end cleared the one mark while the first still ran).
   */
  private flushed: Promise<void> = Promise.resolve();
  private inFlight = 0;

  constructor(
    private readonly deps: ArrivalsDeps,
    private readonly outcome: ArrivalsOutcome,
  ) {}

  /** Whether a flag is waiting to be written. */
  busy(): boolean {
    return this.flushTimer !== null || this.inFlight > 0;
  }

  /** Marks what already arrived, and waits for every flush (before the database closes). */
  async stop(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushNext();
    }
    await this.flushed;
  }

  /**
   * Marks pictures visible in batches: each SQLite commit is an fsync on the event loop, so a
   * node catching up on hundreds of small pictures would otherwise spend most of its time
   * waiting on one fsync per picture. A batch waits at most a few milliseconds. (If the node
   * stops before the flush, the next start finds the blob on disk and marks it then.)
   */
  markArrived(id: string, facts: Promise<PhotoFacts | null> | null): void {
    this.arrived.push({ id, facts });
    this.flushTimer ??= setTimeout(() => {
      this.flushNext();
    }, 5);
  }

  /** What arrived so far, flushed after the flushes before it. */
  private flushNext(): void {
    this.flushTimer = null;
    const arrived = this.arrived;
    this.arrived = [];
    this.inFlight++;
    this.flushed = this.flushed
      .then(() => this.flushArrived(arrived))
      .catch((err: unknown) => {
        // The store or the database did not answer (an outage): the bytes may be stored, the
        // flag is not. Each is settled again after the back-off (settleBytes finds its bytes
        // and sets the flag, or fetches them). Before, nothing did until a restart or a peer
        // coming up: such a picture stayed hidden (the scaled fault tier, two sites).
        const retries = arrived.map((a) => this.outcome.retryLater(a.id));
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
        this.inFlight--;
      });
  }

  /**
   * The flag is set only for a picture that is still alive (read in the transaction that sets
   * it) and whose bytes are in the store (checked just before): a delete applied while the fetch
   * ran must not be overridden by this late flag. Bytes only leave the store for a dead picture,
   * after its death committed, so a picture still alive in the transaction still has them; a
   * death committed later is settled (bytes to trash, flag cleared) after this flag.
   */
  private async flushArrived(arrived: readonly Arrived[]): Promise<void> {
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
    for (const id of settle) this.outcome.settle(id);
    for (const id of lost) this.outcome.retryLater(id);
    for (const id of visible) this.deps.onVisible?.(id, withFacts.has(id));
    this.outcome.shown(visible);
  }
}
