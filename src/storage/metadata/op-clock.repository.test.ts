import { expect, it } from 'vitest';
import { describeEachDialect } from '../../../test/helpers/dialects.js';
import { decodeHlc, encodeHlc } from '../../core/hlc.js';
import type { MetadataStore } from './dialect.js';
import { OpClockRepository, type Stamp } from './op-clock.repository.js';

const SITE = 'site0001';

/** Commits one op the way ChangeLog will: allocate, then append, in one transaction. */
async function commitOp(store: MetadataStore, clock: OpClockRepository): Promise<Stamp> {
  return store.transaction(async (trx) => {
    const [stamp] = await clock.allocate(trx, SITE, 1);
    if (!stamp) throw new Error('no stamp');
    await trx
      .insertInto('ops')
      .values({ origin: SITE, seq: stamp.seq, hlc: stamp.hlc, kind: 'test', body: '{}' })
      .execute();
    return stamp;
  });
}

async function loggedOps(store: MetadataStore) {
  return store.db
    .selectFrom('ops')
    .select(['seq', 'hlc'])
    .where('origin', '=', SITE)
    .orderBy('seq')
    .execute();
}

describeEachDialect('op clock', (ctx) => {
  it('gives contiguous seqs and increasing HLCs, even when the wall clock stands still', async () => {
    const store = await ctx.open();
    const clock = new OpClockRepository(store.dialect, () => 1_000);
    const batch = await store.transaction((trx) => clock.allocate(trx, SITE, 3));
    const next = await store.transaction((trx) => clock.allocate(trx, SITE, 2));
    const stamps = [...batch, ...next];
    expect(stamps.map((s) => s.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(stamps.map((s) => decodeHlc(s.hlc))).toEqual(
      [0, 1, 2, 3, 4].map((counter) => ({ wall: 1_000, counter, node: SITE })),
    );
  });

  it('starts after the ops a node logged before the table existed', async () => {
    const store = await ctx.open();
    const old = encodeHlc({ wall: 5_000, counter: 3, node: 'other' });
    await store.db
      .insertInto('ops')
      .values([
        {
          origin: SITE,
          seq: 1,
          hlc: encodeHlc({ wall: 10, counter: 0, node: SITE }),
          kind: 'k',
          body: '{}',
        },
        {
          origin: SITE,
          seq: 2,
          hlc: encodeHlc({ wall: 20, counter: 0, node: SITE }),
          kind: 'k',
          body: '{}',
        },
        { origin: 'other', seq: 9, hlc: old, kind: 'k', body: '{}' },
      ])
      .execute();
    // The node's op log kept its contiguous prefix (OpLogRepository.append).
    await store.db.insertInto('origins').values({ origin: SITE, contiguous: 2 }).execute();
    const clock = new OpClockRepository(store.dialect, () => 100);
    const [stamp] = await store.transaction((trx) => clock.allocate(trx, SITE, 1));
    expect(stamp).toEqual({ seq: 3, hlc: encodeHlc({ wall: 5_000, counter: 4, node: SITE }) });
  });

  it('gives the numbers of a rolled-back transaction to the next one', async () => {
    const store = await ctx.open();
    const clock = new OpClockRepository(store.dialect);
    await commitOp(store, clock);
    await expect(
      store.transaction(async (trx) => {
        await clock.allocate(trx, SITE, 5);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await commitOp(store, clock)).seq).toBe(2);
  });

  it('moves past a timestamp received from a peer', async () => {
    const store = await ctx.open();
    const clock = new OpClockRepository(store.dialect, () => 1_000);
    const remote = encodeHlc({ wall: 2_000, counter: 7, node: 'peer' });
    await store.transaction((trx) => clock.observe(trx, SITE, remote));
    const [stamp] = await store.transaction((trx) => clock.allocate(trx, SITE, 1));
    expect(stamp?.seq).toBe(1);
    expect(stamp && stamp.hlc > remote).toBe(true);
  });

  it('three processes committing at once: seqs 1..300 contiguous, HLCs increasing in seq order', async () => {
    const writers = await ctx.openWriters(3);
    const committed = await Promise.all(
      writers.map(async (store) => {
        const clock = new OpClockRepository(store.dialect);
        const mine: number[] = [];
        for (let i = 0; i < 100; i++) mine.push((await commitOp(store, clock)).seq);
        return mine;
      }),
    );
    const ops = await loggedOps(writers[0] ?? (await ctx.open()));
    expect(ops.map((op) => op.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    const hlcs = ops.map((op) => op.hlc);
    const outOfOrder = hlcs.filter((hlc, i) => i > 0 && !(hlc > (hlcs[i - 1] ?? '')));
    expect(outOfOrder).toEqual([]);
    expect(committed.flat().sort((a, b) => a - b)).toEqual(ops.map((op) => op.seq));
  });
});
