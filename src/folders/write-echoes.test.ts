/**
 * A pull's writes that the watcher never reports (write-echoes.ts): looked at again, so that a
 * file the user deletes at once is a deletion within seconds, not at the next full scan.
 */
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { type Db } from '../db/database.js';
import { WriteEchoes } from './write-echoes.js';
import { peerHolding, peerPuts, pullingFolder, SELF_ID, useTempDb } from './testing.js';

let base: string;
let db: Db;

useTempDb('mosaic-write-echoes-', (b, d) => {
  base = b;
  db = d;
});

describe('write echoes', () => {
  it('hands over the written paths the watcher did not report in time, oldest first', async () => {
    let now = 1_000;
    const silent: string[][] = [];
    const echoes = new WriteEchoes(
      (paths) => silent.push([...paths]),
      () => now,
      20,
    );
    try {
      echoes.wrote('a');
      echoes.wrote('b');
      echoes.wrote('c');
      echoes.heard('b');
      // Written again: waits from the new write.
      now = 1_015;
      echoes.wrote('a');
      now = 1_025;
      await vi.waitFor(() => {
        expect(silent).toEqual([['c']]);
      });
      now = 1_040;
      await vi.waitFor(() => {
        expect(silent).toEqual([['c'], ['a']]);
      });
      // A report for a path not waiting changes nothing.
      echoes.heard('zzz');
      echoes.wrote('d');
      echoes.heard('d');
      now = 1_100;
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(silent).toEqual([['c'], ['a']]);
    } finally {
      echoes.close();
    }
  });
});

describe('a file the pull placed and the user deleted at once', () => {
  it('is a deletion within seconds, though the watcher reports nothing', async () => {
    // Fault tier seed 653644810: one node's user deleted a file its pull had just placed; the
    // deletion left that node only at its full scan 30 s later ("deleted: 1"). @parcel/watcher
    // merges a create and a delete of one path within ~50 ms into no event at all.
    const file = { path: 'a.txt', data: Buffer.from('from the peer'), mtimeMs: 1_700_000_000_000 };
    const root = join(base, 'folder');
    let deleteNow = false;
    const { sync, index, changes } = await pullingFolder(db, root, peerHolding([file.data]), {
      // No full scan within the test: only the watcher, or the echo check, can find it.
      rescanIntervalMs: 3_600_000,
      // The watcher as it is when the events of the pull's link and of the user's deletion are
      // merged into none: it reports nothing.
      watch: () => Promise.resolve({ close: () => Promise.resolve() }),
      // Runs right after the pull's links, before it records them: the user's deletion, a
      // millisecond or so after the file appeared.
      beforeRecord: async () => {
        if (!deleteNow) return;
        deleteNow = false;
        await unlink(join(root, file.path));
      },
    });
    try {
      await sync.syncNow();
      deleteNow = true;
      await changes.receive(peerPuts([file]));
      await sync.syncNow();
      expect(existsSync(join(root, file.path))).toBe(false);
      // The user's deletion, a version of this node's own.
      await vi.waitFor(
        () => {
          expect(index.get('folder', file.path)).toMatchObject({ deleted: true, need: false });
        },
        { timeout: 10_000, interval: 100 },
      );
      expect(index.get('folder', file.path)?.vv).toMatchObject({ [SELF_ID]: 1 });
    } finally {
      await sync.close();
    }
  });
});
