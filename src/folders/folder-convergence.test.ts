/**
 * Folder convergence through the real op log: several nodes, each with its own SQLite database,
 * ChangeLog and folder index, make edits and exchange OPERATIONS (not states) in any order, with
 * duplicates. Once every node holds every operation, every node must hold the same versions at
 * the same paths: conflict copies included, whichever node saw which versions meet.
 */
import { libraryRepositories } from '../oplog/replica-state.js';
import { localOf, storeFor } from './testing.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SqlAccountRepository } from '../accounts/account.repository.js';
import { SqlCredentialRepository } from '../accounts/credential.repository.js';
import { OpClockRepository } from '../storage/metadata/op-clock.repository.js';
import { openDatabase, type Db } from '../db/database.js';
import { ChangeLog } from '../oplog/change-log.js';
import type { Op } from '../oplog/op.js';
import { OpLogRepository } from '../oplog/oplog.repository.js';
import { SqlPictureRepository } from '../pictures/picture.repository.js';
import { DeviceRepository } from '../devices/device.repository.js';
import { bumpVv, compareVv, isConflictName } from './core/index.js';
import { FolderIndexRepository } from './folder-index.repository.js';

const T0 = Date.UTC(2026, 10, 30, 9, 5, 29);
const IDS = ['aaaaaaaaaaaaaaa1', 'aaaaaaaaaaaaaaa2', 'aaaaaaaaaaaaaaa3'];
const PATHS = ['s0.txt', 'd/s1.txt'];
const HASHES = ['1', '2', '3', '4'].map((c) => c.repeat(64));

interface SimNode {
  readonly id: string;
  readonly db: Db;
  readonly index: FolderIndexRepository;
  readonly changes: ChangeLog;
  readonly log: OpLogRepository;
}

function makeNode(id: string, now: () => number): SimNode {
  const db = openDatabase(':memory:');
  const index = new FolderIndexRepository(localOf(db));
  const log = new OpLogRepository(storeFor(db));
  const store = storeFor(db);
  const changes = new ChangeLog(
    store,
    log,
    new OpClockRepository(store.dialect, now),
    id,
    {
      pictures: new SqlPictureRepository(store),
      accounts: new SqlAccountRepository(store),
      credentials: new SqlCredentialRepository(store),
      hasBlob: () => false,
      devices: new DeviceRepository(store),
      ...libraryRepositories(store),
      folders: index,
      selfId: id,
    },
    now,
  );
  return { id, db, index, changes, log };
}

/** Every operation in a node's log, in log order. */
async function opsOf(node: SimNode): Promise<Op[]> {
  const all: Op[] = [];
  for (const o of Object.keys(await node.log.versionVector())) {
    all.push(...(await node.log.range(o, 0, 1_000_000)));
  }
  return all;
}

/** What must be equal everywhere: per path the version (not the disk state). */
function versions(node: SimNode) {
  return [...node.index.iterate('f')].map((r) => ({
    path: r.path,
    kind: r.kind,
    deleted: r.deleted,
    hash: r.hash,
    vv: r.vv,
    hlc: r.hlc,
    origin: r.origin,
  }));
}

type Step =
  | { t: 'write'; node: number; path: number; hash: number }
  | { t: 'delete'; node: number; path: number }
  | { t: 'mkdir'; node: number; path: number }
  | { t: 'deliver'; from: number; to: number; pick: number }
  | { t: 'wait'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    t: fc.constant('write' as const),
    node: fc.nat(2),
    path: fc.nat(1),
    hash: fc.nat(3),
  }),
  fc.record({ t: fc.constant('delete' as const), node: fc.nat(2), path: fc.nat(1) }),
  fc.record({ t: fc.constant('mkdir' as const), node: fc.nat(2), path: fc.nat(1) }),
  fc.record({
    t: fc.constant('deliver' as const),
    from: fc.nat(2),
    to: fc.nat(2),
    pick: fc.nat(),
  }),
  fc.record({
    t: fc.constant('deliver' as const),
    from: fc.nat(2),
    to: fc.nat(2),
    pick: fc.nat(),
  }),
  fc.record({ t: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 1500 }) }),
);

