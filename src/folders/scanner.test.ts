import { localOf } from './testing.js';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFile,
  mkdir,
  mkdtemp,
  rename,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { mkdirSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../db/database.js';
import { hashFile } from './blocks.js';
import { FolderIndexRepository, type FolderFileRow } from './folder-index.repository.js';
import { loadIgnore } from './ignore.js';
import { ensureMarker, markerPath } from './marker.js';
import { childPath } from './paths.js';
import {
  FolderMissingError,
  scanFolder,
  type Hasher,
  type LocalChange,
  type ScanLog,
  type ScanOptions,
  type ScanResult,
} from './scanner.js';

const FOLDER = 'f1';
const posix = process.platform !== 'win32';

let base: string;
let root: string;
let db: Db;
let index: FolderIndexRepository;
let warnings: { details: object; message: string }[];
let hashCalls: string[];

const log: ScanLog = {
  warn(details, message) {
    warnings.push({ details, message });
  },
};

const countingHasher: Hasher = async (path, options) => {
  hashCalls.push(path);
  return hashFile(path, options);
};

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'mosaic-scan-'));
  root = join(base, 'folder');
  await mkdir(root);
  await ensureMarker(root, FOLDER);
  db = openDatabase(join(base, 'mosaic.db'));
  index = new FolderIndexRepository(localOf(db));
  warnings = [];
  hashCalls = [];
});
afterEach(async () => {
  db.close();
  await rm(base, { recursive: true, force: true });
});

/** What the folder engine does with a batch, minus versions: record it in the index. */
function rowFor(change: LocalChange): FolderFileRow {
  return {
    folder: FOLDER,
    path: change.path,
    kind: change.kind,
    deleted: change.deleted,
    hash: change.hash,
    size: change.size,
    mtimeMs: change.mtimeMs,
    blockSize: change.blockSize,
    blocks: change.blocks,
    vv: {},
    hlc: null,
    origin: null,
    originName: null,
    need: false,
    localSize: change.deleted ? null : change.size,
    localMtimeMs: change.deleted ? null : change.mtimeMs,
    localInode: change.inode,
    localHash: change.deleted ? null : change.hash,
    localVv: null,
  };
}

interface Scanned {
  result: ScanResult;
  changes: LocalChange[];
  batchSizes: number[];
}

async function scan(options: Partial<ScanOptions> = {}): Promise<Scanned> {
  const changes: LocalChange[] = [];
  const batchSizes: number[] = [];
  hashCalls = [];
  const result = await scanFolder({
    root,
    folder: FOLDER,
    index,
    isIgnored: await loadIgnore(root),
    log,
    hasher: countingHasher,
    settleMs: 0,
    onBatch: (batch) => {
      batchSizes.push(batch.length);
      changes.push(...batch);
      index.upsertMany(batch.map(rowFor));
    },
    ...options,
  });
  return { result, changes, batchSizes };
}

const summary = (changes: LocalChange[]): string[] =>
  changes.map((c) => `${c.deleted ? '-' : '+'}${c.kind === 'dir' ? 'd' : 'f'} ${c.path}`);

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

async function put(path: string, content = path): Promise<void> {
  const file = join(root, ...path.split('/'));
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, content);
}

