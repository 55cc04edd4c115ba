import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { COLLECTING, INITIAL_STATE } from './core/event-phase.js';
import type { EventRecord, PhotoPayload, Site, TxBody } from './core/types.js';
import { EventRepository, type Participant } from './event.repository.js';
import { OutboxRepository } from './outbox.repository.js';
import { TxLogRepository } from './tx-log.repository.js';

const SITE: Site = { id: 'site0001', name: 'A', url: 'http://127.0.0.1:1' };
const OTHER: Site = { id: 'site0002', name: 'B', url: 'http://127.0.0.1:2' };

function record(id: string, createdAt = 1_000): EventRecord {
  return {
    id,
    title: `Event ${id}`,
    originId: SITE.id,
    originName: SITE.name,
    organiser: 'alice',
    organiserId: `p_org_${id}`,
    invite: 'invite',
    sites: [SITE, OTHER],
    votingSeconds: 60,
    maxParticipants: 10,
    createdAt,
  };
}

function photo(participantId: string, baseVersion: number): PhotoPayload {
  return {
    hash: `${participantId}-${baseVersion}`.padEnd(64, '0'),
    size: 10,
    participantId,
    participantName: participantId,
    siteId: SITE.id,
    siteName: SITE.name,
    baseVersion,
    round: 1,
    addedAt: 2_000 + baseVersion,
  };
}

function person(id: string, extra: Partial<Participant> = {}): Participant {
  const base = { id, name: id, siteId: SITE.id, siteName: SITE.name, joinedAt: 1_500 };
  return { ...base, username: null, recoveryHash: null, ...extra };
}

function repos(store: MetadataStore) {
  return {
    repo: new EventRepository(store.dialect),
    txLog: new TxLogRepository(store.dialect),
    outbox: new OutboxRepository(store),
  };
}

describeEachDialect('event repository', (ctx) => {
  it('keeps an event: state, published once, deleted once, listed newest first', async () => {
    const store = await ctx.open();
    const { repo } = repos(store);
    const { db } = store;
    await repo.insertEvent(db, record('evt_a', 1_000), INITIAL_STATE);
    await repo.insertEvent(db, record('evt_b', 2_000), COLLECTING);
    await repo.insertEvent(db, { ...record('evt_a'), title: 'again' }, COLLECTING); // kept as is
    expect((await repo.getEvent(db, 'evt_a'))?.record.title).toBe('Event evt_a');
    expect((await repo.getEvent(db, 'evt_a'))?.state).toEqual(INITIAL_STATE);
    expect(await repo.getEvent(db, 'evt_none')).toBeNull();

    const voting = {
      phase: 'voting',
      round: 1,
      version: 2,
      deadline: 9_000,
      closed: false,
    } as const;
    await repo.setState(db, 'evt_a', voting);
    const closed = { ...voting, deadline: 8_000, closed: true } as const;
    await repo.setState(db, 'evt_a', closed);
    expect((await repo.getEvent(db, 'evt_a'))?.state).toEqual(closed);
    const published = { ...voting, phase: 'published', deadline: null, closed: false } as const;
    await repo.setState(db, 'evt_a', published, 5_000);
    await repo.setState(db, 'evt_a', published, 6_000); // the first publication time stays
    const a = await repo.getEvent(db, 'evt_a');
    expect(a?.state).toEqual(published);
    expect(a?.publishedAt).toBe(5_000);
    expect((await repo.allEvents(db)).map((e) => e.record.id)).toEqual(['evt_b', 'evt_a']);
    expect(await repo.countByPhase(db)).toEqual({ published: 1, collecting: 1 });

    await repo.setState(db, 'evt_b', { ...voting });
    expect((await repo.votingEvents(db)).map((e) => e.record.id)).toEqual(['evt_b']);
    await repo.markDeleted(db, 'evt_b', 7_000);
    await repo.markDeleted(db, 'evt_b', 8_000);
    expect((await repo.getEvent(db, 'evt_b'))?.deletedAt).toBe(7_000);
    expect(await repo.votingEvents(db)).toEqual([]);
    expect((await repo.allEvents(db)).map((e) => e.record.id)).toEqual(['evt_a']);
  });

  it('gives the photos of a montage version, less those of participants removed by then', async () => {
    const store = await ctx.open();
    const { repo } = repos(store);
    const { db } = store;
    await repo.insertEvent(db, record('evt_a'), COLLECTING);
    await repo.insertPhoto(db, 'evt_a', 1, 'tx1', photo('p_1', 0));
    await repo.insertPhoto(db, 'evt_a', 2, 'tx2', photo('p_2', 1));
    await repo.insertPhoto(db, 'evt_a', 2, 'tx2', photo('p_2', 1)); // a duplicate commit
    await repo.insertPhoto(db, 'evt_a', 3, 'tx3', photo('p_1', 2));
    await repo.insertRemoval(db, 'evt_a', 'p_1', 4, 3_000);
    const ids = async (upTo?: number) =>
      (await repo.photos(db, 'evt_a', upTo)).map((p) => [p.position, p.txId]);
    expect(await ids(2)).toEqual([
      [1, 'tx1'],
      [2, 'tx2'],
    ]);
    expect(await ids(3)).toEqual([
      [1, 'tx1'],
      [2, 'tx2'],
      [3, 'tx3'],
    ]);
    expect(await ids()).toEqual([[2, 'tx2']]);
    expect((await repo.photos(db, 'evt_a', 1))[0]?.photo).toEqual(photo('p_1', 0));
  });

  it('records a participant once, a later copy only filling what was missing', async () => {
    const store = await ctx.open();
    const { repo } = repos(store);
    const { db } = store;
    await repo.insertEvent(db, record('evt_a'), COLLECTING);
    await repo.insertParticipant(db, 'evt_a', person('p_2', { joinedAt: 1_600 }));
    await repo.insertParticipant(db, 'evt_a', person('p_1'));
    await repo.insertParticipant(
      db,
      'evt_a',
      person('p_2', { name: 'renamed', username: 'bob', recoveryHash: 'h2' }),
    );
    await repo.insertParticipant(db, 'evt_a', person('p_2', { username: 'eve' }));
    const all = await repo.participants(db, 'evt_a');
    expect(all.map((p) => p.id)).toEqual(['p_1', 'p_2']);
    expect(all[1]).toEqual(person('p_2', { joinedAt: 1_600, username: 'bob', recoveryHash: 'h2' }));
    await repo.insertRemoval(db, 'evt_a', 'p_1', 0, 3_000);
    expect((await repo.participants(db, 'evt_a')).map((p) => p.id)).toEqual(['p_2']);
  });

  it('takes a vote once per participant and round', async () => {
    const store = await ctx.open();
    const { repo } = repos(store);
    const { db } = store;
    const vote = { participantId: 'p_1', version: 2, decision: 'accept' } as const;
    expect(await repo.insertVote(db, 'evt_a', 1, vote, 1)).toBe(true);
    expect(await repo.insertVote(db, 'evt_a', 1, { ...vote, decision: 'reject' }, 2)).toBe(false);
    expect(await repo.insertVote(db, 'evt_a', 2, vote, 3)).toBe(true);
    expect(await repo.votes(db, 'evt_a', 1)).toEqual([vote]);
  });
});

