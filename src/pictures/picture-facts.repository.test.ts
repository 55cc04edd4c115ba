import { expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { NO_FACTS, type PhotoFacts } from './core/photo-facts.js';
import { PictureFactsRepository } from './picture-facts.repository.js';
import { SqlPictureRepository } from './picture.repository.js';
import { PHONE_FACTS, addPicture, id } from './testing.js';

const at = (iso: string) => Date.parse(iso);

const taken = (takenAt: string): PhotoFacts => ({ ...NO_FACTS, takenAt });

describeEachDialect('picture facts repository', (ctx) => {
  it('stores facts and reads them back, one or many', async () => {
    const repo = new PictureFactsRepository(await ctx.open());
    const facts = PHONE_FACTS;
    await repo.save(id(1), facts, 1);
    await repo.save(id(1), facts, 1); // idempotent
    await repo.save(id(2), NO_FACTS, 1);
    expect(await repo.get(id(1))).toEqual(facts);
    expect(await repo.get(id(3))).toBeNull();
  });

  it('orders visible pictures by date taken, upload time when unknown, in stable pages', async () => {
    const store = await ctx.open();
    const repo = new PictureFactsRepository(store);
    await addPicture(store, 1, at('2026-11-30T10:00:00Z'));
    await repo.save(id(1), taken('2019-07-14T18:30:05+02:00'), 1);
    await addPicture(store, 2, at('2026-11-30T10:01:00Z'));
    await repo.save(id(2), taken('2022-01-01T00:00:00'), 1);
    await addPicture(store, 3, at('2024-05-05T05:05:05Z')); // no facts row yet
    await addPicture(store, 4, at('2026-11-30T10:02:00Z'));
    await repo.save(id(4), NO_FACTS, 1); // no date in the bytes
    await addPicture(store, 5, at('2026-11-30T10:03:00Z'), { alive: false });
    await repo.save(id(5), taken('2023-01-01T00:00:00'), 1);

    const first = await repo.timeline({ limit: 2 });
    expect(first.map((e) => e.id)).toEqual([id(4), id(3)]);
    // A picture arrives between two pages, taken before the cursor: it does not shift them.
    await addPicture(store, 6, at('2026-11-30T11:00:00Z'));
    await repo.save(id(6), taken('2025-01-01T00:00:00'), 1);
    const last = first.at(-1);
    if (!last) throw new Error('no page');
    const second = await repo.timeline({ limit: 10, cursor: last });
    expect(second.map((e) => e.id)).toEqual([id(2), id(1)]);
    expect(second[0]?.key).toBe(at('2022-01-01T00:00:00Z'));
    // The local time is what orders and groups: 18:30 at +02:00 is the 14th at 18:30.
    expect(second[1]?.key).toBe(at('2019-07-14T18:30:05Z'));

    expect(await repo.months()).toEqual([
      { month: '2026-11', count: 1 },
      { month: '2025-01', count: 1 },
      { month: '2024-05', count: 1 },
      { month: '2022-01', count: 1 },
      { month: '2019-07', count: 1 },
    ]);
  });

  it('filters the timeline by category and by search words', async () => {
    const store = await ctx.open();
    const repo = new PictureFactsRepository(store);
    await addPicture(store, 1, 1000, { category: 'sea', title: 'Harbour at dawn' });
    await addPicture(store, 2, 2000, { category: 'hills', title: 'Harbour lights' });
    await addPicture(store, 3, 3000, { category: 'sea', title: 'Boats' });
    expect((await repo.timeline({ limit: 10, category: 'sea' })).map((e) => e.id)).toEqual([
      id(3),
      id(1),
    ]);
    expect((await repo.timeline({ limit: 10, q: 'harb' })).map((e) => e.id)).toEqual([
      id(2),
      id(1),
    ]);
    expect(await repo.months({ category: 'hills' })).toEqual([{ month: '1970-01', count: 1 }]);
  });

  it('counts the months of a search as its pages list it, with the category too', async () => {
    const store = await ctx.open();
    const repo = new PictureFactsRepository(store);
    await addPicture(store, 1, at('2024-01-10T00:00:00Z'), { title: 'Harbour', category: 'sea' });
    await addPicture(store, 2, at('2024-03-10T00:00:00Z'), { title: 'Boats' });
    await addPicture(store, 3, at('2024-03-11T00:00:00Z'), { title: 'Harbour lights' });
    await addPicture(store, 4, at('2024-05-10T00:00:00Z'), { title: 'Hills', category: 'sea' });
    expect(await repo.months({ q: 'harb' })).toEqual([
      { month: '2024-03', count: 1 },
      { month: '2024-01', count: 1 },
    ]);
    expect(await repo.months({ q: 'harb', category: 'sea' })).toEqual([
      { month: '2024-01', count: 1 },
    ]);
    expect(await repo.months({ q: 'zzzqqq' })).toEqual([]);
    // No words at all: nothing, not the whole library; white space alone is no search.
    expect(await repo.months({ q: `%_\\'` })).toEqual([]);
    expect(await repo.timeline({ limit: 10, q: `%_\\'` })).toEqual([]);
    expect(await repo.months({ q: '  ' })).toHaveLength(3);
  });

  it('counts per month in UTC on both engines, before 1970 too', async () => {
    const store = await ctx.open();
    const repo = new PictureFactsRepository(store);
    await addPicture(store, 1, at('2026-11-30T10:00:00Z'));
    await repo.save(id(1), taken('1969-12-31T23:59:59.500'), 1);
    await addPicture(store, 2, at('1970-01-01T00:00:00Z'));
    await addPicture(store, 3, at('2020-02-29T23:59:59.999Z'));
    await addPicture(store, 4, at('2020-03-01T00:00:00Z'));
    await addPicture(store, 5, at('2020-03-31T12:00:00Z'));
    expect(await repo.months()).toEqual([
      { month: '2020-03', count: 2 },
      { month: '2020-02', count: 1 },
      { month: '1970-01', count: 1 },
      { month: '1969-12', count: 1 },
    ]);
  });

  it('keeps the date taken beside its picture when the picture is written again', async () => {
    const store = await ctx.open();
    const repo = new PictureFactsRepository(store);
    await addPicture(store, 1, at('2026-11-30T10:00:00Z'));
    await repo.save(id(1), taken('2001-02-03T04:05:06'), 1);
    // A replicated edit writes the row again (PictureRepository.save, as applying an op does).
    const pictures = new SqlPictureRepository(store);
    const stored = await pictures.get(id(1));
    if (!stored) throw new Error('no row');
    await pictures.save(store.db, stored.state, stored.hasBlob);
    const [entry] = await repo.timeline({ limit: 1 });
    expect(entry).toMatchObject({ id: id(1), key: at('2001-02-03T04:05:06Z') });
  });

  it('lists the pictures whose facts are missing or stale, resumably', async () => {
    const store = await ctx.open();
    const repo = new PictureFactsRepository(store);
    for (const n of [1, 2, 3, 4]) await addPicture(store, n, n * 1000);
    await repo.save(id(1), NO_FACTS, 2);
    await repo.save(id(2), NO_FACTS, 1);
    expect(await repo.stale(2, 10)).toEqual([
      { id: id(2), contentType: 'image/jpeg' },
      { id: id(3), contentType: 'image/jpeg' },
      { id: id(4), contentType: 'image/jpeg' },
    ]);
    expect((await repo.stale(2, 10, id(3))).map((r) => r.id)).toEqual([id(4)]);
  });
});