describe('scanFolder', () => {
  it('reports a new tree: files, nested and empty directories, empty files — nothing else', async () => {
    await put('a/b/c/deep.txt', 'deep');
    await put('a/top.txt');
    await put('empty-file.txt', '');
    await mkdir(join(root, 'empty-dir'));
    await mkdir(join(root, 'a/empty-inside'));
    await put('notes.tmp');
    await put('.mosaicignore', '*.tmp\n');
    if (posix) {
      await symlink(join(root, 'a/top.txt'), join(root, 'link-to-top'));
      execFileSync('mkfifo', [join(root, 'a/pipe')]);
    }

    const { result, changes } = await scan();

    expect(summary(changes)).toEqual([
      '+f .mosaicignore',
      '+d a',
      '+d a/b',
      '+d a/b/c',
      '+f a/b/c/deep.txt',
      '+d a/empty-inside',
      '+f a/top.txt',
      '+d empty-dir',
      '+f empty-file.txt',
    ]);
    const deep = changes.find((c) => c.path === 'a/b/c/deep.txt');
    expect(deep).toMatchObject({ hash: sha('deep'), size: 4, blockSize: 128 * 1024 });
    expect(deep?.blocks?.length).toBe(32);
    expect(changes.find((c) => c.path === 'empty-file.txt')).toMatchObject({
      hash: sha(''),
      size: 0,
    });
    expect(changes.find((c) => c.path === 'empty-dir')).toMatchObject({
      hash: null,
      blocks: null,
    });
    if (posix) {
      // One warning each (files are inspected concurrently: in no particular order).
      expect(warnings.map((w) => (w.details as { path: string }).path).sort()).toEqual([
        'a/pipe',
        'link-to-top',
      ]);
      expect(result.skipped).toBe(2);
    }
    expect(result).toMatchObject({ files: 4, dirs: 5, hashed: 4, changed: 9, deleted: 0 });
  });

  it('hashes nothing and reports nothing when nothing changed', async () => {
    for (let i = 0; i < 20; i++) await put(`d${i % 4}/f${i}.txt`);
    await mkdir(join(root, 'empty'));
    const first = await scan({ log: pino({ level: 'silent' }) }); // a pino logger fits
    expect(first.result.hashed).toBe(20);

    const again = await scan();
    expect(again.changes).toEqual([]);
    expect(hashCalls).toEqual([]);
    expect(again.batchSizes).toEqual([]);
    expect(again.result).toMatchObject({ files: 20, dirs: 5, hashed: 0, stillChanging: 0 });
  });

  it('scans one directory (a watcher hint): its entries and new subtrees, nothing elsewhere', async () => {
    await put('a/known/old.txt');
    await put('a/keep.txt');
    await put('b/other.txt');
    await scan();

    await put('a/known/unseen.txt'); // below a known directory: not this scan's job
    await put('b/elsewhere.txt'); // another directory: neither
    await put('a/fresh/x/y.txt'); // a new directory: walked entirely
    await put('a/new.txt');
    await rm(join(root, 'a/keep.txt'));

    const { changes, result } = await scan({ under: 'a', shallow: true });
    expect(summary(changes)).toEqual([
      '+d a/fresh',
      '+d a/fresh/x',
      '+f a/fresh/x/y.txt',
      '-f a/keep.txt',
      '+f a/new.txt',
    ]);
    expect(result.hashed).toBe(2);

    // A directory removed with its contents: judged from the directory that held it.
    await rm(join(root, 'a/fresh'), { recursive: true });
    expect(summary((await scan({ under: 'a', shallow: true })).changes)).toEqual([
      '-d a/fresh',
      '-d a/fresh/x',
      '-f a/fresh/x/y.txt',
    ]);
    // The full scan still finds what the hinted ones left.
    expect(summary((await scan()).changes)).toEqual([
      '+f a/known/unseen.txt',
      '+f b/elsewhere.txt',
    ]);
  });

  it('re-hashes a modified file, and only that one', async () => {
    await put('a.txt', 'one');
    await put('b.txt', 'two');
    await scan();
    await writeFile(join(root, 'a.txt'), 'ONE'); // same size
    const later = new Date(Date.now() + 5000);
    await utimes(join(root, 'a.txt'), later, later);

    const { changes } = await scan();
    expect(hashCalls).toEqual([join(root, 'a.txt')]);
    expect(changes).toEqual([expect.objectContaining({ path: 'a.txt', hash: sha('ONE') })]);
    expect((await scan()).changes).toEqual([]);
  });

  it('reports deleted files and directories, once', async () => {
    await put('keep.txt');
    await put('gone.txt');
    await put('dir/x/y.txt');
    await put('dir/z.txt');
    await scan();
    await rm(join(root, 'gone.txt'));
    await rm(join(root, 'dir'), { recursive: true });

    const { changes, result } = await scan();
    expect(summary(changes)).toEqual([
      '-d dir',
      '-d dir/x',
      '-f dir/x/y.txt',
      '-f dir/z.txt',
      '-f gone.txt',
    ]);
    expect(result.deleted).toBe(5);
    expect((await scan()).changes).toEqual([]);
  });

  it('sees a directory turned into a file, and a file into a directory', async () => {
    await put('p/inner.txt');
    await put('q');
    await scan();
    await rm(join(root, 'p'), { recursive: true });
    await put('p', 'now a file');
    await rm(join(root, 'q'));
    await put('q/inside.txt');

    const { changes } = await scan();
    expect(summary(changes)).toEqual(['+f p', '-f p/inner.txt', '+d q', '+f q/inside.txt']);
  });

  it('does not report what is deleted or still needed in the index', async () => {
    index.upsertMany([
      rowFor({ ...deletion('tomb.txt'), deleted: true }),
      { ...rowFor(fileChange('remote.txt')), need: true, localSize: null, localInode: null },
    ]);
    const { changes } = await scan();
    expect(changes).toEqual([]);
  });

  it('judges nothing below an ignored directory or one replaced by a symbolic link', async () => {
    await put('cache/big.bin');
    await put('photos/a.jpg');
    await scan();
    await put('.mosaicignore', 'cache/\n');
    if (posix) {
      await rename(join(root, 'photos'), join(base, 'photos-moved'));
      await symlink(join(base, 'photos-moved'), join(root, 'photos'));
    }

    const { changes } = await scan();
    expect(summary(changes)).toEqual(['+f .mosaicignore']);
  });

  it('throws FolderMissingError and reports nothing when the marker or the root is missing', async () => {
    await put('a.txt');
    await put('b/c.txt');
    await scan();
    await rm(join(root, 'a.txt'));
    await rm(join(root, 'b'), { recursive: true });
    await rm(markerPath(root));

    await expect(scan()).rejects.toBeInstanceOf(FolderMissingError);
    await expect(scan()).rejects.toMatchObject({ reason: 'marker-missing' });
    expect(index.get(FOLDER, 'a.txt')?.deleted).toBe(false);

    await rm(root, { recursive: true });
    await expect(scan()).rejects.toMatchObject({ reason: 'root-missing' });
  });

  it('refuses a directory that holds another folder', async () => {
    await writeFile(markerPath(root), JSON.stringify({ folderId: 'other', createdAt: 'x' }));
    await expect(scan()).rejects.toMatchObject({ reason: 'marker-mismatch' });
  });

  it('stops reporting as soon as the marker disappears mid-scan', async () => {
    for (let i = 0; i < 30; i++) await put(`f${String(i).padStart(2, '0')}`);
    const batches: number[] = [];
    await expect(
      scan({
        batchSize: 10,
        onBatch: async (batch) => {
          batches.push(batch.length);
          await rm(markerPath(root));
        },
      }),
    ).rejects.toBeInstanceOf(FolderMissingError);
    expect(batches).toEqual([10]);
  });

  it('leaves a file that changes while it is hashed for the next scan', async () => {
    await put('growing.log', 'start');
    const appending: Hasher = async (path, options) => {
      const result = await hashFile(path, options);
      await appendFile(path, ' more');
      return result;
    };
    const first = await scan({ hasher: appending });
    expect(first.changes).toEqual([]);
    expect(first.result.stillChanging).toBe(1);

    const second = await scan();
    expect(second.changes).toEqual([
      expect.objectContaining({ path: 'growing.log', hash: sha('start more') }),
    ]);
  });

  it('waits until a just-written file has settled (same-tick writes would go unseen)', async () => {
    await put('fresh.txt');
    const now = await scan({ settleMs: 60_000 });
    expect(now.changes).toEqual([]);
    expect(now.result.stillChanging).toBe(1);
    expect(hashCalls).toEqual([]);

    const past = new Date(Date.now() - 120_000);
    await utimes(join(root, 'fresh.txt'), past, past);
    const later = await scan({ settleMs: 60_000 });
    expect(summary(later.changes)).toEqual(['+f fresh.txt']);
  });

  it('indexes names in NFC, and opens them by their name on disk', async () => {
    const nfd = 'Cafe\u0301';
    await put(`${nfd}/r\u00e9sum\u0065\u0301.txt`, 'x');
    const { changes } = await scan();
    expect(changes.map((c) => c.path)).toEqual(['Caf\u00e9', 'Caf\u00e9/r\u00e9sum\u00e9.txt']);
    expect((await scan()).changes).toEqual([]);
  });

  it('finds exactly what was added and removed, whatever the names (index order = walk order)', async () => {
    // Tiny batches and index pages: the index changes (onBatch) while it is being paged through.
    const small = { batchSize: 2, indexPageSize: 3 };
    const names = ['a', 'a.txt', 'a-b', 'a b', 'a0', 'B', '\u00e9', '\uff01', '\ue000', '😀', '~'];
    const segment = fc.constantFrom(...names);
    const filePath = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(filePath, { maxLength: 25 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (wanted, picks) => {
          await rm(root, { recursive: true, force: true });
          await mkdir(root);
          await ensureMarker(root, FOLDER);
          db.prepare('DELETE FROM folder_files').run();
          run++;
          // A path cannot be both a file and a directory: drop files that others go through.
          const files = wanted.filter((p) => !wanted.some((q) => q.startsWith(`${p}/`)));
          for (const f of files) await put(f, `${f} ${run}`);
          const dirs = new Set(
            files.flatMap((f) =>
              f
                .split('/')
                .slice(0, -1)
                .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
            ),
          );

          const first = await scan(small);
          expect(new Set(first.changes.map((c) => c.path))).toEqual(new Set([...files, ...dirs]));
          expect(first.changes.every((c) => !c.deleted)).toBe(true);

          const removed = [
            ...new Set(picks.map((p) => files[p % Math.max(1, files.length)])),
          ].filter((f) => f !== undefined);
          for (const f of removed) await rm(join(root, ...f.split('/')));
          // New files between the old ones ('+' sorts before '/' and every name character).
          const places = ['', ...dirs];
          const added = [
            ...new Set(
              picks.map((p) => childPath(places[p % places.length] ?? '', `${names[p % 11]}+`)),
            ),
          ];
          for (const f of added) await put(f, 'new');
          await put('new/file', 'n');

          const second = await scan(small);
          const expected = [
            ...removed.map((f) => `-f ${f}`),
            ...added.map((f) => `+f ${f}`),
            '+d new',
            '+f new/file',
          ];
          expect(summary(second.changes).sort()).toEqual(expected.sort());
          expect((await scan(small)).changes).toEqual([]);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('scans 20 000 files in a few large batches, and rescans them without reading any', async () => {
    const bigBase = await mkdtemp(join(manyFilesTmp(), 'mosaic-scan-big-'));
    try {
      root = join(bigBase, 'folder');
      await mkdir(root);
      await ensureMarker(root, FOLDER);
      const fanout = 40;
      const perDir = 500;
      // Synchronous writes: the fastest way to make many small files (this is only the setup).
      for (let d = 0; d < fanout; d++) {
        mkdirSync(join(root, `dir${d}`));
        for (let i = 0; i < perDir; i++) writeFileSync(join(root, `dir${d}`, `f${i}`), `${i}`);
      }

      const first = await scan();
      expect(first.result).toMatchObject({ files: 20_000, dirs: fanout, hashed: 20_000 });
      // 20 040 changes, 1000 per batch: 21 calls, so 21 transactions — not 20 040.
      expect(first.batchSizes.length).toBe(21);
      expect(index.countAndBytes(FOLDER)).toMatchObject({ files: 20_000, dirs: fanout });

      const again = await scan();
      expect(again.result).toMatchObject({ files: 20_000, hashed: 0 });
      expect(again.batchSizes).toEqual([]);
    } finally {
      await rm(bigBase, { recursive: true, force: true });
    }
  }, 60_000);
});

/** tmpfs when it has room: creating 20 000 files on a busy disk alone can take half a minute. */
function manyFilesTmp(): string {
  try {
    const fs = statfsSync('/dev/shm');
    return fs.bavail * fs.bsize > 512 * 1024 * 1024 ? '/dev/shm' : tmpdir();
  } catch {
    return tmpdir();
  }
}

function fileChange(path: string): LocalChange {
  return {
    path,
    kind: 'file',
    deleted: false,
    hash: sha(path),
    size: path.length,
    mtimeMs: 1,
    inode: 1,
    blockSize: 128 * 1024,
    blocks: Buffer.alloc(32),
  };
}

function deletion(path: string): LocalChange {
  return { ...fileChange(path), deleted: true, hash: null, inode: null, blocks: null };
}
