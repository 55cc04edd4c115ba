/**
 * Received operations are logged a batch at a time (OpLogRepository.appendMany, issue 16):
 * whatever the batches hold (duplicates, gaps, several origins, ops older than what is logged,
 * conflicting copies, refusals), the outcome is the one of taking the same ops one at a time.
 * On both engines.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { compareHlc, encodeHlc } from '../core/hlc.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import type { ChangeLog, ReceiveResult } from './change-log.js';
import type { Op } from './op.js';
import type { OpLogRepository } from './oplog.repository.js';
import { openReplicaState } from './replica-state.js';

const SELF = 'aaaaaaaaaaaaaaaa';
const T0 = 1_800_000_000_000;

interface Node {
  readonly store: MetadataStore;
  readonly changes: ChangeLog;
  readonly oplog: OpLogRepository;
}

function node(store: MetadataStore): Node {
  const { changes, oplog } = openReplicaState(store, SELF, { now: () => T0 });
  return { store, changes, oplog };
}

/** Op `seq` of `origin`; `variant` 1 is another op with the same (origin, seq). */
function op(origin: string, seq: number, variant = 0): Op {
  return {
    origin,
    seq,
    hlc: encodeHlc({ wall: T0 - 1_000 + seq * 10 + variant, counter: 0, node: origin }),
    body: {
      kind: 'picture.update',
      id: `${origin}${seq.toString(16).padStart(48, '0')}`,
      title: `v${variant}`,
    },
  };
}

/** The log's rows of `origins`, in order. */
async function logOf(n: Node, origins: readonly string[]): Promise<string[]> {
  const rows: string[] = [];
  for (const origin of origins) {
    for (const o of await n.oplog.range(origin, 0, 10_000))
      rows.push(`${o.origin}#${o.seq} ${o.hlc}`);
  }
  return rows;
}

function summary(results: readonly ReceiveResult[]): { applied: string[]; rejected: string[] } {
  return {
    applied: results.flatMap((r) => r.applied.map((o) => `${o.origin}#${o.seq} ${o.hlc}`)),
    rejected: results.flatMap((r) => r.rejected.map((x) => `${x.origin}#${x.seq} ${x.code}`)),
  };
}

/** The highest seq such that every seq up to it is logged. */
function prefix(logged: readonly number[]): number {
  const seqs = new Set(logged);
  let c = 0;
  while (seqs.has(c + 1)) c++;
  return c;
}

