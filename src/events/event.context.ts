/** What the parts of the event protocol share at one site (passed in, never global). */
import type { Logger } from 'pino';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Faults } from '../faults/faults.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import type { Site, TxBody } from './core/types.js';
import type { EventRepository } from './event.repository.js';
import type { EventSender } from './event-sender.js';
import type { OutboxRepository } from './outbox.repository.js';
import type { TxLogRepository } from './tx-log.repository.js';

export interface EventContext {
  /**
   * The metadata store. Inside `store.transaction(async (trx) => …)` use only `trx` (on
   * SQLite, `store.db` would wait for that transaction forever), and no network or file I/O.
   */
  readonly store: MetadataStore;
  readonly repo: EventRepository;
  /** The durable 2PC log. */
  readonly txLog: TxLogRepository;
  readonly outbox: OutboxRepository;
  readonly sender: EventSender;
  /** Photo bytes of events, content-addressed (kept apart from the picture library). */
  readonly photos: BlobStore;
  readonly faults: Faults;
  readonly log: Logger;
  readonly self: () => Site;
  readonly now: () => number;
  /** Called after a transaction committed at this site (e.g. to build the new montage). */
  readonly onCommitted: (eventId: string, body: TxBody) => void;
  /**
   * Whether this process does the site's once-per-site background work (outbox delivery,
   * coordinator recovery, in-doubt questions, round deadlines); see ./index.ts.
   */
  readonly isLeader: () => boolean;
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });

/** Exponential back-off with jitter, from 50 ms up to `max`. */
export function backoff(attempt: number, max = 2_000): number {
  const base = Math.min(max, 50 * 2 ** Math.min(attempt, 8));
  return base / 2 + Math.random() * (base / 2);
}
