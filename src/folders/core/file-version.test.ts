import { posix } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HybridClock, encodeHlc } from '../../core/hlc.js';
import { conflictName, isConflictName, versionTag } from './conflict-name.js';
import {
  bumpVv,
  compareVv,
  mergeVv,
  resolve,
  sameContent,
  versionAfter,
  wallOf,
  type FileVersion,
  type Resolution,
  type VersionVector,
} from './file-version.js';
import { checkRelativePath } from './paths.js';

const T0 = Date.UTC(2024, 10, 21, 12, 0, 0);

function v(
  over: Partial<FileVersion> & { vv: VersionVector; at: number; node?: string },
): FileVersion {
  const { at, node = 'n1', ...rest } = over;
  return {
    kind: 'file',
    deleted: false,
    hash: 'aa',
    size: 2,
    mtimeMs: at,
    hlc: encodeHlc({ wall: at, counter: 0, node }),
    origin: node,
    originName: `name-${node}`,
    ...rest,
  };
}

describe('version vectors', () => {
  it('compares pointwise, missing entries counting as 0', () => {
    expect(compareVv({}, {})).toBe('equal');
    expect(compareVv({ a: 1 }, { a: 1, b: 0 })).toBe('equal');
    expect(compareVv({ a: 1 }, { a: 2 })).toBe('before');
    expect(compareVv({ a: 1, b: 1 }, { a: 1 })).toBe('after');
    expect(compareVv({ a: 2 }, { a: 1, b: 1 })).toBe('concurrent');
  });

  it('treats inherited property names as ordinary node ids', () => {
    expect(compareVv({}, { constructor: 1 })).toBe('before');
    expect(compareVv({ toString: 1 }, {})).toBe('after');
    const proto = mergeVv(JSON.parse('{"__proto__": 2}') as VersionVector, { a: 1 });
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.entries(proto)).toEqual([
      ['__proto__', 2],
      ['a', 1],
    ]);
    expect(Object.entries(bumpVv({}, '__proto__'))).toEqual([['__proto__', 1]]);
  });

  it('bumps one counter and merges by pointwise max, in a canonical key order', () => {
    expect(bumpVv({ b: 1 }, 'a')).toEqual({ a: 1, b: 1 });
    expect(bumpVv({ a: 1, b: 1 }, 'a')).toEqual({ a: 2, b: 1 });
    expect(Object.keys(mergeVv({ c: 1, a: 0 }, { b: 3, c: 2 }))).toEqual(['b', 'c']);
    expect(mergeVv({ c: 1, a: 4 }, { b: 3, c: 2 })).toEqual({ a: 4, b: 3, c: 2 });
  });

  const vvArb = fc.dictionary(
    fc.constantFrom('n1', 'n2', 'n3', 'constructor', '__proto__'),
    fc.nat(3),
  ) as fc.Arbitrary<VersionVector>;

  it('orders vectors as a partial order, with merge as the least upper bound', () => {
    const flip = { before: 'after', after: 'before', equal: 'equal', concurrent: 'concurrent' };
    fc.assert(
      fc.property(vvArb, vvArb, vvArb, (a, b, c) => {
        expect(compareVv(b, a)).toBe(flip[compareVv(a, b)]);
        const m = mergeVv(a, b);
        expect(compareVv(a, m)).not.toMatch(/after|concurrent/);
        expect(compareVv(b, m)).not.toMatch(/after|concurrent/);
        if (
          !/after|concurrent/.test(compareVv(a, c)) &&
          !/after|concurrent/.test(compareVv(b, c))
        ) {
          expect(compareVv(m, c)).not.toMatch(/after|concurrent/);
        }
        expect(compareVv(bumpVv(a, 'n2'), a)).toBe('after');
        expect(mergeVv(a, b)).toEqual(mergeVv(b, a));
        expect(mergeVv(a, mergeVv(b, c))).toEqual(mergeVv(mergeVv(a, b), c));
      }),
    );
  });
});

