/**
 * A pull checks each parent directory once (pull-targets.ts); every write checks again in the
 * same tick. A directory swapped for a symlink after its check, in the middle of a pull, must
 * never be written through: the files under it stay needed, nothing lands outside the folder.
 */
import { mkdir, readdir, rename, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Db } from '../db/database.js';
import { peerHolding, peerPuts, pullingFolder, useTempDb } from './testing.js';

let base: string;
let db: Db;

useTempDb('mosaic-pull-targets-', (b, d) => {
  base = b;
  db = d;
});

describe('a parent directory swapped for a symlink during a pull', () => {
  it('is never written through, though it was checked earlier in the same pull', async () => {
    const root = join(base, 'folder');
    const outside = join(base, 'outside');
    await mkdir(join(root, 'a'), { recursive: true });
    await mkdir(outside);
    // Same content: `a/x` and `a/y` go in two rounds of one pull (one file per content at once).
    const content = Buffer.from('the same bytes for both');
    let swapped = false;
    const { sync, index, changes } = await pullingFolder(db, root, peerHolding([content]), {
      beforeReplace: async () => {
        if (swapped) return;
        swapped = true;
        await rename(join(root, 'a'), join(base, 'a-moved'));
        await symlink(outside, join(root, 'a'));
      },
    });
    try {
      await sync.syncNow();
      await changes.receive(
        peerPuts(
          ['a/x.txt', 'a/y.txt'].map((path) => ({
            path,
            data: content,
            mtimeMs: 1_700_000_000_000,
          })),
        ),
      );
      await sync.syncNow();
      expect(swapped).toBe(true);
      expect(await readdir(outside)).toEqual([]);
      expect(index.get('folder', 'a/x.txt')?.need).toBe(true);
      expect(index.get('folder', 'a/y.txt')?.need).toBe(true);
    } finally {
      await sync.close();
    }
  });
});
