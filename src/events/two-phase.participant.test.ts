/**
 * 2PC at one site whose processes share one store: the row locks that keep two processes
 * from both acting on the same state (PostgreSQL, READ COMMITTED), and on SQLite the same
 * outcome from its single writer.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Agent } from 'undici';
import { expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { LocalBlobStore } from '../blobs/local-blob-store.js';
import { Faults } from '../faults/faults.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { COLLECTING } from './core/event-phase.js';
import type { EventRecord, PhotoPayload, Site } from './core/types.js';
import type { EventContext } from './event.context.js';
import { EventRepository } from './event.repository.js';
import { EventSender } from './event-sender.js';
import { OutboxRepository } from './outbox.repository.js';
import { TxCoordinator } from './two-phase.coordinator.js';
import { TxParticipant, type PrepareRequest } from './two-phase.participant.js';
import { TxLogRepository } from './tx-log.repository.js';

const SITE: Site = { id: 'site0001', name: 'A', url: 'http://127.0.0.1:9' };
const EVENT: EventRecord = {
  id: 'evt_one',
  title: 'One',
  originId: SITE.id,
  originName: SITE.name,
  organiser: 'alice',
  invite: 'invite',
  sites: [SITE],
  votingSeconds: 60,
  maxParticipants: 10,
  createdAt: 1_000,
};

/** One process of the site: its own repositories and protocol objects over `store`. */
async function processOf(store: MetadataStore) {
  const log = pino({ level: 'silent' });
  const faults = Faults.none();
  const outbox = new OutboxRepository(store);
  const agent = new Agent();
  const self = () => SITE;
  const ctx: EventContext = {
    store,
    repo: new EventRepository(store.dialect),
    txLog: new TxLogRepository(store.dialect),
    outbox,
    sender: new EventSender({ key: null, self, agent, faults, store, outbox, log }),
    photos: new LocalBlobStore(await mkdtemp(join(tmpdir(), 'mosaic-evphotos-'))),
    faults,
    log,
    self,
    now: Date.now,
    onCommitted: () => undefined,
    isLeader: () => true,
  };
  const participant = new TxParticipant(ctx);
  return { ctx, participant, coordinator: new TxCoordinator(ctx, participant) };
}

function photoTx(txId: string, participantId: string): PrepareRequest {
  const photo: PhotoPayload = {
    hash: txId.padEnd(64, '0'),
    size: 1,
    participantId,
    participantName: participantId,
    siteId: SITE.id,
    siteName: SITE.name,
    baseVersion: 0,
    round: 1,
    addedAt: 2_000,
  };
  return { txId, eventId: EVENT.id, coordinator: SITE, body: { kind: 'photo', photo } };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeEachDialect('2PC on a shared store', (ctx) => {
  it('two prepares of one event at once in two processes: one yes, the other busy', async () => {
    const [storeA, storeB] = await ctx.openWriters(2);
    if (!storeA || !storeB) throw new Error('two stores expected');
    const a = await processOf(storeA);
    const b = await processOf(storeB);
    await a.ctx.repo.insertEvent(storeA.db, EVENT, COLLECTING);

    let aPrepared: () => void = () => undefined;
    const aInside = new Promise<void>((resolve) => (aPrepared = resolve));
    const first = storeA.transaction(async (trx) => {
      const step = await a.participant.prepareInTx(trx, photoTx('tx_a', 'p_1'));
      aPrepared();
      await sleep(300); // B asks meanwhile; A has not committed yet
      return step.vote;
    });
    await aInside;
    const second = storeB.transaction((trx) =>
      b.participant.prepareInTx(trx, photoTx('tx_b', 'p_2')),
    );
    expect(await first).toEqual({ vote: 'yes' });
    expect((await second).vote).toEqual({ vote: 'no', reason: 'busy' });
    expect(await a.ctx.txLog.holdsPrepared(storeA.db, EVENT.id, 'tx_a')).toBe(false);
  });

  it('one commit delivered to two processes at once is applied once', async () => {
    const [storeA, storeB] = await ctx.openWriters(2);
    if (!storeA || !storeB) throw new Error('two stores expected');
    const a = await processOf(storeA);
    const b = await processOf(storeB);
    await a.ctx.repo.insertEvent(storeA.db, EVENT, COLLECTING);
    const tx = photoTx('tx_a', 'p_1');
    await storeA.transaction((trx) => a.participant.prepareInTx(trx, tx));

    let aApplied: () => void = () => undefined;
    const aInside = new Promise<void>((resolve) => (aApplied = resolve));
    const first = storeA.transaction(async (trx) => {
      const applied = await a.participant.decideInTx(trx, tx.txId, EVENT.id, 'commit');
      aApplied();
      await sleep(300);
      return applied;
    });
    await aInside;
    const second = storeB.transaction((trx) =>
      b.participant.decideInTx(trx, tx.txId, EVENT.id, 'commit'),
    );
    expect([await first, await second]).toEqual([true, false]);
    const event = await a.ctx.repo.getEvent(storeA.db, EVENT.id);
    expect(event?.state.version).toBe(1);
    expect(await a.ctx.repo.photos(storeA.db, EVENT.id)).toHaveLength(1);
  });

  it('a transaction with a fixed id is begun once: a second run changes nothing', async () => {
    const store = await ctx.open();
    const site = await processOf(store);
    await site.ctx.repo.insertEvent(store.db, EVENT, COLLECTING);
    const outcome = { round: 1, version: 0, outcome: 'abort', decidedAt: 3_000 } as const;
    const body = { kind: 'outcome', outcome } as const;
    const [one, two] = await Promise.all([
      site.coordinator.run('out_one_1', EVENT.id, body, [SITE]),
      site.coordinator.run('out_one_1', EVENT.id, body, [SITE]),
    ]);
    expect([one?.decision, two]).toEqual(['commit', null]);
    expect((await site.ctx.txLog.coordinatorTx(store.db, 'out_one_1'))?.state).toBe('committed');
    expect((await site.ctx.repo.getEvent(store.db, EVENT.id))?.state).toMatchObject({
      phase: 'aborted',
      round: 1,
    });
  });
});
