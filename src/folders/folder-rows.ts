/**
 * How rows of `folder_files` are read and written (FolderIndexRepository): the row types, the
 * columns, the mapping of a database row to a FolderFileRow and back, and the statement that
 * records a pull's disk states.
 */

export type FileKind = 'file' | 'dir';

/** Per-file version vector: node id → that node's counter for this path. */
export type FileVersionVector = Readonly<Record<string, number>>;

/**
 * One path of a synced folder as this node knows it. `hash`…`originName` describe the version
 * (what every node converges on); `need` says that version is not on disk here yet; `local*`
 * is what was on disk when the path was last indexed or written (all null when nothing is),
 * which is how the scanner tells an untouched file without reading it.
 */
export interface FolderFileRow {
  readonly folder: string;
  /** Relative, '/'-separated, NFC. */
  readonly path: string;
  readonly kind: FileKind;
  readonly deleted: boolean;
  /** SHA-256 hex of the content; null for directories and deletions. */
  readonly hash: string | null;
  readonly size: number;
  readonly mtimeMs: number;
  readonly blockSize: number;
  /** Concatenated 32-byte SHA-256 of each block (see blocks.ts). */
  readonly blocks: Buffer | null;
  readonly vv: FileVersionVector;
  readonly hlc: string | null;
  readonly origin: string | null;
  readonly originName: string | null;
  readonly need: boolean;
  readonly localSize: number | null;
  readonly localMtimeMs: number | null;
  readonly localInode: number | null;
  /** SHA-256 of the file on disk at this path now (null: nothing there, or a directory). */
  readonly localHash: string | null;
  /** Version vector of the version on disk here (what a local edit is based on). */
  readonly localVv: FileVersionVector | null;
}

/**
 * What a scan reads of each indexed path (`page`): enough to tell an untouched file without
 * reading it and to find what is gone. Eight columns, not the row's nineteen: at 100 000 files
 * every rescan reads them all, and each full row (two parsed version vectors, a block-list
 * Buffer, four strings) lived long enough to be promoted, about 90 MB of old space per scan
 * (docs/benchmarks.md, "Memory, third pass").
 */
export type ScanRow = Pick<
  FolderFileRow,
  'path' | 'kind' | 'deleted' | 'need' | 'blockSize' | 'localSize' | 'localMtimeMs' | 'localInode'
> & {
  /** The disk held a file here, not a directory (its local state has a hash). */
  readonly heldFile: boolean;
};

export interface FolderTotals {
  /** Live (not deleted) files and directories in the folder's index. */
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
  /** Of those, files whose current version is not on disk here yet. */
  readonly needFiles: number;
  readonly needBytes: number;
}

/** The columns of a ScanRow, in the order `scanRow` reads them. */
export const SCAN_COLUMNS =
  'path, kind, deleted, need, block_size, local_size, local_mtime_ms, local_inode, local_hash IS NOT NULL';

export type ScanDbRow = [
  string,
  FileKind,
  number,
  number,
  number,
  number | null,
  number | null,
  number | null,
  number,
];

export function scanRow(row: ScanDbRow): ScanRow {
  return {
    path: row[0],
    kind: row[1],
    deleted: row[2] === 1,
    need: row[3] === 1,
    blockSize: row[4],
    localSize: row[5],
    localMtimeMs: row[6],
    localInode: row[7],
    heldFile: row[8] === 1,
  };
}

export interface DbRow {
  folder: string;
  path: string;
  kind: FileKind;
  deleted: number;
  hash: string | null;
  size: number;
  mtime_ms: number;
  block_size: number;
  blocks: Buffer | null;
  vv: string;
  hlc: string | null;
  origin: string | null;
  origin_name: string | null;
  need: number;
  local_size: number | null;
  local_mtime_ms: number | null;
  local_inode: number | null;
  local_hash: string | null;
  local_vv: string | null;
}

export const COLUMNS = `folder, path, kind, deleted, hash, size, mtime_ms, block_size, blocks, vv, hlc,
  origin, origin_name, need, local_size, local_mtime_ms, local_inode, local_hash, local_vv`;

/** A path whose recorded disk state holds a content (`diskCopies`). */
export interface DiskCopy {
  readonly path: string;
  readonly localSize: number | null;
  readonly localMtimeMs: number | null;
}

