import { localOf } from './testing.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../db/database.js';
import { MIGRATIONS } from '../db/migrations.js';
import { FolderIndexRepository, type FolderFileRow } from './folder-index.repository.js';

let dir: string;
let db: Db;
let index: FolderIndexRepository;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-index-'));
  db = openDatabase(join(dir, 'mosaic.db'));
  index = new FolderIndexRepository(localOf(db));
});
afterEach(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

function fileRow(path: string, extra: Partial<FolderFileRow> = {}): FolderFileRow {
  return {
    folder: 'photos',
    path,
    kind: 'file',
    deleted: false,
    hash: 'a'.repeat(64),
    size: 10,
    mtimeMs: 1_700_000_000_123,
    blockSize: 128 * 1024,
    blocks: Buffer.alloc(32, 7),
    vv: { n1: 2, n2: 1 },
    hlc: '0001700000000123-0000-n1',
    origin: 'n1',
    originName: 'home',
    need: false,
    localSize: 10,
    localMtimeMs: 1_700_000_000_123,
    localInode: 4242,
    localHash: 'a'.repeat(64),
    localVv: null,
    ...extra,
  };
}

describe('folder index', () => {
  it('is migration 3, and the schema is at the latest version', () => {
    expect(MIGRATIONS.length).toBeGreaterThanOrEqual(3);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    const indexes = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'folder_files'")
      .pluck()
      .all();
    expect(indexes).toEqual(
      expect.arrayContaining(['folder_files_by_hash', 'folder_files_needed']) as unknown,
    );
  });

  it('stores rows and reads them back as they were, and replaces them on upsert', () => {
    const row = fileRow('a/b.jpg');
    index.upsertMany([row, fileRow('a', { kind: 'dir', hash: null, blocks: null, size: 0 })]);
    expect(index.get('photos', 'a/b.jpg')).toEqual(row);
    expect(index.get('other', 'a/b.jpg')).toBeUndefined();

    const gone = fileRow('a/b.jpg', {
      deleted: true,
      hash: null,
      blocks: null,
      localSize: null,
      localMtimeMs: null,
      localInode: null,
      vv: { n1: 3, n2: 1 },
    });
    index.upsertMany([gone]);
    expect(index.get('photos', 'a/b.jpg')).toEqual(gone);
  });

  it('rejects what the schema forbids', () => {
    expect(() => {
      index.upsertMany([fileRow('x', { kind: 'link' as 'file' })]);
    }).toThrow(/CHECK/);
  });

  it('writes a batch in one transaction: all or nothing', () => {
    const rows = [fileRow('1'), fileRow('2'), fileRow('3', { kind: 'bad' as 'file' })];
    expect(() => {
      index.upsertMany(rows);
    }).toThrow();
    expect(index.get('photos', '1')).toBeUndefined();
  });

  it('finds a local copy of some content, and only one that is on disk', () => {
    const hash = 'b'.repeat(64);
    index.upsertMany([
      fileRow('needed', { hash, need: true, localHash: null }),
      fileRow('gone', { hash, deleted: true, localHash: null }),
      fileRow('never-written', {
        hash,
        localSize: null,
        localMtimeMs: null,
        localInode: null,
        localHash: null,
      }),
      fileRow('elsewhere', { hash, folder: 'docs', localHash: hash }),
    ]);
    expect(index.copies.findByHash('photos', hash)).toBeUndefined();
    index.upsertMany([fileRow('here.jpg', { hash, localHash: hash })]);
    expect(index.copies.findByHash('photos', hash)?.path).toBe('here.jpg');
  });

  it('says which of many contents this node holds on disk or in its trash, in one query', () => {
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => x.repeat(64)) as [
      string,
      string,
      string,
      string,
    ];
    index.upsertMany([
      fileRow('here', { hash: a, localHash: a }),
      // Indexed but not on disk here (still needed): not held.
      fileRow('wanted', { hash: b, localHash: null, need: true }),
      fileRow('other-folder', { folder: 'docs', hash: c, localHash: c }),
    ]);
    index.trash.record('photos', [{ hash: d, file: '/x/.mosaic/trash/1/old' }], [], Date.now());
    expect([...index.copies.heldHashes('photos', [a, b, c, d])].sort()).toEqual([a, d]);
    expect(index.copies.heldHashes('photos', []).size).toBe(0);
  });

  it('locates the disk copies of many contents in one query, as one query per content does', () => {
    const [a, b, c, e] = ['a', 'b', 'c', 'e'].map((x) => x.repeat(64)) as [
      string,
      string,
      string,
      string,
    ];
    index.upsertMany([
      // Six paths with the same content (empty files, say): at most `limit` of them.
      ...[1, 2, 3, 4, 5, 6].map((i) => fileRow(`same${i}`, { hash: a, localHash: a })),
      fileRow('b1', { hash: b, localHash: b, localSize: 7, localMtimeMs: 5 }),
      fileRow('wanted', { hash: c, localHash: null, need: true }),
      fileRow('other-folder', { folder: 'docs', hash: e, localHash: e }),
    ]);
    const batch = index.copies.diskCopiesOf('photos', [a, b, c, e, 'f'.repeat(64)], 4);
    expect([...batch.keys()].sort()).toEqual([a, b]);
    expect(batch.get(a)).toHaveLength(4);
    expect(batch.get(b)).toEqual([{ path: 'b1', localSize: 7, localMtimeMs: 5 }]);
    for (const hash of [a, b]) {
      const single = index.copies.diskCopies('photos', hash, 10).map((copy) => copy.path);
      for (const copy of batch.get(hash) ?? []) expect(single).toContain(copy.path);
    }
    expect(index.copies.diskCopiesOf('photos', [], 4).size).toBe(0);
  });

  it('reads the rows of many paths in one query, as `get` reads each, by the primary key', () => {
    index.upsertMany([
      fileRow('a.txt'),
      fileRow('dir/b.txt', { deleted: true, localSize: null }),
      fileRow('caf\u00e9/\u{1f600}.jpg', { need: true }),
      fileRow('a.txt', { folder: 'docs' }),
    ]);
    const paths = ['a.txt', 'dir/b.txt', 'caf\u00e9/\u{1f600}.jpg', 'missing', 'cafe\u0301/x'];
    const many = index.getMany('photos', paths);
    expect([...many.keys()].sort()).toEqual(['a.txt', 'caf\u00e9/\u{1f600}.jpg', 'dir/b.txt']);
    for (const path of paths) expect(many.get(path)).toEqual(index.get('photos', path));
    expect(index.getMany('docs', ['a.txt']).get('a.txt')?.folder).toBe('docs');
    expect(index.getMany('photos', []).size).toBe(0);
    // Each path found through the primary key's index, not by a scan of the folder's rows.
    const plan = db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT * FROM folder_files
         WHERE folder = ? AND path IN (SELECT value FROM json_each(?))`,
      )
      .all('photos', '[]') as { detail: string }[];
    expect(plan.map((step) => step.detail).join('; ')).toMatch(
      /SEARCH folder_files USING (PRIMARY KEY|INDEX sqlite_autoindex_folder_files_1) \(folder=\? AND path=\?\)/,
    );
  });

  it('iterates and pages in UTF-8 byte order, one folder at a time', () => {
    const paths = ['b', 'a/x', 'a.txt', 'a', '😀', '\uff01', 'a0'];
    index.upsertMany(paths.map((p) => fileRow(p)));
    index.upsertMany([fileRow('zzz', { folder: 'docs' })]);
    const expected = ['a', 'a.txt', 'a/x', 'a0', 'b', '\uff01', '😀'];
    expect([...index.iterate('photos')].map((r) => r.path)).toEqual(expected);
    expect(index.page('photos', '', 3).map((r) => r.path)).toEqual(expected.slice(0, 3));
    expect(index.page('photos', 'a/x', 3).map((r) => r.path)).toEqual(expected.slice(3, 6));
    // Below a directory only: after 'a/', before 'a0' ('/' raised by one).
    expect(index.page('photos', 'a/', 10, 'a0').map((r) => r.path)).toEqual(['a/x']);
  });

  it("pages carry what a scan reads of each path, and the same values as the row's", () => {
    index.upsertMany([
      fileRow('a', { need: true, localSize: 12, localMtimeMs: 34, localInode: 56 }),
      fileRow('d', { kind: 'dir', hash: null, blocks: null, deleted: true }),
    ]);
    const [file, dir] = index.page('photos', '', 10);
    const full = index.get('photos', 'a');
    expect(file).toEqual({
      path: 'a',
      kind: 'file',
      deleted: false,
      need: true,
      blockSize: full?.blockSize,
      localSize: 12,
      localMtimeMs: 34,
      localInode: 56,
      heldFile: true,
    });
    expect(dir).toMatchObject({ path: 'd', kind: 'dir', deleted: true, need: false });
    // Not the version vectors, hashes and block lists: at 100 000 files a rescan reads them all.
    expect(Object.keys(file ?? {})).not.toContain('vv');
  });

  it('counts live files, directories and bytes, and what is still needed', () => {
    index.upsertMany([
      fileRow('a', { size: 100 }),
      fileRow('b', { size: 50, need: true }),
      fileRow('c', { size: 7, deleted: true }),
      fileRow('d', { kind: 'dir', size: 0, hash: null, blocks: null }),
      fileRow('e', { size: 1000, folder: 'docs' }),
    ]);
    expect(index.countAndBytes('photos')).toEqual({
      files: 2,
      dirs: 1,
      bytes: 150,
      needFiles: 1,
      needBytes: 50,
    });
    expect(index.countAndBytes('empty')).toEqual({
      files: 0,
      dirs: 0,
      bytes: 0,
      needFiles: 0,
      needBytes: 0,
    });
  });

  it('counts again after every change: its own writes, a rollback, another connection', () => {
    index.upsertMany([fileRow('a'), fileRow('x.sync-conflict-20260101-000000-n1-00000000')]);
    expect(index.countAndBytes('photos').files).toBe(2);
    expect(index.conflictCandidates('photos')).toHaveLength(1);
    // Asked again with nothing changed: the same answer (kept), not shared with the caller.
    (index.countAndBytes('photos') as { files: number }).files = 99;
    expect(index.countAndBytes('photos').files).toBe(2);
    index.upsertMany([fileRow('b')]);
    expect(index.countAndBytes('photos').files).toBe(3);
    // Read inside a transaction that is rolled back: never kept.
    expect(() =>
      db.transaction(() => {
        index.upsertMany([fileRow('c'), fileRow('y.sync-conflict-20260101-000000-n1-00000001')]);
        expect(index.countAndBytes('photos').files).toBe(5);
        expect(index.conflictCandidates('photos')).toHaveLength(2);
        throw new Error('rolled back');
      })(),
    ).toThrow('rolled back');
    expect(index.countAndBytes('photos').files).toBe(3);
    expect(index.conflictCandidates('photos')).toHaveLength(1);
    // Another connection to the same file (another process of the site) writes.
    const other = openDatabase(join(dir, 'mosaic.db'));
    try {
      new FolderIndexRepository(localOf(other)).upsertMany([fileRow('d')]);
    } finally {
      other.close();
    }
    expect(index.countAndBytes('photos').files).toBe(4);
  });

  it('lists needed rows in path order, a page at a time', () => {
    index.upsertMany(['d', 'a', 'c', 'b'].map((p) => fileRow(p, { need: p !== 'c' })));
    expect(index.needed('photos', 2).map((r) => r.path)).toEqual(['a', 'b']);
    expect(index.needed('photos', 2, 'b').map((r) => r.path)).toEqual(['d']);
  });

  it("records a scan's disk states for this node's new versions without replacing rows", () => {
    const hlc = '0001700000000999-0000-n1';
    const mine = { n1: 3, n2: 1 };
    // The op of each path was applied: its version is the path's current one (need set until
    // the disk state is recorded), except where a concurrent version won meanwhile.
    const applied = (path: string, extra: Partial<FolderFileRow> = {}): FolderFileRow =>
      fileRow(path, {
        hash: 'b'.repeat(64),
        hlc,
        vv: mine,
        need: true,
        blockSize: 0,
        blocks: null,
        ...extra,
      });
    const lost = { hash: 'c'.repeat(64), hlc: '0001700000001000-0000-n2', vv: { n1: 2, n2: 2 } };
    index.upsertMany([applied('mine'), applied('lost', lost)]);
    const found = (path: string, version: Partial<FolderFileRow> = {}) => ({
      version: {
        folder: 'photos',
        path,
        kind: 'file' as const,
        deleted: false,
        hash: 'b'.repeat(64),
        hlc,
        vv: mine,
        blockSize: 128 * 1024,
        blocks: Buffer.alloc(32, 9),
        ...version,
      },
      localSize: 20,
      localMtimeMs: 1_700_000_000_999,
      localInode: 99,
      localHash: 'b'.repeat(64),
    });
    const needed = index.recordScannedStates([found('mine'), found('lost'), found('refused')]);
    // The concurrent version is current at `lost`: the disk must follow it.
    expect(needed).toBe(1);
    const disk = { localSize: 20, localMtimeMs: 1_700_000_000_999, localInode: 99 };
    expect(index.get('photos', 'mine')).toEqual(
      applied('mine', {
        ...disk,
        localHash: 'b'.repeat(64),
        localVv: mine,
        need: false,
        blockSize: 128 * 1024,
        blocks: Buffer.alloc(32, 9),
      }),
    );
    // The block list describes the scanned content, which is not the current version's there.
    expect(index.get('photos', 'lost')).toEqual(
      applied('lost', { ...lost, ...disk, localHash: 'b'.repeat(64), localVv: mine, need: true }),
    );
    // A path whose operation was refused has no row, and gets none.
    expect(index.get('photos', 'refused')).toBeUndefined();
    // A deletion found by the scan: no disk state left, nothing needed.
    index.upsertMany([applied('gone', { deleted: true, hash: null })]);
    const deletion = {
      ...found('gone', { deleted: true, hash: null, blockSize: 0, blocks: null }),
    };
    expect(
      index.recordScannedStates([
        { ...deletion, localSize: null, localMtimeMs: null, localInode: null, localHash: null },
      ]),
    ).toBe(0);
    expect(index.get('photos', 'gone')).toMatchObject({
      need: false,
      localInode: null,
      localHash: null,
      localVv: null,
    });
  });
});
