/**
 * Folds a `file.put` operation into the folder index. Runs inside the transaction that logged
 * the operation (see oplog/apply.ts), so it only touches the database: what must happen on disk
 * is left as `need = 1` for the folder's puller (folder-sync.ts).
 *
 * The decision for one path is the pure rule in core/file-version.ts. A conflict's losing file
 * is recorded, on every node alike, as that same version arriving for its conflict-copy path;
 * its bytes come from wherever they are (this disk, this trash, or a peer).
 */
import type { FilePut } from '../oplog/op.js';
import { checkRelativePath, resolve, type FileVersion, type Resolution } from './core/index.js';
import type { FolderFileRow, FolderIndexRepository } from './folder-index.repository.js';

export type FileApplyResult = 'applied' | 'ignored' | 'refused';

export function applyFilePut(
  index: FolderIndexRepository,
  body: FilePut,
  meta: { hlc: string; origin: string; selfId: string },
): FileApplyResult {
  const check = checkRelativePath(body.path);
  // A path that would leave the folder is never applied (the op stays in the log, inert).
  if (!check.ok || check.path !== body.path) return 'refused';
  const remote: FileVersion = {
    kind: body.entry,
    deleted: body.deleted,
    hash: body.deleted || body.entry === 'dir' ? null : body.hash,
    size: body.size,
    mtimeMs: body.mtimeMs,
    vv: body.vv,
    hlc: meta.hlc,
    origin: meta.origin,
    originName: body.originName,
  };
  return install(index, body.folder, body.path, remote) ? 'applied' : 'ignored';
}

/** Records `remote` for a path if the rule says so; returns whether anything changed. */
function install(
  index: FolderIndexRepository,
  folder: string,
  path: string,
  remote: FileVersion,
): boolean {
  const row = index.get(folder, path);
  const local = row ? versionOf(row) : null;
  const resolution: Resolution = resolve(path, local, remote);
  let version: FileVersion;
  switch (resolution.action) {
    case 'ignore':
      return false;
    case 'take':
      version = remote;
      break;
    case 'merge':
      version = resolution.version;
      break;
    case 'conflict':
      version = resolution.winner;
      if (resolution.keepLoserAs !== null) {
        install(index, folder, resolution.keepLoserAs, resolution.loser);
      }
      break;
  }
  index.upsertMany([rowFor(folder, path, version, row)]);
  return true;
}

function versionOf(row: FolderFileRow): FileVersion | null {
  if (row.hlc === null || row.origin === null) return null;
  return {
    kind: row.kind,
    deleted: row.deleted,
    hash: row.hash,
    size: row.size,
    mtimeMs: row.mtimeMs,
    vv: row.vv,
    hlc: row.hlc,
    origin: row.origin,
    originName: row.originName ?? '',
  };
}

/** The new row: the version, with the disk state as it was; `need` says if they differ. */
function rowFor(
  folder: string,
  path: string,
  v: FileVersion,
  row: FolderFileRow | undefined,
): FolderFileRow {
  const next: FolderFileRow = {
    folder,
    path,
    kind: v.kind,
    deleted: v.deleted,
    hash: v.hash,
    size: v.size,
    mtimeMs: v.mtimeMs,
    blockSize: row?.blockSize ?? 0,
    blocks: row?.localHash === v.hash ? (row.blocks ?? null) : null,
    vv: v.vv,
    hlc: v.hlc,
    origin: v.origin,
    originName: v.originName,
    need: false,
    localSize: row?.localSize ?? null,
    localMtimeMs: row?.localMtimeMs ?? null,
    localInode: row?.localInode ?? null,
    localHash: row?.localHash ?? null,
    localVv: row?.localVv ?? null,
  };
  return { ...next, need: diskDiffers(next) };
}

/** Whether the disk (local* columns) does not hold the row's version yet. */
export function diskDiffers(row: FolderFileRow): boolean {
  const present = row.localInode !== null;
  if (row.deleted) return present;
  if (row.kind === 'dir') return !present || row.localHash !== null;
  return row.localHash !== row.hash;
}
