/**
 * FolderIndexRepository.recordDiskStates (what a pull wrote, recorded in one UPDATE per path)
 * against the rule it replaced, written out here as it was in JavaScript (a row read back and
 * rebuilt per file): for any version the path has now, and any disk state written for any
 * version, the recorded row is the same.
 */
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../db/database.js';
import { diskDiffers } from './folder-apply.js';
import { FolderIndexRepository, type FolderFileRow } from './folder-index.repository.js';
import { localOf } from './testing.js';

let dir: string;
let db: Db;
let index: FolderIndexRepository;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-disk-states-'));
  db = openDatabase(join(dir, 'mosaic.db'));
  index = new FolderIndexRepository(localOf(db));
});
afterEach(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

interface Written {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

/** The rule as it was (WriteRecords.record, then onCurrentVersion at the flush). */
function reference(
  current: FolderFileRow | undefined,
  row: FolderFileRow,
  info: Written | null,
  hash: string | null,
): FolderFileRow {
  const recorded: FolderFileRow = {
    ...row,
    need: false,
    localSize: info && row.kind === 'file' ? info.size : info ? 0 : null,
    localMtimeMs: info ? Math.floor(info.mtimeMs) : null,
    localInode: info ? info.ino : null,
    localHash: hash,
    localVv: info ? row.vv : null,
  };
  if (current === undefined) return recorded;
  const same =
    current.hlc === recorded.hlc &&
    current.hash === recorded.hash &&
    current.deleted === recorded.deleted &&
    current.kind === recorded.kind;
  const disk: FolderFileRow = {
    ...current,
    ...(same ? { blockSize: recorded.blockSize, blocks: recorded.blocks } : {}),
    localSize: recorded.localSize,
    localMtimeMs: recorded.localMtimeMs,
    localInode: recorded.localInode,
    localHash: recorded.localHash,
    localVv: same && recorded.localVv !== null ? current.vv : recorded.localVv,
  };
  return { ...disk, need: diskDiffers(disk) };
}

const hashes = fc.constantFrom(null, 'a'.repeat(64), 'b'.repeat(64));
const version = fc.record({
  kind: fc.constantFrom('file' as const, 'dir' as const),
  deleted: fc.boolean(),
  hash: hashes,
  hlc: fc.constantFrom(null, '0001700000000123-0000-n1', '0001700000000999-0000-n2'),
  size: fc.nat(100),
  blockSize: fc.constantFrom(0, 131072),
  blocks: fc.option(fc.constantFrom(Buffer.alloc(32, 1), Buffer.alloc(64, 2)), { nil: null }),
  vv: fc.constantFrom({ n1: 1 }, { n1: 2, n2: 1 }, { n2: 3 }),
  need: fc.boolean(),
  localSize: fc.option(fc.nat(100), { nil: null }),
  localMtimeMs: fc.option(fc.nat(1000), { nil: null }),
  localInode: fc.option(fc.nat(1000), { nil: null }),
  localHash: hashes,
  localVv: fc.option(fc.constantFrom({ n1: 1 }, { n3: 1 }), { nil: null }),
});
const written = fc.option(
  fc.record({
    size: fc.nat(100),
    mtimeMs: fc.double({ min: 0, max: 1e12, noNaN: true }),
    ino: fc.nat(1e6),
  }),
  { nil: null },
);

describe('recordDiskStates', () => {
  it('records a written disk state as the row-by-row rule did, whatever version the path has now', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.option(version, { nil: undefined }),
        version,
        written,
        hashes,
        async (now, writtenFor, info, hash) => {
          const path = `d/f${n++}`;
          const common = { folder: 'photos', path, mtimeMs: 5, origin: 'n1', originName: 'home' };
          const current = now === undefined ? undefined : { ...now, ...common };
          const row = { ...writtenFor, ...common };
          if (current !== undefined) {
            await index.transaction(() => {
              index.upsertMany([current]);
            });
          }
          await index.transaction(() => {
            index.recordDiskStates([
              {
                row,
                localSize: info && row.kind === 'file' ? info.size : info ? 0 : null,
                localMtimeMs: info ? Math.floor(info.mtimeMs) : null,
                localInode: info ? info.ino : null,
                localHash: hash,
              },
            ]);
          });
          expect(index.get('photos', path)).toEqual(reference(current, row, info, hash));
        },
      ),
      { numRuns: 300 },
    );
  });
});
