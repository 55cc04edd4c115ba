import type { Executor } from './dialect.js';
import { decodeHlc, encodeHlc, receive, tick, type Hlc } from '../../core/hlc.js';
import type { MetadataDialect } from './dialect.js';

export interface Stamp {
  readonly seq: number;
  readonly hlc: string;
}

/**
 * Sequence numbers and HLCs of a site's own operations, allocated from one `op_clock` row per
 * origin inside the transaction that commits the operations. The row stays locked until that
 * transaction ends (PostgreSQL: `FOR UPDATE`; SQLite: the write lock of `BEGIN IMMEDIATE`), so
 * whichever process commits, and however many at once: seqs are unique and contiguous, HLCs
 * strictly increase with seq, and seq order is commit order (a reader never sees n + 1 before
 * n). A rolled-back transaction gives its numbers back with the row.
 */
export class OpClockRepository {
  constructor(
    private readonly dialect: MetadataDialect,
    private readonly now: () => number = Date.now,
  ) {}

  /** The next `count` stamps of `origin`. Call inside the committing transaction. */
  async allocate(trx: Executor, origin: string, count: number): Promise<Stamp[]> {
    const row = await this.lock(trx, origin);
    let last = lastOf(row.last_hlc, origin);
    const stamps: Stamp[] = [];
    for (let i = 1; i <= count; i++) {
      last = tick(last, this.now());
      stamps.push({ seq: row.last_seq + i, hlc: encodeHlc(last) });
    }
    if (count > 0) await this.save(trx, origin, row.last_seq + count, encodeHlc(last));
    return stamps;
  }

  /**
   * The last seq `origin`'s clock gave (or was moved past), read without a lock; null before its
   * first use. A peer that holds more of this node's own operations than that knows a past this
   * node lost (`advancePast`).
   */
  async lastSeq(db: Executor, origin: string): Promise<number | null> {
    const row = await db
      .selectFrom('op_clock')
      .select('last_seq')
      .where('origin', '=', origin)
      .executeTakeFirst();
    return row?.last_seq ?? null;
  }

  /**
   * Moves `origin`'s numbering past `seq` (never back): its next operation takes a number no
   * peer holds already. Returns the last seq before, when it moved; null when it was past it.
   */
  async advancePast(trx: Executor, origin: string, seq: number): Promise<number | null> {
    const row = await this.lock(trx, origin);
    if (row.last_seq >= seq) return null;
    await this.save(trx, origin, seq, encodeHlc(lastOf(row.last_hlc, origin)));
    return row.last_seq;
  }

  /** Moves `origin`'s clock past a timestamp received from a peer (HLC receive rule). */
  async observe(trx: Executor, origin: string, remote: string): Promise<void> {
    const row = await this.lock(trx, origin);
    const next = receive(lastOf(row.last_hlc, origin), decodeHlc(remote), this.now());
    await this.save(trx, origin, row.last_seq, encodeHlc(next));
  }

  private async lock(
    trx: Executor,
    origin: string,
  ): Promise<{ last_seq: number; last_hlc: string | null }> {
    const select = () =>
      trx
        .selectFrom('op_clock')
        .select(['last_seq', 'last_hlc'])
        .where('origin', '=', origin)
        .$if(this.dialect.supportsRowLocks, (qb) => qb.forUpdate())
        .executeTakeFirst();
    const row = await select();
    if (row) return row;
    // First use (or a log written before this table): start from the origin's contiguous
    // prefix in the op log (origins.contiguous), never MAX(seq): an operation claiming this
    // origin that did not come from here (a forged one, logged before such ops were refused)
    // must not move the numbering. Two processes may race here; ON CONFLICT lets one insert
    // and the other then locks that row.
    const prefix = await trx
      .selectFrom('origins')
      .select('contiguous')
      .where('origin', '=', origin)
      .executeTakeFirst();
    const newest = await trx
      .selectFrom('ops')
      .select((e) => e.fn.max('hlc').as('hlc'))
      .executeTakeFirst();
    await trx
      .insertInto('op_clock')
      .values({ origin, last_seq: prefix?.contiguous ?? 0, last_hlc: newest?.hlc ?? null })
      .onConflict((oc) => oc.column('origin').doNothing())
      .execute();
    const created = await select();
    if (!created) throw new Error(`op_clock row for ${origin} missing after insert`);
    return created;
  }

  private async save(
    trx: Executor,
    origin: string,
    lastSeq: number,
    lastHlc: string,
  ): Promise<void> {
    await trx
      .updateTable('op_clock')
      .set({ last_seq: lastSeq, last_hlc: lastHlc })
      .where('origin', '=', origin)
      .execute();
  }
}

function lastOf(hlc: string | null, node: string): Hlc {
  return hlc === null ? { wall: 0, counter: 0, node } : { ...decodeHlc(hlc), node };
}