describe('resolve', () => {
  it('takes anything for an unknown path, and follows causality', () => {
    const old = v({ vv: { n1: 1 }, at: T0 + 9000 });
    const next = v({ vv: { n1: 1, n2: 1 }, at: T0, node: 'n2', hash: 'bb' });
    expect(resolve('p', null, old)).toEqual({ action: 'take' });
    expect(resolve('p', old, next)).toEqual({ action: 'take' });
    expect(resolve('p', next, old)).toEqual({ action: 'ignore' });
    expect(resolve('p', old, old)).toEqual({ action: 'ignore' });
  });

  it('merges concurrent versions with the same content without a copy', () => {
    const a = v({ vv: { n1: 1 }, at: T0, node: 'n1' });
    const b = v({ vv: { n2: 1 }, at: T0 + 1, node: 'n2' });
    const merged = { ...b, vv: { n1: 1, n2: 1 } };
    expect(resolve('p', a, b)).toEqual({ action: 'merge', version: merged });
    expect(resolve('p', b, a)).toEqual({ action: 'merge', version: merged });
    const gone = resolve(
      'p',
      v({ vv: { n1: 1 }, at: T0, deleted: true, hash: null }),
      v({ vv: { n2: 1 }, at: T0, node: 'n2', kind: 'dir', deleted: true, hash: null }),
    );
    expect(gone.action).toBe('merge');
  });

  it('gives concurrent edits to the higher HLC and keeps the loser as a copy', () => {
    const mine = v({ vv: { n1: 2 }, at: T0 + 5000, node: 'n1', hash: 'aa' });
    const theirs = v({ vv: { n1: 1, n2: 1 }, at: T0 + 7000, node: 'n2', hash: 'bb' });
    expect(resolve('docs/a.txt', mine, theirs)).toEqual({
      action: 'conflict',
      winner: { ...theirs, vv: { n1: 2, n2: 1 } },
      loser: mine,
      winnerIsRemote: true,
      keepLoserAs: `docs/a.sync-conflict-20241121-120005-name-n1-${versionTag(mine)}.txt`,
    });
    expect(resolve('docs/a.txt', theirs, mine)).toEqual({
      action: 'conflict',
      winner: { ...theirs, vv: { n1: 2, n2: 1 } },
      loser: mine,
      winnerIsRemote: false,
      keepLoserAs: `docs/a.sync-conflict-20241121-120005-name-n1-${versionTag(mine)}.txt`,
    });
  });

  it('lets a modification beat a concurrent delete, even a later one', () => {
    const edit = v({ vv: { n1: 2 }, at: T0, node: 'n1' });
    const del = v({ vv: { n1: 1, n2: 1 }, at: T0 + 60_000, node: 'n2', deleted: true, hash: null });
    for (const [local, remote] of [
      [edit, del],
      [del, edit],
    ] as const) {
      const r = resolve('a', local, remote);
      expect(r).toMatchObject({ action: 'conflict', winner: { ...edit, vv: { n1: 2, n2: 1 } } });
      expect(r).toMatchObject({ loser: del, keepLoserAs: null });
    }
  });

  it('lets a directory beat a concurrent file, even a later one, and keeps the file', () => {
    const dir = v({ vv: { n1: 1 }, at: T0, node: 'n1', kind: 'dir', hash: null, size: 0 });
    const file = v({ vv: { n2: 1 }, at: T0 + 60_000, node: 'n2' });
    for (const [local, remote] of [
      [dir, file],
      [file, dir],
    ] as const) {
      expect(resolve('x/y', local, remote)).toEqual({
        action: 'conflict',
        winner: { ...dir, vv: { n1: 1, n2: 1 } },
        loser: file,
        winnerIsRemote: remote === dir,
        keepLoserAs: `x/y.sync-conflict-20241121-120100-name-n2-${versionTag(file)}`,
      });
    }
  });
});

// ---- Properties over arbitrary pairs -------------------------------------------------------

