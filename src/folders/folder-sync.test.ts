import { folderChangeLog, localOf, storeFor, useTempDb } from './testing.js';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { type Db } from '../db/database.js';
import { OpLogRepository } from '../oplog/oplog.repository.js';
import { hashFile } from './blocks.js';
import { FolderIndexRepository } from './folder-index.repository.js';
import { FolderSync, PAUSED_RECHECK_MS, type FolderSyncDeps } from './folder-sync.js';
import type { FolderWatcher } from './watcher.js';
import { hintedDirs } from './local-changes.js';
import { ensureMarker, folderTrashDir, markerPath } from './marker.js';

let base: string;
let db: Db;

useTempDb('mosaic-folder-sync-', (b, d) => {
  base = b;
  db = d;
});

/** A watcher that reports nothing: the test says what the real one would have reported. */
const deaf = (): Promise<FolderWatcher> => Promise.resolve({ close: () => Promise.resolve() });

function folderSync(
  root: string,
  watch?: FolderSyncDeps['watch'],
  more: Partial<FolderSyncDeps> = {},
): FolderSync {
  const oplog = new OpLogRepository(storeFor(db));
  const index = new FolderIndexRepository(localOf(db));
  const changes = folderChangeLog(db, 'aaaaaaaaaaaaaaaa', index, oplog);
  return new FolderSync({
    config: { id: 'folder', root },
    index,
    changes,
    selfId: 'aaaaaaaaaaaaaaaa',
    selfName: 'n1',
    sources: () => [],
    log: pino({ level: 'silent' }),
    trashRetentionMs: 24 * 3600 * 1000,
    ...(watch === undefined ? {} : { watch }),
    ...more,
  });
}

describe('folder trash', () => {
  it('keeps replaced and deleted files for the retention period, then removes them', async () => {
    const root = join(base, 'folder');
    await mkdir(root);
    await ensureMarker(root, 'folder');
    const trash = folderTrashDir(root);
    const old = join(trash, '20260101T000000', 'docs', 'a.txt.1234abcd');
    const recent = join(trash, '20261120T120000', 'b.txt.5678abcd');
    for (const file of [old, recent]) {
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(file, 'x');
      db.prepare(
        'INSERT INTO folder_trash (folder, hash, file, trashed_at) VALUES (?, ?, ?, 0)',
      ).run('folder', 'c'.repeat(64), file);
    }
    const removed = await folderSync(root).sweepTrash(Date.UTC(2026, 10, 21));
    expect(removed).toBe(1);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    expect(db.prepare('SELECT file FROM folder_trash').pluck().all()).toEqual([recent]);
  });
});

describe('hinted rescans', () => {
  it('never start below a symlink: a hint under `out -> elsewhere` rescans from the root', async () => {
    const root = join(base, 'folder');
    const elsewhere = join(base, 'elsewhere');
    await mkdir(join(root, 'real', 'sub'), { recursive: true });
    await mkdir(join(elsewhere, 'etc'), { recursive: true });
    await symlink(elsewhere, join(root, 'out'));
    await symlink(elsewhere, join(root, 'real', 'link'));
    expect(await hintedDirs(root, new Set(['out/etc/passwd']))).toEqual(['']);
    expect(await hintedDirs(root, new Set(['real/link/etc/x']))).toEqual(['real']);
    expect(await hintedDirs(root, new Set(['real/sub/new.txt']))).toEqual(['real/sub']);
  });

  it('list a known directory the watcher named itself: files made in it before its watch began', async () => {
    // Fault tier seeds 625976333 and 93431856: a file written into a directory right after
    // the directory was made (or emptied and made again) was found only by the full scan, 30 s
    // later. @parcel/watcher watches a new directory a moment after it is made and reports
    // what was made in it before that by nobody; it reports the directory itself. A scan
    // (for another hint) had already indexed the directory, empty, with its inode, so the
    // hinted scan of its parent took it for known and did not look inside.
    const root = join(base, 'folder');
    await mkdir(join(root, 'd3'), { recursive: true });
    await ensureMarker(root, 'folder');
    const sync = folderSync(root, deaf);
    const index = new FolderIndexRepository(localOf(db));
    try {
      await sync.syncNow();
      expect(index.get('folder', 'd3')).toMatchObject({ kind: 'dir', deleted: false });
      const settled = join(root, 'd3', 'settled.txt');
      await writeFile(settled, 'made before the watch');
      const past = new Date(Date.now() - 60_000);
      await utimes(settled, past, past);
      sync.kick({ hints: ['d3'] });
      await sync.whenIdle();
      expect(index.get('folder', 'd3/settled.txt')).toMatchObject({ deleted: false, need: false });

      // A file still too fresh to trust is looked at again a moment later, in the same place.
      await writeFile(join(root, 'd3', 'fresh.txt'), 'just written');
      sync.kick({ hints: ['d3'] });
      await vi.waitFor(() => {
        expect(index.get('folder', 'd3/fresh.txt')).toMatchObject({ deleted: false });
      }, 5000);

      // Seed 93431856 exactly: a new directory with a fresh file, the directory alone reported.
      // The first scan indexes the directory and finds the file still changing; its retry must
      // look inside the directory it has just indexed.
      await mkdir(join(root, 'd4'));
      await writeFile(join(root, 'd4', 'only.txt'), 'the only file of d4');
      sync.kick({ hints: ['d4'] });
      await vi.waitFor(() => {
        expect(index.get('folder', 'd4/only.txt')).toMatchObject({ deleted: false });
      }, 5000);
    } finally {
      await sync.close();
    }
  });
});

