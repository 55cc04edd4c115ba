import type { Executor, MetadataStore } from '../storage/metadata/dialect.js';
import { CompiledStatements } from '../storage/metadata/compiled-statements.js';
import type { Op } from './op.js';

/** What `appendMany` did with one operation. */
export type Appended = 'logged' | 'duplicate' | 'conflict';

export interface AppendOptions {
  /**
   * The ops are the next of their origin (from contiguous + 1 on, none logged above them):
   * true for this site's own operations, stamped under the op clock's lock. The prefix then
   * moves in one statement; when the row says otherwise, the general path still runs.
   */
  readonly next?: boolean;
}

/** Rows per multi-row INSERT (5 parameters each): the largest that fits first, then smaller. */
const INSERT_CHUNKS = [256, 128, 64, 32, 16, 8, 4, 2, 1];
/** Seqs read at a time when the prefix moves over ops logged earlier past a gap. */
const SCAN = 64;

/**
 * How operations enter the op log (OpLogRepository's writing half): a batch at a time, with
 * statements compiled once (issue 16). Runs inside the caller's transaction (ChangeLog's), so a
 * batch is in the log exactly when its effects are committed.
 */
export class OpAppendRepository {
  private readonly statements = new CompiledStatements();

  constructor(private readonly store: MetadataStore) {}

  /**
   * Appends operations in one pass and keeps each origin's contiguous prefix up to date (what
   * pulls ask from). Returns, for each op in order: 'logged' (new, now in the log), 'duplicate'
   * (the same op was already logged, or came earlier in `ops`) or 'conflict' (another op with
   * its (origin, seq) is logged, or came earlier: that one stays). The same result as
   * appending them one by one (issue 16): new rows go in by multi-row INSERTs in (origin, seq)
   * order, and each origin's prefix row is read and locked once and moved in memory.
   */
  async appendMany(
    trx: Executor,
    ops: readonly Op[],
    options: AppendOptions = {},
  ): Promise<Appended[]> {
    const outcomes = new Array<Appended>(ops.length).fill('duplicate');
    // The first op of each (origin, seq) in the batch, grouped by origin; later copies are
    // judged at the end against what the first left in the log.
    const byOrigin = new Map<string, Map<number, number>>();
    const copies: [copy: number, first: number][] = [];
    for (const [i, op] of ops.entries()) {
      let seqs = byOrigin.get(op.origin);
      if (seqs === undefined) byOrigin.set(op.origin, (seqs = new Map<number, number>()));
      const first = seqs.get(op.seq);
      if (first === undefined) seqs.set(op.seq, i);
      else copies.push([i, first]);
    }
    // One global order (origin, then seq) for the rows, so that two processes of a site
    // inserting overlapping batches on PostgreSQL wait for each other instead of deadlocking.
    const origins = [...byOrigin.keys()].sort();
    const rows: number[] = [];
    for (const origin of origins) {
      const seqs = byOrigin.get(origin);
      if (seqs === undefined) continue;
      for (const seq of [...seqs.keys()].sort((a, b) => a - b)) rows.push(seqs.get(seq) ?? -1);
    }
    const logged = await this.insertRows(trx, ops, rows);
    // What the log holds at the (origin, seq) of a first op that was not logged now.
    const logHlcs = new Map<number, string>();
    for (const origin of origins) {
      const seqs = byOrigin.get(origin);
      if (seqs === undefined) continue;
      const mine = logged.get(origin);
      const held: number[] = [];
      for (const [seq, i] of seqs) {
        if (mine?.has(seq) === true) outcomes[i] = 'logged';
        else held.push(i);
      }
      if (held.length > 0) {
        const hlcs = await this.heldHlcs(trx, ops, held);
        for (const i of held) {
          const hlc = hlcs.get(ops[i]?.seq ?? -1);
          if (hlc === undefined) continue;
          logHlcs.set(i, hlc);
          if (hlc !== ops[i]?.hlc) outcomes[i] = 'conflict';
        }
      }
      if (mine !== undefined && mine.size > 0) {
        await this.advance(trx, origin, mine, options.next === true && mine.size === seqs.size);
      }
    }
    // A later copy in the batch meets what its first left logged (itself, or the older op).
    for (const [copy, first] of copies) {
      const held = outcomes[first] === 'logged' ? ops[first]?.hlc : logHlcs.get(first);
      if (held !== undefined && held !== ops[copy]?.hlc) outcomes[copy] = 'conflict';
    }
    return outcomes;
  }

  /** Multi-row INSERTs of `ops[i]` for each `i` of `rows`; returns the (origin, seq) inserted. */
  private async insertRows(
    trx: Executor,
    ops: readonly Op[],
    rows: readonly number[],
  ): Promise<Map<string, Set<number>>> {
    const inserted = new Map<string, Set<number>>();
    let at = 0;
    while (at < rows.length) {
      // Chunks of a few fixed sizes, so that a handful of statement texts serve every batch.
      const size = INSERT_CHUNKS.find((n) => n <= rows.length - at) ?? 1;
      const chunk: Op[] = [];
      const params: unknown[] = [];
      for (let k = at; k < at + size; k++) {
        const op = ops[rows[k] ?? -1];
        if (op === undefined) throw new Error('appendMany: row out of range');
        chunk.push(op);
        params.push(op.origin, op.seq, op.hlc, op.body.kind, JSON.stringify(op.body));
      }
      at += size;
      const result = await this.statements.run(
        trx,
        `ops.insert.${size}`,
        () =>
          trx
            .insertInto('ops')
            .values(
              chunk.map((op, k) => ({
                origin: op.origin,
                seq: op.seq,
                hlc: op.hlc,
                kind: op.body.kind,
                body: params[k * 5 + 4] as string,
              })),
            )
            .onConflict((oc) => oc.columns(['origin', 'seq']).doNothing())
            .returning(['origin', 'seq']),
        params,
      );
      for (const row of result.rows) {
        let seqs = inserted.get(row.origin);
        if (seqs === undefined) inserted.set(row.origin, (seqs = new Set()));
        seqs.add(row.seq);
      }
    }
    return inserted;
  }