const versionArb: fc.Arbitrary<FileVersion> = fc
  .record({
    kind: fc.constantFrom('file' as const, 'dir' as const),
    deleted: fc.boolean(),
    hash: fc.constantFrom('aa', 'bb'),
    vv: fc.dictionary(fc.constantFrom('n1', 'n2', 'n3'), fc.integer({ min: 1, max: 2 })),
    wall: fc.constantFrom(T0, T0 + 1, T0 + 1000, T0 + 2000),
    node: fc.constantFrom('n1', 'n2', 'n3'),
    mtimeMs: fc.constantFrom(1, 2),
  })
  .map(({ kind, deleted, hash, vv, wall, node, mtimeMs }) => ({
    kind,
    deleted,
    hash: kind === 'file' && !deleted ? hash : null,
    size: kind === 'file' && !deleted ? 2 : 0,
    mtimeMs,
    vv,
    hlc: encodeHlc({ wall, counter: 0, node }),
    origin: node,
    originName: node,
  }));

describe('resolve, for any two versions', () => {
  it('ignores a version it already has', () => {
    fc.assert(
      fc.property(versionArb, (x) => {
        expect(resolve('p', x, x)).toEqual({ action: 'ignore' });
        expect(resolve('p', x, { ...x, vv: { ...x.vv } })).toEqual({ action: 'ignore' });
      }),
    );
  });

  it('ends in the same version and the same copy whichever side it runs on', () => {
    fc.assert(
      fc.property(versionArb, versionArb, (a, b) => {
        const ab = resolve('d/f.txt', a, b);
        const ba = resolve('d/f.txt', b, a);
        expect(versionAfter(a, b, ab)).toEqual(versionAfter(b, a, ba));
        expect(copyOf(ab)).toEqual(copyOf(ba));
      }),
    );
  });

  it('decides a conflict once: the result dominates both sides', () => {
    fc.assert(
      fc.property(versionArb, versionArb, (a, b) => {
        const r = resolve('f', a, b);
        const after = versionAfter(a, b, r);
        if (after === null) throw new Error('a resolution always leaves a version');
        for (const x of [a, b]) {
          const again = resolve('f', after, x);
          expect(versionAfter(after, x, again)).toEqual(after);
          // Only equal vectors carried by different versions (a node that forgot its counters)
          // get a second, no-op merge; everything else is simply ignored.
          if (compareVv(a.vv, b.vv) !== 'equal') expect(again).toEqual({ action: 'ignore' });
        }
        expect(compareVv(after.vv, mergeVv(a.vv, b.vv))).toBe('equal');
      }),
    );
  });

  it('keeps every live content: as the result, or as a copy, unless superseded', () => {
    fc.assert(
      fc.property(versionArb, versionArb, (a, b) => {
        const r = resolve('f', a, b);
        const after = versionAfter(a, b, r);
        if (after === null) throw new Error('a resolution always leaves a version');
        for (const [x, y] of [
          [a, b],
          [b, a],
        ] as const) {
          if (x.deleted || compareVv(x.vv, y.vv) === 'before') continue;
          const kept = sameContent(after, x) || (r.action === 'conflict' && r.loser === x);
          expect(kept).toBe(true);
        }
        if (r.action === 'conflict') {
          expect(r.keepLoserAs === null).toBe(r.loser.deleted);
          expect(r.winner.deleted && !r.loser.deleted).toBe(false);
          expect(!r.loser.deleted && r.loser.kind === 'dir').toBe(false); // a live dir never loses
        }
      }),
    );
  });
});

function copyOf(r: Resolution): [string, FileVersion] | null {
  return r.action === 'conflict' && r.keepLoserAs !== null ? [r.keepLoserAs, r.loser] : null;
}

// ---- Simulated nodes --------------------------------------------------------------------------

const NODES = ['n1', 'n2', 'n3'] as const;
const PATHS = ['a.txt', 'b', 'dir/.c.md'] as const;

type Step =
  | { t: 'write'; node: number; path: number; hash: string }
  | { t: 'mkdir'; node: number; path: number }
  | { t: 'delete'; node: number; path: number }
  | { t: 'send'; from: number; to: number }
  | { t: 'deliver'; pick: number; keep: boolean }
  | { t: 'wait'; ms: number };

