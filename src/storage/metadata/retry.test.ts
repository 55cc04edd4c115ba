import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachDialect } from '../../../test/helpers/dialects.js';
import { isTransientConflict, transactionWithRetry } from './retry.js';

describeEachDialect('transactionWithRetry', (ctx) => {
  it('runs again, whole, a transaction aborted by a deadlock, and both sides commit', async () => {
    const [one, two] = await ctx.openWriters(2);
    if (!one || !two) throw new Error('no stores');
    await sql`INSERT INTO meta (key, value) VALUES ('a', '0'), ('b', '0')`.execute(one.db);
    // Each side locks its first row, waits until the other has too, then wants the other's.
    const locked: Promise<void>[] = [];
    const ready: (() => void)[] = [];
    for (let i = 0; i < 2; i++) locked.push(new Promise<void>((r) => ready.push(r)));
    const runs = [0, 0];
    const reruns: unknown[] = [];
    const side = (k: 0 | 1, first: string, second: string) =>
      transactionWithRetry(
        k === 0 ? one : two,
        async (trx) => {
          runs[k] = (runs[k] ?? 0) + 1;
          await sql`UPDATE meta SET value = value || ${String(k)} WHERE key = ${first}`.execute(
            trx,
          );
          // SQLite: one writer at a time (the other waits for the commit): nothing to meet.
          if (runs[k] === 1 && ctx.dialect === 'postgres') {
            ready[k]?.();
            await locked[1 - k];
          }
          await sql`UPDATE meta SET value = value || ${String(k)} WHERE key = ${second}`.execute(
            trx,
          );
        },
        { onRetry: (error) => reruns.push(error) },
      );
    await Promise.all([side(0, 'a', 'b'), side(1, 'b', 'a')]);
    const rows = await sql<{ key: string; value: string }>`
      SELECT key, value FROM meta WHERE key IN ('a', 'b') ORDER BY key`.execute(one.db);
    if (ctx.dialect === 'postgres') {
      // PostgreSQL aborted one side (deadlock_detected) and it ran again after the other.
      expect(reruns).toHaveLength(1);
      expect(isTransientConflict(reruns[0])).toBe(true);
      expect(runs.reduce((a, b) => a + b)).toBe(3);
    } else {
      expect(reruns).toHaveLength(0);
    }
    // Each side's two updates are in, once: nothing of the aborted run was kept.
    for (const row of rows.rows) expect(row.value.split('').sort().join('')).toBe('001');
  });

  it('does not run again a transaction that failed for another reason', async () => {
    const store = await ctx.open();
    let runs = 0;
    await expect(
      transactionWithRetry(store, () => {
        runs++;
        return Promise.reject(new Error('not a conflict'));
      }),
    ).rejects.toThrow('not a conflict');
    expect(runs).toBe(1);
  });
});
