/**
 * Group photo events, assembled for one node: what the events layer promises to the
 * composition root. `start` after the server listens (it recovers open transactions and starts
 * the outbox, in-doubt and deadline loops); `stop` before the store closes.
 *
 * Several processes of one site may share one metadata store (PostgreSQL). Requests may reach
 * any of them, and every read-modify-write locks its event's row, so they may all serve the
 * API and the peers' messages. The background work — outbox delivery, coordinator recovery,
 * in-doubt questions, round deadlines — must run on one process of the site only: `isLeader`
 * says whether this process is it (e.g. the holder of a lease kept by
 * storage/metadata/lease-keeper.ts); while false, those loops skip their work, and a process
 * that becomes leader recovers the open transactions first. Default: always (one process).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Agent } from '../http/undici-client.js';
import type { BlobStore } from '../blobs/blob-store.js';
import { LocalBlobStore } from '../blobs/local-blob-store.js';
import type { Faults } from '../faults/faults.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import type { Site } from './core/types.js';
import type { Member } from './event.service.js';
import type { EventContext } from './event.context.js';
import { EventRepository } from './event.repository.js';
import { EventSender } from './event-sender.js';
import { EventService } from './event.service.js';
import { MontageBuilder } from './montage.js';
import type { DecodeLimiter } from '../pictures/images.js';
import { registerEventMetrics } from './event-metrics.js';
import type { Registry } from 'prom-client';
import { TxCoordinator } from './two-phase.coordinator.js';
import { TxParticipant } from './two-phase.participant.js';
import { OutboxRepository } from './outbox.repository.js';
import { TxLogRepository } from './tx-log.repository.js';

export interface EventsDeps {
  readonly store: MetadataStore;
  readonly dataDir: string;
  readonly log: Logger;
  readonly faults: Faults;
  readonly agent: Agent;
  /** null on a standalone node: a cluster of one. */
  readonly clusterKey: string | null;
  readonly self: () => Site;
  /** Where event photos are kept; default: a local store under <data>/events. */
  readonly photos?: BlobStore;
  /** The node's image decoding gate, shared with thumbnails (pictures/images.ts). */
  readonly decodes?: DecodeLimiter;
  /** Every other member of the cluster known here (see EventServiceDeps.members). */
  readonly members: () => readonly Member[];
  /** Whether this process runs the site's background work (see above); default: always. */
  readonly isLeader?: () => boolean;
  /**
   * This process's clock, ms since the epoch; default `Date.now`. Processes of one site may
   * disagree (tests give them clocks apart): nothing that must hold may depend on them agreeing.
   */
  readonly now?: () => number;
}

export interface Events {
  readonly service: EventService;
  /** Adds the events' figures to the node's /metrics. */
  registerMetrics(registry: Registry): void;
  readonly participant: TxParticipant;
  readonly photos: BlobStore;
  start(): void;
  stop(): Promise<void>;
}

export async function createEvents(deps: EventsDeps): Promise<Events> {
  const { store } = deps;
  const repo = new EventRepository(store.dialect);
  const txLog = new TxLogRepository(store.dialect);
  const outbox = new OutboxRepository(store);
  const isLeader = deps.isLeader ?? (() => true);
  const photos = deps.photos ?? new LocalBlobStore(join(deps.dataDir, 'events'));
  await photos.init();
  const log = deps.log.child({ layer: 'events' });
  const sender = new EventSender({
    key: deps.clusterKey,
    self: deps.self,
    agent: deps.agent,
    faults: deps.faults,
    store,
    outbox,
    log,
    isLeader,
  });
  let service: EventService | null = null;
  const ctx: EventContext = {
    store,
    repo,
    txLog,
    outbox,
    sender,
    photos,
    faults: deps.faults,
    log,
    self: deps.self,
    now: deps.now ?? Date.now,
    onCommitted: (eventId, body) => service?.onCommitted(eventId, body),
    isLeader,
  };
  const participant = new TxParticipant(ctx);
  const coordinator = new TxCoordinator(ctx, participant);
  service = new EventService({
    ctx,
    coordinator,
    participant,
    montage: new MontageBuilder(join(deps.dataDir, 'events', 'montages'), deps.decodes),
    members: deps.members,
    siteUrl: () => deps.self().url || null,
  });
  const events = service;
  return {
    service: events,
    participant,
    photos,
    registerMetrics: (registry) => {
      registerEventMetrics(registry, store, { repo, outbox }, coordinator);
    },
    start: () => {
      events.start();
    },
    stop: () => events.stop(),
  };
}