const nodeIx = fc.nat(NODES.length - 1);
// Mostly the same path, so that concurrent edits meet often.
const pathIx = fc.constantFrom(0, 0, 0, 1, 2);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    arbitrary: fc.record({
      t: fc.constant('write' as const),
      node: nodeIx,
      path: pathIx,
      hash: fc.constantFrom('h1', 'h2', 'h3'),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ t: fc.constant('mkdir' as const), node: nodeIx, path: pathIx }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ t: fc.constant('delete' as const), node: nodeIx, path: pathIx }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ t: fc.constant('send' as const), from: nodeIx, to: nodeIx }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      t: fc.constant('deliver' as const),
      pick: fc.nat(),
      keep: fc.boolean(),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      t: fc.constant('wait' as const),
      ms: fc.integer({ min: 0, max: 1500 }),
    }),
    weight: 2,
  },
);

interface SimNode {
  readonly id: string;
  readonly name: string;
  readonly clock: HybridClock;
  readonly files: Map<string, FileVersion>;
}

interface Message {
  readonly to: number;
  readonly path: string;
  readonly version: FileVersion;
}

/** A version a user made, and the version the node held when the user made the next one. */
interface Edit {
  readonly path: string;
  readonly made: FileVersion;
  readonly replaced: FileVersion | null;
}

function simulate(steps: readonly Step[]) {
  let now = T0;
  const nodes: SimNode[] = NODES.map((id) => ({
    id,
    name: `Node ${id}!`, // sanitized in copy names
    clock: new HybridClock(id, () => now),
    files: new Map(),
  }));
  const pool: Message[] = [];
  const edits: Edit[] = [];

  const at = (i: number): SimNode => nodes[i % nodes.length] ?? fail('no such node');

  function edit(
    node: SimNode,
    path: string,
    change: Pick<FileVersion, 'kind' | 'deleted' | 'hash'>,
  ) {
    const replaced = node.files.get(path) ?? null;
    const made: FileVersion = {
      ...change,
      size: change.hash?.length ?? 0,
      mtimeMs: now,
      vv: bumpVv(replaced?.vv ?? {}, node.id),
      hlc: node.clock.next(),
      origin: node.id,
      originName: node.name,
    };
    node.files.set(path, made);
    edits.push({ path, made, replaced });
  }

  /** Applies a version from a peer; returns whether anything changed. */
  function receive(node: SimNode, path: string, remote: FileVersion): boolean {
    node.clock.observe(remote.hlc);
    const local = node.files.get(path) ?? null;
    const r = resolve(path, local, remote);
    const after = versionAfter(local, remote, r);
    let changed = !isDeepStrictEqual(after, local);
    if (after !== null) node.files.set(path, after);
    if (r.action === 'conflict' && r.keepLoserAs !== null) {
      changed = receive(node, r.keepLoserAs, r.loser) || changed;
    }
    return changed;
  }

  for (const step of steps) {
    switch (step.t) {
      case 'write':
        edit(at(step.node), PATHS[step.path] ?? fail('path'), {
          kind: 'file',
          deleted: false,
          hash: step.hash,
        });
        break;
      case 'mkdir':
        edit(at(step.node), PATHS[step.path] ?? fail('path'), {
          kind: 'dir',
          deleted: false,
          hash: null,
        });
        break;
      case 'delete': {
        const node = at(step.node);
        const path = PATHS[step.path] ?? fail('path');
        const current = node.files.get(path);
        if (current && !current.deleted) {
          edit(node, path, { kind: current.kind, deleted: true, hash: null });
        }
        break;
      }
      case 'send':
        for (const [path, version] of at(step.from).files) {
          pool.push({ to: step.to, path, version });
        }
        break;
      case 'deliver': {
        if (pool.length === 0) break;
        const i = step.pick % pool.length;
        const m = pool[i] ?? fail('message');
        if (!step.keep) pool.splice(i, 1); // kept messages arrive again later: duplicates
        receive(at(m.to), m.path, m.version);
        break;
      }
      case 'wait':
        now += step.ms;
        break;
    }
  }

  // Anti-entropy until nothing changes: every node offers every path to every other node.
  for (let round = 0; ; round++) {
    if (round > 20) throw new Error('did not converge');
    let changed = false;
    for (const from of nodes) {
      for (const to of nodes) {
        if (from === to) continue;
        for (const [path, version] of [...from.files])
          changed = receive(to, path, version) || changed;
      }
    }
    if (!changed) break;
  }
  return { nodes, edits };
}

