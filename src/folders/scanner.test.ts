import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { mkdirSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ensureMarker } from './marker.js';
import { childPath } from './paths.js';
import {
  FOLDER,
  deletion,
  fileChange,
  posix,
  rowFor,
  sha,
  summary,
  useScanFixture,
} from './scanner.testing.js';

// What a scan reports; when it stops, refuses or waits: scanner.stops.test.ts.
const t = useScanFixture();

describe('scanFolder', () => {
  it('reports a new tree: files, nested and empty directories, empty files — nothing else', async () => {
    await t.put('a/b/c/deep.txt', 'deep');
    await t.put('a/top.txt');
    await t.put('empty-file.txt', '');
    await mkdir(join(t.root, 'empty-dir'));
    await mkdir(join(t.root, 'a/empty-inside'));
    await t.put('notes.tmp');
    await t.put('.mosaicignore', '*.tmp\n');
    if (posix) {
      await symlink(join(t.root, 'a/top.txt'), join(t.root, 'link-to-top'));
      execFileSync('mkfifo', [join(t.root, 'a/pipe')]);
    }

    const { result, changes } = await t.scan();

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
      expect(t.warnings.map((w) => (w.details as { path: string }).path).sort()).toEqual([
        'a/pipe',
        'link-to-top',
      ]);
      expect(result.skipped).toBe(2);
    }
    expect(result).toMatchObject({ files: 4, dirs: 5, hashed: 4, changed: 9, deleted: 0 });
  });

  it('hashes nothing and reports nothing when nothing changed', async () => {
    for (let i = 0; i < 20; i++) await t.put(`d${i % 4}/f${i}.txt`);
    await mkdir(join(t.root, 'empty'));
    const first = await t.scan({ log: pino({ level: 'silent' }) }); // a pino logger fits
    expect(first.result.hashed).toBe(20);

    const again = await t.scan();
    expect(again.changes).toEqual([]);
    expect(t.hashCalls).toEqual([]);
    expect(again.batchSizes).toEqual([]);
    expect(again.result).toMatchObject({ files: 20, dirs: 5, hashed: 0, stillChanging: 0 });
  });

  it('scans one directory (a watcher hint): its entries and new subtrees, nothing elsewhere', async () => {
    await t.put('a/known/old.txt');
    await t.put('a/keep.txt');
    await t.put('b/other.txt');
    await t.scan();

    await t.put('a/known/unseen.txt'); // below a known directory: not this scan's job
    await t.put('b/elsewhere.txt'); // another directory: neither
    await t.put('a/fresh/x/y.txt'); // a new directory: walked entirely
    await t.put('a/new.txt');
    await rm(join(t.root, 'a/keep.txt'));

    const { changes, result } = await t.scan({ under: 'a', shallow: true });
    expect(summary(changes)).toEqual([
      '+d a/fresh',
      '+d a/fresh/x',
      '+f a/fresh/x/y.txt',
      '-f a/keep.txt',
      '+f a/new.txt',
    ]);
    expect(result.hashed).toBe(2);

    // A directory removed with its contents: judged from the directory that held it.
    await rm(join(t.root, 'a/fresh'), { recursive: true });
    expect(summary((await t.scan({ under: 'a', shallow: true })).changes)).toEqual([
      '-d a/fresh',
      '-d a/fresh/x',
      '-f a/fresh/x/y.txt',
    ]);
    // A known directory named by a hint itself is listed (and only it: not b).
    expect(
      summary(
        (await t.scan({ under: 'a', shallow: true, lookInside: new Set(['a/known']) })).changes,
      ),
    ).toEqual(['+f a/known/unseen.txt']);
    // The full scan still finds what the hinted ones left.
    expect(summary((await t.scan()).changes)).toEqual(['+f b/elsewhere.txt']);
  });

  it('re-hashes a modified file, and only that one', async () => {
    await t.put('a.txt', 'one');
    await t.put('b.txt', 'two');
    await t.scan();
    await writeFile(join(t.root, 'a.txt'), 'ONE'); // same size
    const later = new Date(Date.now() + 5000);
    await utimes(join(t.root, 'a.txt'), later, later);

    const { changes } = await t.scan();
    expect(t.hashCalls).toEqual([join(t.root, 'a.txt')]);
    expect(changes).toEqual([expect.objectContaining({ path: 'a.txt', hash: sha('ONE') })]);
    expect((await t.scan()).changes).toEqual([]);
  });

  it('reports deleted files and directories, once', async () => {
    await t.put('keep.txt');
    await t.put('gone.txt');
    await t.put('dir/x/y.txt');
    await t.put('dir/z.txt');
    await t.scan();
    await rm(join(t.root, 'gone.txt'));
    await rm(join(t.root, 'dir'), { recursive: true });

    const { changes, result } = await t.scan();
    expect(summary(changes)).toEqual([
      '-d dir',
      '-d dir/x',
      '-f dir/x/y.txt',
      '-f dir/z.txt',
      '-f gone.txt',
    ]);
    expect(result.deleted).toBe(5);
    expect((await t.scan()).changes).toEqual([]);
  });

  it('sees a directory turned into a file, and a file into a directory', async () => {
    await t.put('p/inner.txt');
    await t.put('q');
    await t.scan();
    await rm(join(t.root, 'p'), { recursive: true });
    await t.put('p', 'now a file');
    await rm(join(t.root, 'q'));
    await t.put('q/inside.txt');

    const { changes } = await t.scan();
    expect(summary(changes)).toEqual(['+f p', '-f p/inner.txt', '+d q', '+f q/inside.txt']);
  });

  it('does not report what is deleted or still needed in the index', async () => {
    t.index.upsertMany([
      rowFor({ ...deletion('tomb.txt'), deleted: true }),
      { ...rowFor(fileChange('remote.txt')), need: true, localSize: null, localInode: null },
    ]);
    const { changes } = await t.scan();
    expect(changes).toEqual([]);
  });

  it('judges nothing below an ignored directory or one replaced by a symbolic link', async () => {
    await t.put('cache/big.bin');
    await t.put('photos/a.jpg');
    await t.scan();
    await t.put('.mosaicignore', 'cache/\n');
    if (posix) {
      await rename(join(t.root, 'photos'), join(t.base, 'photos-moved'));
      await symlink(join(t.base, 'photos-moved'), join(t.root, 'photos'));
    }

    const { changes } = await t.scan();
    expect(summary(changes)).toEqual(['+f .mosaicignore']);
  });

  it("never reports a '.mosaic' directory below the top (a copied folder's or device's own)", async () => {
    await t.put('sub/.mosaic/device.db');
    await t.put('sub/.mosaic/trash/old.txt');
    await t.put('sub/a.txt');
    const { changes } = await t.scan();
    expect(summary(changes)).toEqual(['+d sub', '+f sub/a.txt']);
  });

  it('indexes names in NFC, and opens them by their name on disk', async () => {
    const nfd = 'Cafe\u0301';
    await t.put(`${nfd}/r\u00e9sum\u0065\u0301.txt`, 'x');
    const { changes } = await t.scan();
    expect(changes.map((c) => c.path)).toEqual(['Caf\u00e9', 'Caf\u00e9/r\u00e9sum\u00e9.txt']);
    expect((await t.scan()).changes).toEqual([]);
  });

  it('reports a batch once its files hold batchBytes, not only every batchSize files', async () => {
    // Five files of 40 bytes with batches of 100 bytes: 3, then 2 (a folder of photos is offered
    // to peers a few files at a time while the rest is still hashed).
    for (const name of ['p1', 'p2', 'p3', 'p4', 'p5']) await t.put(name, name.repeat(20));
    const { batchSizes, changes } = await t.scan({ batchBytes: 100 });
    expect(batchSizes).toEqual([3, 2]);
    expect(changes.map((c) => c.path)).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
  });

  it("reports a scan's first files early: batches of 100, then twice as many each, up to batchSize", async () => {
    // A new folder's first operations reach the peers once 100 files are hashed, not batchSize.
    for (let d = 0; d < 10; d++) {
      await mkdir(join(t.root, `d${d}`));
      for (let i = 0; i < 100; i++) writeFileSync(join(t.root, `d${d}`, `f${i}`), `${d}.${i}`);
    }
    const { batchSizes } = await t.scan({ batchSize: 300 });
    // 1 010 changes (10 directories, 1 000 files).
    expect(batchSizes).toEqual([100, 200, 300, 300, 110]);
    // Smaller batches than that stay as asked.
    await t.put('d0/new', 'x');
    await t.put('d1/new', 'y');
    await t.put('d2/new', 'z');
    expect((await t.scan({ batchSize: 2 })).batchSizes).toEqual([2, 1]);
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
          await rm(t.root, { recursive: true, force: true });
          await mkdir(t.root);
          await ensureMarker(t.root, FOLDER);
          t.db.prepare('DELETE FROM folder_files').run();
          run++;
          // A path cannot be both a file and a directory: drop files that others go through.
          const files = wanted.filter((p) => !wanted.some((q) => q.startsWith(`${p}/`)));
          for (const f of files) await t.put(f, `${f} ${run}`);
          const dirs = new Set(
            files.flatMap((f) =>
              f
                .split('/')
                .slice(0, -1)
                .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
            ),
          );

          const first = await t.scan(small);
          expect(new Set(first.changes.map((c) => c.path))).toEqual(new Set([...files, ...dirs]));
          expect(first.changes.every((c) => !c.deleted)).toBe(true);

          const removed = [
            ...new Set(picks.map((p) => files[p % Math.max(1, files.length)])),
          ].filter((f) => f !== undefined);
          for (const f of removed) await rm(join(t.root, ...f.split('/')));
          // New files between the old ones ('+' sorts before '/' and every name character).
          const places = ['', ...dirs];
          const added = [
            ...new Set(
              picks.map((p) => childPath(places[p % places.length] ?? '', `${names[p % 11]}+`)),
            ),
          ];
          for (const f of added) await t.put(f, 'new');
          await t.put('new/file', 'n');

          const second = await t.scan(small);
          const expected = [
            ...removed.map((f) => `-f ${f}`),
            ...added.map((f) => `+f ${f}`),
            '+d new',
            '+f new/file',
          ];
          expect(summary(second.changes).sort()).toEqual(expected.sort());
          expect((await t.scan(small)).changes).toEqual([]);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('scans 20 000 files in a few large batches, and rescans them without reading any', async () => {
    const bigBase = await mkdtemp(join(manyFilesTmp(), 'mosaic-scan-big-'));
    try {
      t.root = join(bigBase, 'folder');
      await mkdir(t.root);
      await ensureMarker(t.root, FOLDER);
      const fanout = 40;
      const perDir = 500;
      // Synchronous writes: the fastest way to make many small files (this is only the setup).
      for (let d = 0; d < fanout; d++) {
        mkdirSync(join(t.root, `dir${d}`));
        for (let i = 0; i < perDir; i++) writeFileSync(join(t.root, `dir${d}`, `f${i}`), `${i}`);
      }

      const first = await t.scan();
      expect(first.result).toMatchObject({ files: 20_000, dirs: fanout, hashed: 20_000 });
      // 20 040 changes: 100, 200, 400, 800, then 1000 per batch: 23 calls, so 23 transactions
      // — not 20 040.
      expect(first.batchSizes.slice(0, 6)).toEqual([100, 200, 400, 800, 1000, 1000]);
      expect(first.batchSizes.length).toBe(23);
      expect(t.index.countAndBytes(FOLDER)).toMatchObject({ files: 20_000, dirs: fanout });

      const again = await t.scan();
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
