import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeHlc, encodeHlc, MAX_DRIFT_MS } from '../core/hlc.js';
import { openDatabase } from '../db/database.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { sqliteStoreOver } from '../storage/metadata/sqlite.js';
import { OpsRefusedError, type ChangeLog } from './change-log.js';
import type { Op } from './op.js';
import type { OpLogRepository } from './oplog.repository.js';
import { openReplicaState } from './replica-state.js';

const SELF = 'aaaaaaaaaaaaaaaa';
const PEER = 'bbbbbbbbbbbbbbbb';
const T0 = 1_800_000_000_000;

let store: MetadataStore;
let oplog: OpLogRepository;
let now: number;
let changes: ChangeLog;

function build(): void {
  store = sqliteStoreOver(openDatabase(':memory:'));
  ({ oplog, changes } = openReplicaState(store, SELF, { now: () => now }));
}

beforeEach(() => {
  now = T0;
  build();
});
afterEach(async () => {
  await store.close();
});

let ids = 0;
function op(origin: string, seq: number, wall: number, node = origin): Op {
  const id = (++ids).toString(16).padStart(64, '0');
  return {
    origin,
    seq,
    hlc: encodeHlc({ wall, counter: 0, node }),
    body: { kind: 'picture.update', id, title: `${origin}#${seq}` },
  };
}

const update = { kind: 'picture.update', id: 'f'.repeat(64), title: 'local' } as const;