function fail(what: string): never {
  throw new Error(`simulation bug: ${what}`);
}

const notAfter = (a: VersionVector, b: VersionVector) => /before|equal/.test(compareVv(a, b));

describe('several nodes editing, deleting and exchanging in any order', () => {
  const history = fc.array(stepArb, { minLength: 1, maxLength: 80 });

  it('converge to the same version of every path, copies included', () => {
    fc.assert(
      fc.property(history, (steps) => {
        const { nodes } = simulate(steps);
        const [first, ...rest] = nodes.map((n) => Object.fromEntries(n.files));
        for (const other of rest) expect(other).toEqual(first);
      }),
      { numRuns: 1000 },
    );
  });

  it('never lose a modification that no one replaced', () => {
    fc.assert(
      fc.property(history, (steps) => {
        const { nodes, edits } = simulate(steps);
        const final = nodes[0]?.files ?? fail('nodes');
        const copies = [...final].filter(([p, x]) => isConflictName(p) && !x.deleted);
        for (const { path, made } of edits) {
          if (made.deleted) continue;
          const head = final.get(path);
          if (head !== undefined && sameContent(head, made)) continue;
          const copied = copies.some(
            ([p, x]) =>
              made.kind === 'file' &&
              posix.dirname(p) === posix.dirname(path) &&
              x.hash === made.hash,
          );
          if (copied) continue;
          // Superseded: a user at some node replaced this very content, having seen this version.
          const superseded = edits.some(
            (e) =>
              e.path === path &&
              e.replaced !== null &&
              sameContent(e.replaced, made) &&
              notAfter(made.vv, e.replaced.vv),
          );
          expect({ path, made, lost: !superseded }).toEqual({ path, made, lost: false });
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('end with a version at each edited path that has seen every edit of it', () => {
    fc.assert(
      fc.property(history, (steps) => {
        const { nodes, edits } = simulate(steps);
        const final = nodes[0]?.files ?? fail('nodes');
        for (const { path, made } of edits) {
          const head = final.get(path) ?? fail('edited path missing');
          expect(notAfter(made.vv, head.vv)).toBe(true);
        }
        for (const [p, x] of final) {
          expect(checkRelativePath(p)).toEqual({ ok: true, path: p });
          // A copy is named after the version it holds, on whichever node it was made.
          if (isConflictName(p)) {
            const names = PATHS.map((q) =>
              conflictName(q, wallOf(x.hlc), x.originName, versionTag(x)),
            );
            expect(names).toContain(p);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('make conflict copies with the names of the losing versions', () => {
    // Two nodes edit the same file while apart, then meet: one copy, named after the loser.
    const { nodes, edits } = simulate([
      { t: 'write', node: 0, path: 0, hash: 'h1' },
      { t: 'wait', ms: 1000 },
      { t: 'write', node: 1, path: 0, hash: 'h2' },
    ]);
    const loser = edits[0]?.made ?? fail('edit');
    const copy = conflictName('a.txt', wallOf(loser.hlc), loser.originName, versionTag(loser));
    expect(copy).toBe(`a.sync-conflict-20241121-120000-Node_n1_-${versionTag(loser)}.txt`);
    for (const n of nodes) {
      expect(n.files.get('a.txt')?.hash).toBe('h2');
      expect(n.files.get(copy)).toEqual(loser);
      expect([...n.files.keys()].sort()).toEqual([copy, 'a.txt']);
    }
  });
});
