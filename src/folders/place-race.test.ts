/**
 * A local save racing a pulled file (issue 11, cause 3): the save lands between the moment the
 * puller checks the target and the moment it replaces it. The saved content must become a
 * version (at the path or as a conflict copy), never only a file in `.mosaic/trash/`. The same
 * for a save racing a move: a peer renamed a.txt to b.txt, this node takes a.txt's own file for
 * b.txt (FromThisDisk.take), and the user saves a.txt between the check and the move (found by
 * the fault tier, seed 209773246: the save went to b.txt under the old content's hash, a.txt
 * vanished, and a later edit of b.txt destroyed it with no copy anywhere).
 */
import { readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HybridClock } from '../core/hlc.js';
import { type Db } from '../db/database.js';
import { FolderIndexRepository } from './folder-index.repository.js';
import type { FolderSyncDeps } from './folder-sync.js';
import { peerHolding, peerPut, pullingFolder, sha256Hex, useTempDb } from './testing.js';

const PEER = 'aaaaaaaaaaaaaaa2';

let base: string;
let db: Db;

useTempDb('mosaic-place-race-', (b, d) => {
  base = b;
  db = d;
});

const sha = sha256Hex;

/** A folder holding `a.txt` (settled), and its FolderSync whose peer holds `contents`. */
async function folderWithA(
  content: string | Buffer,
  contents: readonly Buffer[],
  hooks: Pick<FolderSyncDeps, 'beforeReplace' | 'beforeMoveAway'>,
) {
  const root = join(base, 'folder');
  const { sync, index, changes } = await pullingFolder(db, root, peerHolding(contents), hooks);
  const file = join(root, 'a.txt');
  await writeFile(file, content);
  await utimes(file, 1_700_000_000, 1_700_000_000);
  return { root, file, index, changes, sync };
}

/** The save, made settled so the scan takes it at once. */
async function save(file: string, content: string): Promise<void> {
  await writeFile(file, content);
  await utimes(file, 1_700_000_100, 1_700_000_100);
}

/** The live file row holding `content`, checked against the disk. */
async function keptAsVersion(
  index: FolderIndexRepository,
  root: string,
  content: string,
): Promise<void> {
  const live = [...index.iterate('folder')].filter((r) => !r.deleted && r.kind === 'file');
  const kept = live.find((r) => r.hash === sha(content));
  expect(kept, 'the save is a version').toBeDefined();
  expect(await readFile(join(root, kept?.path ?? ''), 'utf8')).toBe(content);
}

/**
 * A folder whose `f.txt` was indexed as v1, then saved here as v2 (indexed too); its peer holds
 * `contents`. Returns v1's row: a concurrent change elsewhere is based on it.
 */
async function folderWithV2(contents: readonly Buffer[]) {
  const root = join(base, 'folder');
  const { sync, index, changes } = await pullingFolder(db, root, peerHolding(contents));
  const file = join(root, 'f.txt');
  await writeFile(file, 'v1');
  await utimes(file, 1_700_000_000, 1_700_000_000);
  await sync.syncNow();
  const v1 = index.get('folder', 'f.txt');
  expect(v1).toMatchObject({ hash: sha('v1'), need: false });
  await save(file, 'v2 here');
  await sync.syncNow();
  expect(index.get('folder', 'f.txt')).toMatchObject({ hash: sha('v2 here'), need: false });
  return { file, sync, index, changes, v1 };
}

