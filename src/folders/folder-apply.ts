/**
 * Folds a `file.put` operation into the folder index. Runs inside the transaction that logged
 * the operation (see oplog/apply.ts), so it only touches the database: what must happen on disk
 * is left as `need = 1` for the folder's puller (folder-sync.ts).
 *
 * The decision for one path is the pure rule in core/siblings.ts (the maximal versions of the
 * path, compared by core/file-version.ts's rank). A conflict's losing file
 * becomes a conflict copy through an operation of its own: `copies` are `file.put` bodies for the
 * copy paths, which the caller logs as this node's operations in the same transaction (see
 * ChangeLog). Only a node that sees both versions meet can decide the conflict, and a node that
 * receives a version dominating both first never does; the copy operation reaches it anyway, so
 * every node ends with the copy whatever the delivery order (issue 11, cause 1). The copy's
 * version is a pure function of the loser (its content, mtime, vector and node name), so the
 * copies several nodes make of one loser are the same version and merge without a conflict.
 * Its bytes come from wherever they are (this disk, this trash, or a peer).
 */
import type { FilePut } from '../oplog/op.js';
import {
  addVersion,
  checkRelativePath,
  compareVv,
  sameContent,
  type FileVersion,
} from './core/index.js';
import type { FolderFileRow, FolderIndexRepository } from './folder-index.repository.js';

export type FileApplyResult = 'applied' | 'ignored' | 'refused';

export interface FileApplyOutcome {
  readonly result: FileApplyResult;
  /** Conflict copies to log as this node's own operations (same transaction). */
  readonly copies: FilePut[];
}

export function applyFilePut(
  index: FolderIndexRepository,
  body: FilePut,
  meta: { hlc: string; origin: string; selfId: string },
): FileApplyOutcome {
  const check = checkRelativePath(body.path);
  // A path that would leave the folder is never applied (the op stays in the log, inert).
  if (!check.ok || check.path !== body.path) return { result: 'refused', copies: [] };
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
  const copies: FilePut[] = [];
  const applied = install(index, body.folder, body.path, remote, copies);
  return { result: applied ? 'applied' : 'ignored', copies };
}

/**
 * Adds `remote` to the path's siblings (core/siblings.ts) and records the resulting current
 * version; returns whether anything changed. Losing live siblings get conflict copies.
 */
function install(
  index: FolderIndexRepository,
  folder: string,
  path: string,
  remote: FileVersion,
  copies: FilePut[],
): boolean {
  const row = index.get(folder, path);
  const local = row ? versionOf(row) : null;
  const stored = index.versions.siblings(folder, path);
  const state = addVersion(path, stored ?? (local === null ? [] : [local]), remote);
  if (state === null) return false;
  // Siblings are stored only while there are several: a path that had none and still has one
  // maximal version (nearly every operation) has no row to write or delete.
  if (stored !== null || state.siblings.length > 1) {
    index.versions.setSiblings(folder, path, state.siblings);
  }
  for (const c of state.copies) {
    const copy = copyOf(index, folder, c.path, c.version);
    if (copy !== null) copies.push(copy);
  }
  index.upsert(rowFor(folder, path, state.current, row));
  return true;
}

/**
 * The operation that keeps `loser` at `copyPath`: the loser's content, mtime, vector and node
 * name, so the copies of one loser made by several nodes are one version (equal vectors, same
 * content: they merge). Null when the copy path already holds it, or a later edit of it.
 */
function copyOf(
  index: FolderIndexRepository,
  folder: string,
  copyPath: string,
  loser: FileVersion,
): FilePut | null {
  const row = index.get(folder, copyPath);
  const held = row ? versionOf(row) : null;
  if (held !== null) {
    const order = compareVv(loser.vv, held.vv);
    if (order === 'before' || (order === 'equal' && sameContent(held, loser))) return null;
  }
  return {
    kind: 'file.put',
    folder,
    path: copyPath,
    entry: 'file',
    deleted: false,
    hash: loser.hash,
    size: loser.size,
    mtimeMs: loser.mtimeMs,
    vv: loser.vv,
    originName: loser.originName,
  };
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
