/**
 * The events' once-per-site background work (outbox delivery, coordinator recovery, round
 * deadlines) runs only while `isLeader` says this process leads the site; the leader also
 * follows through with what another process of the site began and left when it died.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Agent } from 'undici';
import { afterEach, expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { waitFor } from '../../test/helpers/node-process.js';
import { Faults } from '../faults/faults.js';
import { COLLECTING } from './core/event-phase.js';
import type { EventRecord, Site, TxBody } from './core/types.js';
import { EventRepository } from './event.repository.js';
import { createEvents } from './index.js';
import { OutboxRepository } from './outbox.repository.js';
import { TxLogRepository } from './tx-log.repository.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';

const SITE: Site = { id: 'site0001', name: 'A', url: 'http://127.0.0.1:9' };
const OTHER: Site = { id: 'site0002', name: 'B', url: 'http://127.0.0.1:9' };
const EVENT: EventRecord = {
  id: 'evt_lead',
  title: 'Lead',
  originId: SITE.id,
  originName: SITE.name,
  organiser: 'alice',
  invite: 'invite',
  sites: [SITE, OTHER],
  votingSeconds: 60,
  maxParticipants: 10,
  createdAt: 1_000,
};

/** A photo transaction's body (its bytes are not needed: it is only ever aborted here). */
const PHOTO: TxBody = {
  kind: 'photo',
  photo: {
    hash: 'a'.repeat(64),
    size: 1,
    participantId: 'p_1',
    participantName: 'p',
    siteId: SITE.id,
    siteName: SITE.name,
    baseVersion: 0,
    round: 1,
    addedAt: 2_000,
  },
};

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/**
 * The events of one process over `store`, started; `leads` is asked by every loop (`asked`
 * counts the questions). `close` stops them.
 */
async function startEvents(store: MetadataStore, leads: () => boolean) {
  const dataDir = await mkdtemp(join(tmpdir(), 'mosaic-events-'));
  dirs.push(dataDir);
  const agent = new Agent();
  const counted = { asked: 0 };
  const events = await createEvents({
    store,
    dataDir,
    log: pino({ level: 'silent' }),
    faults: Faults.none(),
    agent,
    clusterKey: null,
    self: () => SITE,
    members: () => [],
    isLeader: () => {
      counted.asked++;
      return leads();
    },
  });
  events.start();
  return {
    get asked() {
      return counted.asked;
    },
    async close() {
      await events.stop();
      await agent.close();
    },
  };
}

describeEachDialect('events background work', (ctx) => {
  it('skips while another process leads the site, and recovers once this one leads', async () => {
    const store = await ctx.open();
    const { db } = store;
    const repo = new EventRepository(store.dialect);
    const txLog = new TxLogRepository(store.dialect);
    const outbox = new OutboxRepository(store);
    // What a crashed coordinator left: a photo transaction still preparing, a message unsent.
    await repo.insertEvent(db, EVENT, COLLECTING);
    await txLog.begin(db, { id: 'tx_open', eventId: EVENT.id, coordinator: SITE, body: PHOTO }, 1);
    const message = await outbox.enqueue(db, OTHER, '/peer/events/voting', {}, 0);

    let leader = false;
    const events = await startEvents(store, () => leader);
    try {
      // Every loop has asked several times (the outbox every 100 ms, deadlines every 250 ms).
      await waitFor(() => events.asked >= 12, { what: 'the loops to ask whether they lead' });
      expect((await txLog.coordinatorTx(db, 'tx_open'))?.state).toBe('preparing');
      expect((await outbox.row(db, message))?.attempts).toBe(0);

      leader = true;
      await waitFor(async () => (await txLog.coordinatorTx(db, 'tx_open'))?.state === 'aborted', {
        what: 'the new leader to presume the open photo transaction aborted',
      });
      await waitFor(async () => ((await outbox.row(db, message))?.attempts ?? 0) > 0, {
        what: 'the new leader to try the outbox',
      });
    } finally {
      await events.close();
    }
  });

  it('the leader follows through with a transaction another process began and left', async () => {
    const store = await ctx.open();
    const { db } = store;
    await new EventRepository(store.dialect).insertEvent(db, EVENT, COLLECTING);
    const txLog = new TxLogRepository(store.dialect);
    const events = await startEvents(store, () => true);
    try {
      // This process leads from the start and has recovered what was open then: nothing.
      await waitFor(() => events.asked >= 12, { what: 'the loops to run as leader' });
      // Meanwhile another process of the site began two transactions: one a minute ago (it
      // died since: nobody will ever decide it), one just now (it may still be driving it).
      const now = Date.now();
      const left = { id: 'tx_left', eventId: EVENT.id, coordinator: SITE, body: PHOTO };
      await txLog.begin(db, left, now - 60_000);
      await txLog.begin(db, { ...left, id: 'tx_driven' }, now);
      // Before, the leader recovered only when it became leader: tx_left stayed open for ever
      // (a round's outcome so begun left its event voting at every site).
      await waitFor(async () => (await txLog.coordinatorTx(db, 'tx_left'))?.state === 'aborted', {
        timeoutMs: 15_000,
        what: 'the leader to presume the left photo transaction aborted',
      });
      expect((await txLog.coordinatorTx(db, 'tx_driven'))?.state).toBe('preparing');
    } finally {
      await events.close();
    }
  });
});