describe('a local save racing a pulled file', () => {
  it('keeps the save as a version, never only in the trash', async () => {
    const remote = Buffer.from('v2 from the peer');
    const saved = 'the local save, made while v2 was being placed';
    let raced = false;
    const { root, file, index, changes, sync } = await folderWithA('v1', [remote], {
      beforeReplace: async (path) => {
        if (path !== 'a.txt' || raced) return;
        raced = true;
        await save(file, saved);
      },
    });
    try {
      await sync.syncNow();
      const v1 = index.get('folder', 'a.txt');
      expect(v1?.hash).toBe(sha('v1'));
      // The peer's edit of v1 arrives.
      await changes.receive([
        {
          origin: PEER,
          seq: 1,
          hlc: new HybridClock(PEER, () => Date.now() + 1000).next(),
          body: {
            kind: 'file.put',
            folder: 'folder',
            path: 'a.txt',
            entry: 'file',
            deleted: false,
            hash: sha(remote),
            size: remote.length,
            mtimeMs: Date.now(),
            vv: { ...v1?.vv, [PEER]: 1 },
            originName: 'n2',
          },
        },
      ]);
      await sync.syncNow();
      await sync.syncNow();
      expect(raced).toBe(true);
      await keptAsVersion(index, root, saved);
      const live = [...index.iterate('folder')].filter((r) => !r.deleted && r.kind === 'file');
      expect(live.some((r) => r.hash === sha(remote))).toBe(true);
    } finally {
      await sync.close();
    }
  });

  it('keeps a save racing a move as a version; the moved path gets what the peer has', async () => {
    const v1 = Buffer.from('v1, renamed to b.txt at the peer');
    const saved = 'the local save of a.txt, made while it was being moved';
    let raced = false;
    const { root, file, index, changes, sync } = await folderWithA(v1, [v1], {
      beforeMoveAway: async (path) => {
        if (path !== 'a.txt' || raced) return;
        raced = true;
        await save(file, saved);
      },
    });
    try {
      await sync.syncNow();
      const indexed = index.get('folder', 'a.txt');
      expect(indexed?.hash).toBe(sha(v1));
      // The peer's rename: a.txt deleted, b.txt with a.txt's content.
      const clock = new HybridClock(PEER, () => Date.now() + 1000);
      const put = (path: string, seq: number, deleted: boolean) =>
        peerPut(
          clock,
          seq,
          path,
          deleted ? null : v1,
          deleted ? { ...indexed?.vv, [PEER]: 1 } : { [PEER]: 2 },
          { mtimeMs: 1_700_000_000_000 },
        );
      await changes.receive([put('a.txt', 1, true), put('b.txt', 2, false)]);
      await sync.syncNow();
      await sync.syncNow();
      await sync.whenIdle();
      expect(raced).toBe(true);
      await keptAsVersion(index, root, saved);
      expect(index.get('folder', 'b.txt')).toMatchObject({ hash: sha(v1), need: false });
      expect(await readFile(join(root, 'b.txt'))).toEqual(v1);
    } finally {
      await sync.close();
    }
  });

  it('finishes a remote delete or edit of a file the user removed meanwhile', async () => {
    const root = join(base, 'folder');
    const remote = Buffer.from('v2 of edited.txt from the peer');
    const { sync, index, changes } = await pullingFolder(db, root, peerHolding([remote]));
    for (const name of ['gone.txt', 'edited.txt']) {
      await writeFile(join(root, name), `v1 of ${name}`);
      await utimes(join(root, name), 1_700_000_000, 1_700_000_000);
    }
    try {
      await sync.syncNow();
      const clock = new HybridClock(PEER, () => Date.now() + 1000);
      const put = (path: string, seq: number, data: Buffer | null) =>
        peerPut(clock, seq, path, data, { ...index.get('folder', path)?.vv, [PEER]: 1 });
      // Received while the node's scan cannot see the removals yet (a pending version makes the
      // scanner leave a path alone): the pull finds nothing at either path.
      await changes.receive([put('gone.txt', 1, null), put('edited.txt', 2, remote)]);
      await rm(join(root, 'gone.txt'));
      await rm(join(root, 'edited.txt'));
      await sync.syncNow();
      await sync.whenIdle();
      expect(index.get('folder', 'gone.txt')).toMatchObject({ deleted: true, need: false });
      expect(index.get('folder', 'edited.txt')).toMatchObject({ hash: sha(remote), need: false });
      expect(await readFile(join(root, 'edited.txt'), 'utf8')).toBe(remote.toString());
    } finally {
      await sync.close();
    }
  });

  it("keeps the user's removal of a version that lost to a concurrent one, so the winner's later delete deletes the path", async () => {
    // Fault tier seed 919834596 (with clock faults): n1 saved v2, a laptop's concurrent edit won
    // (a later HLC), n1's user removed the file before the pull wrote the winner; the pull wrote
    // it over the empty path, and the removal of v2 was never logged. When the laptop then
    // deleted its file, v2 was the one live version left and every node needed its content,
    // which nobody held: the folders never agreed again.
    const theirs = Buffer.from('the laptop edit, concurrent with v2');
    const { file, sync, index, changes, v1 } = await folderWithV2([theirs]);
    try {
      // The laptop's edit, based on v1 (concurrent with v2), stamped later: it wins.
      const clock = new HybridClock(PEER, () => Date.now() + 1000);
      const put = (seq: number, data: Buffer | null, vv: Record<string, number>) =>
        peerPut(clock, seq, 'f.txt', data, vv, { originName: 'dev1' });
      await changes.receive([put(1, theirs, { ...v1?.vv, [PEER]: 1 })]);
      expect(index.get('folder', 'f.txt')).toMatchObject({ hash: sha(theirs), need: true });
      // The user removes v2 before the pull has written the winner.
      await rm(file);
      await sync.syncNow();
      await sync.whenIdle();
      expect(await readFile(file, 'utf8')).toBe(theirs.toString());
      expect(index.get('folder', 'f.txt')).toMatchObject({ hash: sha(theirs), need: false });

      // The laptop deletes its file (it has seen only v1 and its own edit).
      await changes.receive([put(2, null, { ...v1?.vv, [PEER]: 2 })]);
      await sync.syncNow();
      await sync.whenIdle();
      expect(index.get('folder', 'f.txt')).toMatchObject({ deleted: true, need: false });
      await expect(readFile(file)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await sync.close();
    }
  });

  it("keeps the user's removal of a file that lost to a concurrent directory, so the directory's later delete deletes the path", async () => {
    // The same race with a directory as the winner (a directory beats a file, whatever the
    // HLCs): the pull made the directory over the path the user had just emptied, the removal
    // of v2 was never logged, and the directory's later delete by its author left v2 the one
    // live version: every node needed content nobody held.
    const { file, sync, index, changes, v1 } = await folderWithV2([]);
    try {
      // The laptop replaced v1 by a directory (concurrent with v2): the directory wins.
      const clock = new HybridClock(PEER, () => Date.now() + 1000);
      const put = (seq: number, deleted: boolean, vv: Record<string, number>) =>
        peerPut(clock, seq, 'f.txt', deleted ? null : Buffer.alloc(0), vv, {
          originName: 'dev1',
          entry: 'dir',
        });
      await changes.receive([put(1, false, { ...v1?.vv, [PEER]: 1 })]);
      expect(index.get('folder', 'f.txt')).toMatchObject({ kind: 'dir', need: true });
      // The user removes v2 before the pull has made the directory.
      await rm(file);
      await sync.syncNow();
      await sync.whenIdle();
      expect((await stat(file)).isDirectory()).toBe(true);
      expect(index.get('folder', 'f.txt')).toMatchObject({
        kind: 'dir',
        deleted: false,
        need: false,
      });

      // The laptop deletes its directory (it has seen only v1 and its own change).
      await changes.receive([put(2, true, { ...v1?.vv, [PEER]: 2 })]);
      await sync.syncNow();
      await sync.whenIdle();
      expect(index.get('folder', 'f.txt')).toMatchObject({ deleted: true, need: false });
      await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await sync.close();
    }
  });
});