describe('block lists', () => {
  const blocksOf = (path: string): number =>
    (db.prepare('SELECT length(blocks) FROM folder_files WHERE path = ?').pluck().get(path) as
      number | null) ?? 0;

  it('a scan indexes a large file by its hash only; its list is made when first asked, and kept', async () => {
    const root = join(base, 'folder');
    await mkdir(root);
    await ensureMarker(root, 'folder');
    const big = join(root, 'big.bin');
    await writeFile(big, randomBytes(3 * 1024 * 1024 + 5));
    await writeFile(join(root, 'small.txt'), 'small');
    const past = new Date(Date.now() - 60_000);
    for (const file of [big, join(root, 'small.txt')]) await utimes(file, past, past);
    const sync = folderSync(root);
    await sync.syncNow();

    const expected = await hashFile(big, { blockSize: 128 * 1024 });
    // Only the small file's list came from the scan (from the same read as its hash).
    expect(blocksOf('big.bin')).toBe(0);
    expect(blocksOf('small.txt')).toBe(32);

    const list = await sync.blocksFor(expected.hash);
    expect(list).toEqual({ blockSize: 128 * 1024, blocks: expected.blocks });
    expect(blocksOf('big.bin')).toBe(expected.blocks.length);
    expect(await sync.blocksFor(expected.hash)).toEqual(list);
    expect(await sync.blocksFor('f'.repeat(64))).toBe(null);
  });

  it('gives none for a large file changed since it was indexed (the peer fetches it whole)', async () => {
    const root = join(base, 'folder');
    await mkdir(root);
    await ensureMarker(root, 'folder');
    const big = join(root, 'big.bin');
    await writeFile(big, randomBytes(2 * 1024 * 1024));
    const past = new Date(Date.now() - 60_000);
    await utimes(big, past, past);
    const sync = folderSync(root);
    await sync.syncNow();
    const indexed = await hashFile(big);
    // Same size and times, other bytes: only a hash can tell.
    await writeFile(big, randomBytes(2 * 1024 * 1024));
    await utimes(big, past, past);
    expect(await sync.blocksFor(indexed.hash)).toBe(null);
    expect(blocksOf('big.bin')).toBe(0);
  });
});

describe('a paused folder', () => {
  it('resumes on its own once its root is back, without waiting for the next rescan', async () => {
    const root = join(base, 'folder');
    await mkdir(root);
    await ensureMarker(root, 'folder');
    // The default rescan (30 s) is far past this test's waits: only the paused folder's own
    // look at its root can resume it in time.
    const sync = folderSync(root, deaf);
    const index = new FolderIndexRepository(localOf(db));
    try {
      await sync.syncNow();
      await rename(root, `${root}.unmounted`);
      sync.onRemoteChange();
      await vi.waitFor(() => {
        expect(sync.state).toBe('paused');
      }, 5000);
      await rename(`${root}.unmounted`, root);
      await writeFile(join(root, 'while-away.txt'), 'written on the disk elsewhere');
      await vi.waitFor(() => {
        expect(index.get('folder', 'while-away.txt')).toMatchObject({ deleted: false });
      }, 8000);
      expect(sync.state).not.toBe('paused');
    } finally {
      await sync.close();
    }
  });
});

