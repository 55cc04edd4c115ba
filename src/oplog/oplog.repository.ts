import { sql } from 'kysely';
import type { Executor, MetadataStore } from '../storage/metadata/dialect.js';
import type { Op, OpBody } from './op.js';
import { OpAppendRepository, type AppendOptions, type Appended } from './op-append.repository.js';

export type { AppendOptions, Appended } from './op-append.repository.js';

interface OpRow {
  origin: string;
  seq: number;
  hlc: string;
  body: string;
}

export interface OpPosition {
  readonly origin: string;
  readonly seq: number;
}

/**
 * The durable log of operations. It is also the replication outbox: what a peer still needs is
 * whatever lies past its acknowledged position, so nothing is lost across restarts. Methods
 * that take `trx` run inside the caller's transaction (ChangeLog's).
 */
export class OpLogRepository {
  private readonly appender: OpAppendRepository;

  constructor(private readonly store: MetadataStore) {
    this.appender = new OpAppendRepository(store);
  }

  /**
   * Appends an operation; false when it was already there (duplicates are expected). See
   * `appendMany`, which this is for one operation.
   */
  async append(trx: Executor, op: Op, options: AppendOptions = {}): Promise<boolean> {
    const [outcome] = await this.appendMany(trx, [op], options);
    return outcome === 'logged';
  }

  /** See OpAppendRepository.appendMany (op-append.repository.ts). */
  appendMany(trx: Executor, ops: readonly Op[], options: AppendOptions = {}): Promise<Appended[]> {
    return this.appender.appendMany(trx, ops, options);
  }

  /** The timestamp of the logged operation (origin, seq), or null when there is none. */
  hlcOf(trx: Executor, origin: string, seq: number): Promise<string | null> {
    return this.appender.hlcOf(trx, origin, seq);
  }

  /** The highest sequence of `origin` in the log, gaps and all. */
  async lastSeq(origin: string): Promise<number> {
    const row = await this.store.db
      .selectFrom('ops')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .where('origin', '=', origin)
      .executeTakeFirst();
    return row?.seq ?? 0;
  }

  async lastHlc(): Promise<string | null> {
    const row = await this.store.db
      .selectFrom('ops')
      .select((eb) => eb.fn.max('hlc').as('hlc'))
      .executeTakeFirst();
    return row?.hlc ?? null;
  }

  async count(): Promise<number> {
    const row = await this.store.db
      .selectFrom('ops')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return row.n;
  }

  async contiguous(origin: string, trx: Executor = this.store.db): Promise<number> {
    const row = await trx
      .selectFrom('origins')
      .select('contiguous')
      .where('origin', '=', origin)
      .executeTakeFirst();
    return row?.contiguous ?? 0;
  }

  /** This node's version vector: for each origin, every op up to this seq is here. */
  async versionVector(): Promise<Record<string, number>> {
    const rows = await this.store.db
      .selectFrom('origins')
      .select(['origin', 'contiguous'])
      .orderBy('origin')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.origin, r.contiguous]));
  }

  /** Operations of one origin after `seq`, in order. */
  async range(origin: string, afterSeq: number, limit: number): Promise<Op[]> {
    const rows = await this.store.db
      .selectFrom('ops')
      .select(['origin', 'seq', 'hlc', 'body'])
      .where('origin', '=', origin)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map(rowToOp);
  }

  /**
   * `file.put` operations of `folder` by `origin` with `afterSeq < seq <= upTo`, in order (a
   * device's feed, src/devices/device-feed.ts).
   */
  async folderRange(
    origin: string,
    afterSeq: number,
    upTo: number,
    folder: string,
    limit: number,
  ): Promise<Op[]> {
    const rows = await this.store.db
      .selectFrom('ops')
      .select(['origin', 'seq', 'hlc', 'body'])
      .where('origin', '=', origin)
      .where('seq', '>', afterSeq)
      .where('seq', '<=', upTo)
      .where('kind', '=', 'file.put')
      .where(this.store.dialect.jsonText('body', 'folder'), '=', folder)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map(rowToOp);
  }

  /**
   * What a peer with version vector `theirs` lacks, ordered by (origin, seq), resuming after
   * `after`. Ops past a gap in our own log are included: the receiver's log skips duplicates.
   */
  async missingFor(
    theirs: Readonly<Record<string, number>>,
    after: OpPosition | null,
    limit: number,
  ): Promise<{ ops: Op[]; next: OpPosition | null }> {
    const ops: Op[] = [];
    const origins = Object.keys(await this.versionVector()).filter(
      (o) => after === null || o >= after.origin,
    );
    for (const origin of origins) {
      let from = theirs[origin] ?? 0;
      if (after !== null && origin === after.origin) from = Math.max(from, after.seq);
      const batch = await this.range(origin, from, limit - ops.length);
      ops.push(...batch);
      if (ops.length >= limit) {
        const last = ops[ops.length - 1];
        return { ops, next: last ? { origin: last.origin, seq: last.seq } : null };
      }
    }
    return { ops, next: null };
  }

  /** Bytes of the pictures created by ops of `origin` after `seq` (for replication lag). */
  async createdBytesAfter(origin: string, seq: number): Promise<number> {
    const row = await this.store.db
      .selectFrom('ops')
      .select(
        sql<number>`COALESCE(SUM(${this.store.dialect.jsonNumber('body', 'size')}), 0)`.as('bytes'),
      )
      .where('origin', '=', origin)
      .where('seq', '>', seq)
      .where('kind', '=', 'picture.create')
      .executeTakeFirstOrThrow();
    return row.bytes;
  }
}

export function rowToOp(row: OpRow): Op {
  return { origin: row.origin, seq: row.seq, hlc: row.hlc, body: JSON.parse(row.body) as OpBody };
}