/** A disk state a pull wrote for `row`'s version (`recordDiskStates`). */
export interface DiskRecord {
  readonly row: FolderFileRow;
  readonly localSize: number | null;
  readonly localMtimeMs: number | null;
  readonly localInode: number | null;
  readonly localHash: string | null;
}

/**
 * The disk state a scan found for one of this node's own new versions (`recordScannedStates`):
 * the version as logged, with the block list the scan made of that content.
 */
export interface ScannedState {
  readonly version: Pick<
    FolderFileRow,
    'folder' | 'path' | 'kind' | 'deleted' | 'hash' | 'hlc' | 'vv' | 'blockSize' | 'blocks'
  >;
  readonly localSize: number | null;
  readonly localMtimeMs: number | null;
  readonly localInode: number | null;
  readonly localHash: string | null;
}

/** Whether the path still has the version a disk state was written for. */
const SAME_VERSION = '(hlc IS @hlc AND hash IS @hash AND deleted = @deleted AND kind = @kind)';

/**
 * `recordDiskStates` for one path. Every SET expression reads the row as it was. `need` is
 * `diskDiffers` (folder-apply.ts) of the current version with the new disk state.
 */
export const DISK_STATE_UPDATE = `UPDATE folder_files SET
  local_size = @local_size, local_mtime_ms = @local_mtime_ms, local_inode = @local_inode,
  local_hash = @local_hash,
  local_vv = CASE WHEN ${SAME_VERSION} AND @local_vv IS NOT NULL THEN vv ELSE @local_vv END,
  block_size = CASE WHEN ${SAME_VERSION} THEN @block_size ELSE block_size END,
  blocks = CASE WHEN ${SAME_VERSION} THEN @blocks ELSE blocks END,
  need = CASE
    WHEN deleted = 1 THEN @local_inode IS NOT NULL
    WHEN kind = 'dir' THEN @local_inode IS NULL OR @local_hash IS NOT NULL
    ELSE @local_hash IS NOT hash
  END
  WHERE folder = @folder AND path = @path`;

/** DISK_STATE_UPDATE's parameters: the disk state `state`, found or written for `version`. */
export function diskStateParams(
  version: ScannedState['version'],
  state: Omit<ScannedState, 'version'>,
): Record<string, string | number | Buffer | null> {
  return {
    folder: version.folder,
    path: version.path,
    kind: version.kind,
    deleted: version.deleted ? 1 : 0,
    hash: version.hash,
    hlc: version.hlc,
    block_size: version.blockSize,
    blocks: version.blocks,
    local_size: state.localSize,
    local_mtime_ms: state.localMtimeMs,
    local_inode: state.localInode,
    local_hash: state.localHash,
    local_vv: state.localInode === null ? null : JSON.stringify(version.vv),
  };
}

export function fromDb(row: DbRow): FolderFileRow {
  return {
    folder: row.folder,
    path: row.path,
    kind: row.kind,
    deleted: row.deleted === 1,
    hash: row.hash,
    size: row.size,
    mtimeMs: row.mtime_ms,
    blockSize: row.block_size,
    blocks: row.blocks,
    vv: JSON.parse(row.vv) as FileVersionVector,
    hlc: row.hlc,
    origin: row.origin,
    originName: row.origin_name,
    need: row.need === 1,
    localSize: row.local_size,
    localMtimeMs: row.local_mtime_ms,
    localInode: row.local_inode,
    localHash: row.local_hash,
    localVv: row.local_vv === null ? null : (JSON.parse(row.local_vv) as FileVersionVector),
  };
}

export function toDb(row: FolderFileRow): DbRow {
  return {
    folder: row.folder,
    path: row.path,
    kind: row.kind,
    deleted: row.deleted ? 1 : 0,
    hash: row.hash,
    size: row.size,
    mtime_ms: row.mtimeMs,
    block_size: row.blockSize,
    blocks: row.blocks,
    vv: JSON.stringify(row.vv),
    hlc: row.hlc,
    origin: row.origin,
    origin_name: row.originName,
    need: row.need ? 1 : 0,
    local_size: row.localSize,
    local_mtime_ms: row.localMtimeMs,
    local_inode: row.localInode,
    local_hash: row.localHash,
    local_vv: row.localVv === null ? null : JSON.stringify(row.localVv),
  };
}