async function run(steps: readonly Step[], finalOrder: readonly number[]): Promise<SimNode[]> {
  let now = T0;
  const nodes = IDS.map((id) => makeNode(id, () => now));
  const at = (i: number): SimNode => nodes[i % nodes.length] as SimNode;
  // An edit is based on the version the node holds (its disk is assumed up to date).
  const edit = async (
    node: SimNode,
    path: string,
    hash: string | null,
    entry: 'file' | 'dir' = 'file',
  ) => {
    const current = node.index.get('f', path);
    if (hash === null && entry === 'file' && (current === undefined || current.deleted)) return;
    await node.changes.commit({
      kind: 'file.put',
      folder: 'f',
      path,
      entry: hash === null && entry === 'file' ? (current?.kind ?? 'file') : entry,
      deleted: hash === null && entry === 'file',
      hash,
      size: hash === null ? 0 : 10,
      mtimeMs: now,
      vv: bumpVv(current?.vv ?? {}, node.id),
      originName: `n${IDS.indexOf(node.id) + 1}`,
    });
  };
  for (const s of steps) {
    if (s.t === 'write') await edit(at(s.node), PATHS[s.path] ?? '', HASHES[s.hash] ?? '');
    else if (s.t === 'delete') await edit(at(s.node), PATHS[s.path] ?? '', null);
    else if (s.t === 'mkdir') await edit(at(s.node), PATHS[s.path] ?? '', null, 'dir');
    else if (s.t === 'wait') now += s.ms;
    else {
      const ops = await opsOf(at(s.from));
      const op = ops[s.pick % Math.max(1, ops.length)];
      if (op) await at(s.to).changes.receive([op]);
    }
  }
  // Heal: every node gets every operation (one at a time, in a shuffled order, repeated until
  // nothing is new: copies made while healing are operations too).
  for (let changed = true; changed;) {
    changed = false;
    for (const to of nodes) {
      const all = (await Promise.all(nodes.filter((n) => n !== to).map(opsOf))).flat();
      const order = all
        .map((_, i) => i)
        .sort(
          (x, y) =>
            (finalOrder[x % finalOrder.length] ?? 0) - (finalOrder[y % finalOrder.length] ?? 0) ||
            x - y,
        );
      for (const i of order) {
        const op = all[i];
        if (op && (await to.changes.receive([op])).applied.length > 0) changed = true;
      }
    }
  }
  return nodes;
}

describe('folder convergence through the op log', () => {
  it('gives every node the same versions and conflict copies, in any delivery order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 30 }),
        fc.array(fc.nat(1000), { minLength: 1, maxLength: 20 }),
        async (steps, finalOrder) => {
          const nodes = await run(steps, finalOrder);
          try {
            const first = versions(nodes[0] as SimNode);
            for (const n of nodes.slice(1)) expect(versions(n)).toEqual(first);
            // Nothing a user wrote is lost: every live file version that no other version of its
            // path dominates is there, as the path's version or as a conflict copy of it.
            const made = (await opsOf(nodes[0] as SimNode)).flatMap((op) =>
              op.body.kind === 'file.put' && PATHS.includes(op.body.path) ? [op.body] : [],
            );
            for (const v of made) {
              if (v.deleted || v.entry !== 'file') continue;
              const dominated = made.some(
                (w) => w.path === v.path && compareVv(v.vv, w.vv) === 'before',
              );
              if (dominated) continue;
              const stem = v.path.replace(/\.txt$/, '');
              expect(
                first.some(
                  (r) =>
                    !r.deleted &&
                    r.hash === v.hash &&
                    (r.path === v.path || (isConflictName(r.path) && r.path.startsWith(stem))),
                ),
              ).toBe(true);
            }
          } finally {
            for (const n of nodes) n.db.close();
          }
        },
      ),
      { numRuns: Number(process.env.CONVERGENCE_RUNS ?? 150) },
    );
  });

  it('makes the copy at a node that received a version dominating both sides first', async () => {
    let now = T0;
    const [a, b, c] = IDS.map((id) => makeNode(id, () => now)) as [SimNode, SimNode, SimNode];
    const put = (node: SimNode, hash: string, vv: Record<string, number>) =>
      node.changes.commit({
        kind: 'file.put',
        folder: 'f',
        path: 's0.txt',
        entry: 'file',
        deleted: false,
        hash,
        size: 1,
        mtimeMs: now,
        vv,
        originName: node === a ? 'n1' : 'n2',
      });
    const loser = await put(a, HASHES[0] ?? '', { [a.id]: 1 });
    now += 1000;
    const winner = await put(b, HASHES[1] ?? '', { [b.id]: 1 });
    // b sees the loser: conflict decided at b (copy made), then b edits the merged winner.
    await b.changes.receive([loser]);
    now += 1000;
    const merged = b.index.get('f', 's0.txt');
    await put(b, HASHES[2] ?? '', bumpVv(merged?.vv ?? {}, b.id));
    // c receives b's ops newest first: the dominating edit, then the winner, then the loser.
    await c.changes.receive([...(await opsOf(b))].reverse());
    await c.changes.receive([loser, winner]);
    const copies = (n: SimNode) => versions(n).filter((v) => isConflictName(v.path) && !v.deleted);
    expect(copies(b)).toHaveLength(1);
    expect(copies(c)).toEqual(copies(b));
    expect(copies(c)[0]?.hash).toBe(HASHES[0]);
    for (const n of [a, b, c]) n.db.close();
  });
});
