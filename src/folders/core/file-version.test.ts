import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeHlc } from '../../core/hlc.js';
import { versionTag } from './conflict-name.js';
import {
  bumpVv,
  compareVv,
  mergeVv,
  resolve,
  sameContent,
  versionAfter,
  type FileVersion,
  type Resolution,
  type VersionVector,
} from './file-version.js';

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
