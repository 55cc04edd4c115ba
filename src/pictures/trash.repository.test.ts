import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { TrashRepository } from './trash.repository.js';
import { addPicture, at, pic } from './trash.testing.js';

describeEachDialect('trash repository', (ctx) => {
  it('lists deleted pictures within the retention, newest deletion first, until purged', async () => {
    const store = await ctx.open();
    const repo = new TrashRepository(store.db);
    await addPicture(store, 1, null);
    await addPicture(store, 2, 5_000);
    await addPicture(store, 3, 9_000);
    await addPicture(store, 4, 500); // deleted before the retention window
    expect((await repo.list(1_000, { limit: 10 })).items.map((t) => [t.id, t.deletedAt])).toEqual([
      [pic(3), 9_000],
      [pic(2), 5_000],
    ]);
    expect(await repo.get(pic(1), 1_000)).toBeNull();
    expect(await repo.get(pic(2), 1_000)).toMatchObject({ title: 'P2', size: 102 });
    // A purge ordered before the delete does not empty it; one after does.
    await store.transaction((trx) => repo.purge(trx, pic(2), at(4_000)));
    expect(await repo.get(pic(2), 1_000)).not.toBeNull();
    await store.transaction((trx) => repo.purge(trx, pic(2), at(6_000)));
    await store.transaction((trx) => repo.purge(trx, pic(2), at(4_500)));
    expect((await repo.list(1_000, { limit: 10 })).items.map((t) => t.id)).toEqual([pic(3)]);
    expect(await repo.count(1_000)).toBe(1);
  });

  it('pages through the whole trash, ties on the delete broken by id, and counts it', async () => {
    const store = await ctx.open();
    const repo = new TrashRepository(store.db);
    // Seven deleted pictures, three of them by one delete's timestamp; two are bob's.
    const deleted: [number, number, string][] = [
      [1, 3_000, 'ann'],
      [2, 5_000, 'bob'],
      [3, 5_000, 'ann'],
      [4, 5_000, 'ann'],
      [5, 7_000, 'bob'],
      [6, 2_000, 'ann'],
      [7, 8_000, 'ann'],
    ];
    for (const [n, when, owner] of deleted) await addPicture(store, n, when, owner);
    await addPicture(store, 8, null);
    const expected = [pic(7), pic(5), pic(4), pic(3), pic(2), pic(1), pic(6)];

    const seen: string[] = [];
    const pages: number[] = [];
    let after;
    for (;;) {
      const page = await repo.list(1_000, { limit: 2, after });
      seen.push(...page.items.map((t) => t.id));
      pages.push(page.items.length);
      if (page.next === null) break;
      after = page.next;
    }
    expect(seen).toEqual(expected);
    expect(pages).toEqual([2, 2, 2, 1]);
    // A page that ends exactly at the end says so (no empty page after it).
    expect((await repo.list(1_000, { limit: 7 })).next).toBeNull();
    expect(await repo.count(1_000)).toBe(7);

    const bobs = await repo.list(1_000, { limit: 10, owner: 'bob' });
    expect(bobs.items.map((t) => t.id)).toEqual([pic(5), pic(2)]);
    expect(await repo.count(1_000, 'bob')).toBe(2);
    expect(await repo.count(1_000, 'carl')).toBe(0);
  });

  it("reads the trash through its own index, not every picture's row", async () => {
    const store = await ctx.open();
    // The shape of the trash's page (TrashRepository.inTrash, ordered and limited).
    const page = `SELECT id FROM pictures p
      WHERE p.alive = 0 AND p.info_hlc IS NOT NULL AND p.deleted_hlc IS NOT NULL
        AND p.deleted_hlc >= '0000000000001000' AND p.owner = 'bob'
      ORDER BY p.deleted_hlc DESC, p.id DESC LIMIT 101`;
    let plan: string;
    if (ctx.dialect === 'sqlite') {
      const rows = await sql<{ detail: string }>`${sql.raw(`EXPLAIN QUERY PLAN ${page}`)}`.execute(
        store.db,
      );
      plan = rows.rows.map((r) => r.detail).join('; ');
    } else {
      // An empty table is scanned whatever its indexes: ask whether the index can serve.
      plan = await store.transaction(async (trx) => {
        await sql`SET LOCAL enable_seqscan = off`.execute(trx);
        const rows = await sql<Record<string, string>>`${sql.raw(`EXPLAIN ${page}`)}`.execute(trx);
        return rows.rows.map((r) => Object.values(r).join(' ')).join('; ');
      });
    }
    expect(plan).toContain('pictures_in_trash');
  });
});