  /** The timestamps logged at the seqs of `held` (ops of one origin not inserted), by seq. */
  private async heldHlcs(
    trx: Executor,
    ops: readonly Op[],
    held: readonly number[],
  ): Promise<Map<number, string>> {
    const hlcs = new Map<number, string>();
    const first = ops[held[0] ?? -1];
    if (first === undefined) return hlcs;
    let low = first.seq;
    let high = first.seq;
    for (const i of held) {
      const seq = ops[i]?.seq ?? low;
      low = Math.min(low, seq);
      high = Math.max(high, seq);
    }
    if (high - low < 2 * held.length + 64) {
      // A re-delivered run (the usual case): one range read.
      const result = await this.statements.run<{ seq: number; hlc: string }>(
        trx,
        'ops.hlcRange',
        () =>
          trx
            .selectFrom('ops')
            .select(['seq', 'hlc'])
            .where('origin', '=', first.origin)
            .where('seq', '>=', low)
            .where('seq', '<=', high),
        [first.origin, low, high],
      );
      for (const row of result.rows) hlcs.set(row.seq, row.hlc);
    } else {
      for (const i of held) {
        const op = ops[i];
        const hlc = op === undefined ? null : await this.hlcOf(trx, op.origin, op.seq);
        if (op !== undefined && hlc !== null) hlcs.set(op.seq, hlc);
      }
    }
    return hlcs;
  }

  /**
   * Moves `origin`'s contiguous prefix past the seqs just inserted (`inserted`) and any logged
   * earlier past a gap. `next`: they are the next ones of the origin and none is logged above
   * (this site's own, stamped under the op clock's lock): one statement when the row agrees.
   */
  private async advance(
    trx: Executor,
    origin: string,
    inserted: ReadonlySet<number>,
    next: boolean,
  ): Promise<void> {
    let low = Infinity;
    let high = -Infinity;
    for (const seq of inserted) {
      low = Math.min(low, seq);
      high = Math.max(high, seq);
    }
    if (next && high - low + 1 === inserted.size) {
      const moved = await this.statements.run(
        trx,
        'origins.next',
        () =>
          trx
            .updateTable('origins')
            .set({ contiguous: high })
            .where('origin', '=', origin)
            .where('contiguous', '=', low - 1),
        [high, origin, low - 1],
      );
      if (Number(moved.numAffectedRows ?? 0) === 1) return;
    }
    // Every origin gets a row (even past a gap) so that pulls list it. The row is locked
    // (PostgreSQL) before it is read, so two processes taking ops of one origin in turn.
    await this.statements.run(
      trx,
      'origins.ensure',
      () =>
        trx
          .insertInto('origins')
          .values({ origin, contiguous: 0 })
          .onConflict((oc) => oc.column('origin').doNothing()),
      [origin, 0],
    );
    const locks = this.store.dialect.supportsRowLocks;
    const held = await this.statements.run<{ contiguous: number }>(
      trx,
      'origins.lock',
      () =>
        trx
          .selectFrom('origins')
          .select('contiguous')
          .where('origin', '=', origin)
          .$if(locks, (qb) => qb.forUpdate()),
      [origin],
    );
    const start = held.rows[0]?.contiguous ?? 0;
    if (!inserted.has(start + 1)) return;
    let contiguous = start + 1;
    while (inserted.has(contiguous + 1)) contiguous++;
    // Ops logged before, past a gap that this batch fills.
    for (;;) {
      const after = contiguous;
      const following = await this.statements.run<{ seq: number }>(
        trx,
        'ops.after',
        () =>
          trx
            .selectFrom('ops')
            .select('seq')
            .where('origin', '=', origin)
            .where('seq', '>', after)
            .orderBy('seq')
            .limit(SCAN),
        [origin, after, SCAN],
      );
      let k = 0;
      while (k < following.rows.length && following.rows[k]?.seq === contiguous + 1) {
        contiguous++;
        k++;
      }
      if (k < SCAN) break;
    }
    await this.statements.run(
      trx,
      'origins.set',
      () => trx.updateTable('origins').set({ contiguous }).where('origin', '=', origin),
      [contiguous, origin],
    );
  }

  /** The timestamp of the logged operation (origin, seq), or null when there is none. */
  async hlcOf(trx: Executor, origin: string, seq: number): Promise<string | null> {
    const result = await this.statements.run<{ hlc: string }>(
      trx,
      'ops.hlcOf',
      () => trx.selectFrom('ops').select('hlc').where('origin', '=', origin).where('seq', '=', seq),
      [origin, seq],
    );
    return result.rows[0]?.hlc ?? null;
  }
}
