/**
 * `applyFilePut` against the real folder index (SQLite in memory): the path's row and its
 * stored siblings after a new version, a concurrent one, and one that ends the conflict.
 */
import { describe, expect, it } from 'vitest';
import { encodeHlc } from '../core/hlc.js';
import { openDatabase } from '../db/database.js';
import type { FilePut } from '../oplog/op.js';
import { applyFilePut } from './folder-apply.js';
import { FolderIndexRepository } from './folder-index.repository.js';
import { localOf } from './testing.js';

const A = 'aaaaaaaaaaaaaaa1';
const B = 'aaaaaaaaaaaaaaa2';
const T0 = Date.UTC(2026, 11, 2, 17, 0, 0);

function put(hash: string, vv: Record<string, number>, originName: string): FilePut {
  return {
    kind: 'file.put',
    folder: 'f',
    path: 'd/x.txt',
    entry: 'file',
    deleted: false,
    hash: hash.repeat(64),
    size: 3,
    mtimeMs: T0,
    vv,
    originName,
  };
}

describe('applyFilePut', () => {
  it('stores siblings only while versions are concurrent, and drops them once one wins', () => {
    const index = new FolderIndexRepository(localOf(openDatabase(':memory:')));
    const apply = (body: FilePut, n: number, origin: string) =>
      index.transaction(() =>
        applyFilePut(index, body, {
          hlc: encodeHlc({ wall: T0 + n, counter: 0, node: origin }),
          origin,
          selfId: A,
        }),
      );

    return (async () => {
      // A path's first version: the row, no siblings stored.
      expect((await apply(put('1', { [A]: 1 }, 'a'), 1, A)).result).toBe('applied');
      expect(index.versions.siblings('f', 'd/x.txt')).toBeNull();
      expect(index.get('f', 'd/x.txt')?.hash).toBe('1'.repeat(64));

      // A concurrent edit at B: both versions kept as siblings, a conflict copy for the loser.
      const concurrent = await apply(put('2', { [A]: 1, [B]: 1 }, 'b'), 2, B);
      expect(concurrent.result).toBe('applied');
      const raced = await apply(put('3', { [A]: 2 }, 'a'), 3, A);
      expect(raced.result).toBe('applied');
      expect(index.versions.siblings('f', 'd/x.txt')).toHaveLength(2);
      expect(raced.copies).toHaveLength(1);

      // An edit made on top of both ends the conflict: its row, and no siblings left stored.
      const merged = await apply(put('4', { [A]: 3, [B]: 1 }, 'a'), 4, A);
      expect(merged.result).toBe('applied');
      expect(index.versions.siblings('f', 'd/x.txt')).toBeNull();
      const row = index.get('f', 'd/x.txt');
      expect(row?.hash).toBe('4'.repeat(64));
      expect(row?.vv).toEqual({ [A]: 3, [B]: 1 });

      // A version it dominates, arriving late, changes nothing.
      expect((await apply(put('2', { [A]: 1, [B]: 1 }, 'b'), 2, B)).result).toBe('ignored');
      expect(index.versions.siblings('f', 'd/x.txt')).toBeNull();
    })();
  });
});