describe('a folder starting', () => {
  it('takes a peer change heard while it starts once started, not as a folder gone missing', async () => {
    // A node listens before its folders start, and peers push operations at once: the kick
    // found no marker yet (start makes it), took the folder for paused, and rescanned it in full
    // two seconds later, in the middle of the first sync (seen in `bench:folder`).
    const root = join(base, 'new-folder');
    await mkdir(root);
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const sync = folderSync(root, deaf, { log, holdUntilStarted: true });
    try {
      sync.onRemoteChange();
      await sync.start();
      await sync.whenIdle();
      expect(sync.state).toBe('idle');
      // A paused folder looks again after PAUSED_RECHECK_MS: nothing more may happen by then.
      await new Promise((resolve) => setTimeout(resolve, PAUSED_RECHECK_MS + 300));
      await sync.whenIdle();
      expect(lines.filter((line) => line.includes('"folder scanned"'))).toHaveLength(1);
    } finally {
      await sync.close();
    }
  });
});

describe('a folder’s scans in the log', () => {
  it('are at info for the first full scan and one that found changes, not for the 30 s ones that found nothing', async () => {
    const root = join(base, 'quiet-folder');
    await mkdir(root);
    await writeFile(join(root, 'a.txt'), 'a');
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const sync = folderSync(root, deaf, { log });
    const scans = () => lines.filter((line) => line.includes('"folder scanned"')).length;
    try {
      await sync.start();
      await sync.whenIdle();
      expect(scans()).toBe(1);
      for (let i = 0; i < 3; i++) {
        sync.kick({ scan: true });
        await sync.whenIdle();
      }
      expect(scans()).toBe(1);
      await writeFile(join(root, 'b.txt'), 'b');
      await utimes(join(root, 'b.txt'), new Date(Date.now() - 5000), new Date(Date.now() - 5000));
      sync.kick({ scan: true });
      await vi.waitFor(() => {
        expect(scans()).toBe(2);
      }, 5000);
    } finally {
      await sync.close();
    }
  });
});

describe('a folder whose root is not there at start', () => {
  it('does not take an empty directory in place of a folder indexed here (an unmounted disk)', async () => {
    const root = join(base, 'mounted');
    await mkdir(root);
    await ensureMarker(root, 'folder');
    const file = join(root, 'a.txt');
    await writeFile(file, 'on the disk');
    await utimes(file, new Date(Date.now() - 5000), new Date(Date.now() - 5000));
    const index = new FolderIndexRepository(localOf(db));
    const first = folderSync(root, deaf);
    await first.syncNow();
    await first.close();
    expect(index.get('folder', 'a.txt')).toMatchObject({ deleted: false });
    // The disk is not mounted at the next start: its mount point is an empty directory.
    await rename(root, `${root}.away`);
    await mkdir(root);
    const second = folderSync(root, deaf);
    try {
      await second.start();
      await second.whenIdle();
      expect(second.state).toBe('paused');
      expect(existsSync(markerPath(root))).toBe(false);
      expect(index.get('folder', 'a.txt')).toMatchObject({ deleted: false });
    } finally {
      await second.close();
    }
  });

  it('starts once the directory is made, when nothing was ever on this disk', async () => {
    const root = join(base, 'made-later');
    const index = new FolderIndexRepository(localOf(db));
    const sync = folderSync(root, deaf);
    try {
      await sync.start();
      expect(sync.state).toBe('paused');
      await mkdir(root);
      await writeFile(join(root, 'first.txt'), 'hello');
      await utimes(
        join(root, 'first.txt'),
        new Date(Date.now() - 5000),
        new Date(Date.now() - 5000),
      );
      await vi.waitFor(() => {
        expect(index.get('folder', 'first.txt')).toMatchObject({ deleted: false });
      }, 8000);
      expect(sync.state).not.toBe('paused');
      expect(existsSync(markerPath(root))).toBe(true);
    } finally {
      await sync.close();
    }
  });
});