describeEachDialect('2PC log and outbox', (ctx) => {
  const body: TxBody = { kind: 'photo', photo: photo('p_1', 0) };
  const entry = (id: string, eventId = 'evt_a') => ({ id, eventId, coordinator: SITE, body });

  it('logs each role of a transaction apart, and begins a coordinated one once', async () => {
    const store = await ctx.open();
    const { txLog } = repos(store);
    const { db } = store;
    expect(await txLog.begin(db, entry('tx1'), 10)).toBe(true);
    expect(await txLog.begin(db, entry('tx1'), 11)).toBe(false);
    await txLog.log(db, 'participant', entry('tx1'), 'prepared', 12);
    expect(await txLog.openCoordinatorTxs(db)).toEqual([
      { ...entry('tx1'), kind: 'photo', state: 'preparing', updatedAt: 10 },
    ]);
    expect((await txLog.participantTx(db, 'tx1'))?.state).toBe('prepared');
    expect(await txLog.holdsPrepared(db, 'evt_a')).toBe(true);
    expect(await txLog.holdsPrepared(db, 'evt_a', 'tx1')).toBe(false);
    expect((await txLog.inDoubt(db, 13)).map((t) => t.id)).toEqual(['tx1']);
    expect(await txLog.inDoubt(db, 12)).toEqual([]);

    await txLog.log(db, 'coordinator', entry('tx1'), 'committed', 20);
    await txLog.log(db, 'participant', entry('tx1'), 'committed', 21);
    expect(await txLog.openCoordinatorTxs(db)).toEqual([]);
    expect(await txLog.holdsPrepared(db, 'evt_a')).toBe(false);
    expect((await txLog.coordinatorTx(db, 'tx1'))?.updatedAt).toBe(20);
  });

  it('keeps an abort tombstone without overwriting a logged transaction', async () => {
    const store = await ctx.open();
    const { txLog } = repos(store);
    const { db } = store;
    await txLog.logAbortTombstone(db, 'tx_late', 'evt_a', 5);
    expect((await txLog.participantTx(db, 'tx_late'))?.state).toBe('aborted');
    await txLog.log(db, 'participant', entry('tx2'), 'prepared', 6);
    await txLog.logAbortTombstone(db, 'tx2', 'evt_a', 7);
    expect(await txLog.participantTx(db, 'tx2')).toMatchObject({ state: 'prepared', body });
  });

  it('queues messages in order, retries with a count, and forgets acknowledged ones', async () => {
    const store = await ctx.open();
    const { outbox } = repos(store);
    const { db } = store;
    const first = await outbox.enqueue(db, OTHER, '/peer/x', { n: 1 }, 100);
    const second = await outbox.enqueue(db, OTHER, '/peer/y', { n: 2 }, 200);
    expect(second).toBeGreaterThan(first);
    expect(await outbox.size(db)).toBe(2);
    expect((await outbox.due(db, 150)).map((r) => r.id)).toEqual([first]);
    expect(await outbox.due(db, 300, 1)).toEqual([
      { id: first, site: OTHER, path: '/peer/x', body: '{"n":1}', attempts: 0, nextAt: 100 },
    ]);
    await outbox.retryLater(first, 500);
    expect(await outbox.row(db, first)).toMatchObject({ attempts: 1, nextAt: 500 });
    expect((await outbox.due(db, 300)).map((r) => r.id)).toEqual([second]);
    await outbox.acked(second);
    expect(await outbox.row(db, second)).toBeNull();
    expect(await outbox.size(db)).toBe(1);
    // The light writes leave later commits durable (SQLite: synchronous back to FULL = 2).
    if (store.dialect.name === 'sqlite') {
      const { rows } = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(store.db);
      expect(rows[0]?.synchronous).toBe(2);
    }
  });
});
