/**
 * The scanner tests' fixture (imported by `scanner*.test.ts` only): for each test, a folder
 * with its marker in a new temporary directory and a folder index on a real SQLite file, and a
 * `scan` that records every reported batch in that index, as the folder engine does.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { openDatabase, type Db } from '../db/database.js';
import { hashFile } from './blocks.js';
import { FolderIndexRepository, type FolderFileRow } from './folder-index.repository.js';
import { loadIgnore } from './ignore.js';
import { ensureMarker } from './marker.js';
import {
  scanFolder,
  type Hasher,
  type LocalChange,
  type ScanLog,
  type ScanOptions,
  type ScanResult,
} from './scanner.js';
import { localOf } from './testing.js';

export const FOLDER = 'f1';
export const posix = process.platform !== 'win32';

export interface Scanned {
  result: ScanResult;
  changes: LocalChange[];
  batchSizes: number[];
}

/** Fresh in each test: `useScanFixture` sets it up before and removes it after every test. */
export class ScanFixture {
  base!: string;
  root!: string;
  db!: Db;
  index!: FolderIndexRepository;
  warnings: { details: object; message: string }[] = [];
  /** The files hashed by the last `scan`. */
  hashCalls: string[] = [];

  private readonly log: ScanLog = {
    warn: (details, message) => {
      this.warnings.push({ details, message });
    },
  };

  private readonly countingHasher: Hasher = async (path, options) => {
    this.hashCalls.push(path);
    return hashFile(path, options);
  };

  async setUp(): Promise<void> {
    this.base = await mkdtemp(join(tmpdir(), 'mosaic-scan-'));
    this.root = join(this.base, 'folder');
    await mkdir(this.root);
    await ensureMarker(this.root, FOLDER);
    this.db = openDatabase(join(this.base, 'mosaic.db'));
    this.index = new FolderIndexRepository(localOf(this.db));
    this.warnings = [];
    this.hashCalls = [];
  }

  async tearDown(): Promise<void> {
    this.db.close();
    await rm(this.base, { recursive: true, force: true });
  }

  /** `settleMs` is 0 unless given (undefined: the scanner's default). */
  async scan(
    options: Partial<Omit<ScanOptions, 'settleMs'>> & { settleMs?: number | undefined } = {},
  ): Promise<Scanned> {
    const changes: LocalChange[] = [];
    const batchSizes: number[] = [];
    this.hashCalls = [];
    const { settleMs, ...rest } = options;
    const result = await scanFolder({
      root: this.root,
      folder: FOLDER,
      index: this.index,
      isIgnored: await loadIgnore(this.root),
      log: this.log,
      hasher: this.countingHasher,
      onBatch: (batch) => {
        batchSizes.push(batch.length);
        changes.push(...batch);
        this.index.upsertMany(batch.map(rowFor));
      },
      ...rest,
      ...settle('settleMs' in options ? settleMs : 0),
    });
    return { result, changes, batchSizes };
  }

  /** Writes `content` (default: the path) at `path` under the root, making its directories. */
  async put(path: string, content = path): Promise<void> {
    const file = join(this.root, ...path.split('/'));
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, content);
  }
}

export function useScanFixture(): ScanFixture {
  const fixture = new ScanFixture();
  beforeEach(() => fixture.setUp());
  afterEach(() => fixture.tearDown());
  return fixture;
}

/** What the folder engine does with a batch, minus versions: record it in the index. */
export function rowFor(change: LocalChange): FolderFileRow {
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

export const summary = (changes: LocalChange[]): string[] =>
  changes.map((c) => `${c.deleted ? '-' : '+'}${c.kind === 'dir' ? 'd' : 'f'} ${c.path}`);

export const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

export function fileChange(path: string): LocalChange {
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

export function deletion(path: string): LocalChange {
  return { ...fileChange(path), deleted: true, hash: null, inode: null, blocks: null };
}

function settle(ms: number | undefined): { settleMs?: number } {
  return ms === undefined ? {} : { settleMs: ms };
}