describeEachDialect('ChangeLog.receive in batches', (ctx) => {
  it('gives what taking the ops one by one gives, whatever the batches hold', async () => {
    const batched = node(await ctx.open());
    const single = node(await ctx.open());
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            origin: fc.constantFrom('b', 'c', 'd', 'self'),
            seq: fc.integer({ min: 1, max: 8 }),
            variant: fc.constantFrom(0, 0, 0, 1),
            cut: fc.boolean(),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        async (picks) => {
          // Fresh origins for every run: the two stores are kept across runs.
          run++;
          const name = (o: string): string =>
            o === 'self' ? SELF : `${o}${run.toString(16).padStart(15, '0')}`;
          const origins = ['b', 'c', 'd'].map(name);
          const batches: Op[][] = [[]];
          for (const p of picks) {
            batches[batches.length - 1]?.push(op(name(p.origin), p.seq, p.variant));
            if (p.cut) batches.push([]);
          }
          const inBatches: ReceiveResult[] = [];
          for (const batch of batches) inBatches.push(await batched.changes.receive(batch));
          const oneByOne: ReceiveResult[] = [];
          for (const o of batches.flat()) oneByOne.push(await single.changes.receive([o]));

          expect(summary(inBatches)).toEqual(summary(oneByOne));
          const log = await logOf(batched, origins);
          expect(log).toEqual(await logOf(single, origins));
          const vv = await batched.oplog.versionVector();
          expect(vv).toEqual(await single.oplog.versionVector());
          for (const origin of origins) {
            const seqs = (await batched.oplog.range(origin, 0, 100)).map((o) => o.seq);
            expect(vv[origin] ?? 0).toBe(prefix(seqs));
          }
          // The clock moved past everything taken in (HLC receive rule), once per batch.
          const newest = summary(inBatches).applied.map((a) => a.split(' ')[1] ?? '');
          const local = await batched.changes.commit({
            kind: 'picture.update',
            id: 'f'.repeat(64),
            title: 'local',
          });
          for (const hlc of newest) expect(compareHlc(local.hlc, hlc)).toBe(1);
          await single.changes.commit({ kind: 'picture.update', id: 'f'.repeat(64), title: 'x' });
        },
      ),
      { numRuns: ctx.dialect === 'sqlite' ? 60 : 20 },
    );
  }, 120_000);

  it('moves the prefix over more than a scan of ops logged earlier past a gap', async () => {
    const n = node(await ctx.open());
    const peer = 'bbbbbbbbbbbbbbbb';
    const late = Array.from({ length: 199 }, (_, i) => op(peer, i + 2));
    expect((await n.changes.receive(late)).applied).toHaveLength(199);
    expect(await n.oplog.contiguous(peer)).toBe(0);
    expect((await n.changes.receive([op(peer, 1)])).applied).toHaveLength(1);
    expect(await n.oplog.contiguous(peer)).toBe(200);
  });

  it('reports conflicts among re-delivered ops scattered far apart, and stays silent on copies', async () => {
    const n = node(await ctx.open());
    const peer = 'bbbbbbbbbbbbbbbb';
    await n.changes.receive([op(peer, 1), op(peer, 5_000)]);
    const again = await n.changes.receive([op(peer, 5_000, 1), op(peer, 1), op(peer, 2)]);
    expect(again.applied.map((o) => o.seq)).toEqual([2]);
    expect(again.rejected).toEqual([expect.objectContaining({ seq: 5_000, code: 'conflict' })]);
    expect(await n.oplog.hlcOf(n.store.db, peer, 5_000)).toBe(op(peer, 5_000).hlc);
    expect(await n.oplog.contiguous(peer)).toBe(2);
  });

  it('logs nothing of a batch whose transaction fails after it was logged', async () => {
    const n = node(await ctx.open());
    const peer = 'bbbbbbbbbbbbbbbb';
    await n.changes.receive([op(peer, 1)]);
    const batch = Array.from({ length: 300 }, (_, i) => op(peer, i + 2));
    await expect(
      n.changes.receiveAll(batch, () => {
        throw new Error('crash after logging');
      }),
    ).rejects.toThrow('crash after logging');
    expect(await n.oplog.count()).toBe(1);
    expect(await n.oplog.versionVector()).toEqual({ [peer]: 1 });
    expect((await n.changes.receive(batch)).applied).toHaveLength(300);
    expect(await n.oplog.contiguous(peer)).toBe(301);
  });

  it("numbers this node's own ops in one batch after ops it received", async () => {
    const n = node(await ctx.open());
    await n.changes.receive([op('bbbbbbbbbbbbbbbb', 1)]);
    const own = await n.changes.commitMany(
      Array.from({ length: 300 }, (_, i) => ({
        kind: 'picture.update' as const,
        id: 'e'.repeat(64),
        title: `t${i}`,
      })),
    );
    expect(own.map((o) => o.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(await n.oplog.versionVector()).toEqual({ bbbbbbbbbbbbbbbb: 1, [SELF]: 300 });
  });

  // One op at a time (before issue 16), PostgreSQL failed this with `deadlock detected`: a
  // process held an inserted op and waited for the origin's row, which another held while it
  // waited to insert that op. The batch inserts in one global order before locking origins.
  it('takes overlapping batches through three processes of a site at once, each op once', async () => {
    const writers = (await ctx.openWriters(3)).map(node);
    const [b, c] = ['bbbbbbbbbbbbbbbb', 'cccccccccccccccc'];
    const all = [b, c].flatMap((origin) =>
      Array.from({ length: 200 }, (_, i) => op(origin, i + 1)),
    );
    const chunks = (ops: Op[], size: number): Op[][] =>
      Array.from({ length: Math.ceil(ops.length / size) }, (_, i) =>
        ops.slice(i * size, (i + 1) * size),
      );
    const plans = [
      chunks(all, 50),
      chunks([...all].reverse(), 40),
      chunks(
        all.filter((_, i) => i % 2 === 0),
        30,
      ).concat(
        chunks(
          all.filter((_, i) => i % 2 === 1),
          70,
        ),
      ),
    ];
    const results = await Promise.all(
      writers.map(async (w, k) => {
        const taken: ReceiveResult[] = [];
        for (const batch of plans[k] ?? []) taken.push(await w.changes.receive(batch));
        return taken;
      }),
    );
    const { applied, rejected } = summary(results.flat());
    expect(rejected).toEqual([]);
    expect([...applied].sort()).toEqual(all.map((o) => `${o.origin}#${o.seq} ${o.hlc}`).sort());
    expect(await writers[0]?.oplog.versionVector()).toEqual({ [b]: 200, [c]: 200 });
  });
});