describe('ChangeLog.receive', () => {
  it('refuses operations that claim this node as origin; the rest of the batch is applied', async () => {
    const result = await changes.receive([op(PEER, 1, T0), op(SELF, 1000, T0), op(PEER, 2, T0)]);
    expect(result.applied.map((o) => o.seq)).toEqual([1, 2]);
    expect(result.rejected).toEqual([expect.objectContaining({ seq: 1000, code: 'own_origin' })]);
    expect((await changes.commit(update)).seq).toBe(1);
    expect(await oplog.contiguous(SELF)).toBe(1);
  });

  it('takes back its own lost past once a peer shows it, and numbers its next operations after it', async () => {
    // Restored from a copy older than what it had sent: a peer holds its ops 1-4, the log none.
    const past = [1, 2, 3, 4].map((seq) => op(SELF, seq, T0 + seq));
    expect((await changes.receive(past)).rejected.map((r) => r.code)).toEqual(
      Array(4).fill('own_origin'),
    );
    expect(await changes.ownPastAt(4)).toBe(0);
    expect(await changes.ownPastAt(4)).toBeNull(); // said once
    // Pushed by a node, an op of ours is never taken; pulled, the past is.
    const pushed = await changes.receive([past[0] as Op], { sender: PEER });
    expect(pushed.rejected).toEqual([expect.objectContaining({ code: 'own_origin' })]);
    const pulled = await changes.receive(past);
    expect(pulled.applied.map((o) => o.seq)).toEqual([1, 2, 3, 4]);
    expect(await oplog.contiguous(SELF)).toBe(4);
    // The next local op takes a number no peer holds; one beyond the clock is still refused.
    expect((await changes.commit(update)).seq).toBe(5);
    const beyond = await changes.receive([op(SELF, 9, T0)]);
    expect(beyond.rejected).toEqual([expect.objectContaining({ seq: 9, code: 'own_origin' })]);
  });

  it('holds its own changes until released, so a past learnt meanwhile numbers them after it', async () => {
    let release: () => void = () => undefined;
    changes.holdOwnUntil(
      new Promise<void>((resolve) => {
        release = resolve;
      }),
    );
    const local = changes.commit(update);
    let done = false;
    void local.then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(done).toBe(false);
    // A peer says it holds this node's 1-3 (its data was restored) while the change waits.
    expect(await changes.ownPastAt(3)).toBe(0);
    release();
    expect((await local).seq).toBe(4);
    // Released for good: the next ones go at once; a rejected hold releases too.
    expect((await changes.commit(update)).seq).toBe(5);
    changes.holdOwnUntil(Promise.reject(new Error('peers unknown')));
    expect((await changes.commit(update)).seq).toBe(6);
  });

  it('numbers local operations from the contiguous counter, past a forged op already logged', async () => {
    // A log from before the fix: a forged op of this origin at seq 1000.
    await oplog.append(store.db, op(SELF, 1000, T0));
    const seqs: number[] = [];
    for (let i = 0; i < 3; i++) seqs.push((await changes.commit(update)).seq);
    expect(seqs).toEqual([1, 2, 3]);
    expect(await oplog.contiguous(SELF)).toBe(3);
  });

  it('refuses ops pushed for another origin, and timestamps not from the origin clock', async () => {
    const result = await changes.receive(
      [op('cccccccccccccccc', 1, T0), op(PEER, 1, T0, 'c'.repeat(16))],
      {
        sender: PEER,
      },
    );
    expect(result.applied).toEqual([]);
    expect(result.rejected.map((r) => r.code)).toEqual(['not_sender', 'foreign_hlc']);
  });

  it('reports a second, different op with a logged (origin, seq); a true duplicate is silent', async () => {
    const first = op(PEER, 1, T0);
    await changes.receive([first]);
    expect(await changes.receive([first])).toEqual({ applied: [], rejected: [] });
    const other = await changes.receive([op(PEER, 1, T0 + 5)]);
    expect(other.rejected).toEqual([expect.objectContaining({ seq: 1, code: 'conflict' })]);
    expect(await oplog.hlcOf(store.db, PEER, 1)).toBe(first.hlc);
  });

  it('refuses a far-future op on its own, and takes it when offered after the clock caught up', async () => {
    const ahead = op(PEER, 2, T0 + 10 * 60_000);
    const first = await changes.receive([op(PEER, 1, T0), ahead, op(PEER, 3, T0)]);
    expect(first.applied.map((o) => o.seq)).toEqual([1, 3]);
    expect(first.rejected).toEqual([expect.objectContaining({ seq: 2, code: 'clock_ahead' })]);
    expect(await oplog.contiguous(PEER)).toBe(1); // still asked for by every pull
    expect(decodeHlc((await changes.commit(update)).hlc).wall).toBe(T0);

    now = T0 + 10 * 60_000 - MAX_DRIFT_MS;
    expect((await changes.receive([ahead])).applied).toEqual([ahead]);
    expect(await oplog.contiguous(PEER)).toBe(3);
  });

  it('never lets remote timestamps move the clock more than the bound ahead', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: -3_600_000, max: 3_600_000 }), { minLength: 1, maxLength: 20 }),
        async (skews) => {
          await store.close();
          now = T0;
          build();
          for (const [i, skew] of skews.entries()) {
            const offered = op(PEER, i + 1, T0 + skew);
            const { applied, rejected } = await changes.receive([offered]);
            expect(applied.length + rejected.length).toBe(1);
            expect(rejected.length === 1).toBe(skew > MAX_DRIFT_MS);
          }
          const local = decodeHlc((await changes.commit(update)).hlc);
          expect(local.wall).toBeLessThanOrEqual(T0 + MAX_DRIFT_MS);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('ChangeLog.receiveAll', () => {
  it('applies nothing and tells no listener when any op is refused', async () => {
    const heard: Op[] = [];
    changes.onOps((ops) => heard.push(...ops));
    await expect(
      changes.receiveAll([op(PEER, 1, T0), op(PEER, 2, T0 + 3_600_000)]),
    ).rejects.toThrow(OpsRefusedError);
    expect(await oplog.count()).toBe(0);
    expect(heard).toEqual([]);
    expect(await changes.receiveAll([op(PEER, 1, T0)])).toHaveLength(1);
    expect(heard).toHaveLength(1);
  });
});
