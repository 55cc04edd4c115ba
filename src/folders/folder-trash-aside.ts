/**
 * Moving a file aside into a synced folder's trash (`.mosaic/trash/`) for FolderWriter: a fresh
 * trash path for it (`trashSlot`), the move with its check of what was moved (`moveAsideChecked`),
 * and the put-back of a local save moved aside by mistake because it raced the pull (`putBack`).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { conflictName, joinInside, trashName } from './core/index.js';
import { diskState } from './disk-state.js';
import type { FolderFileRow } from './folder-index.repository.js';
import type { FolderSyncDeps } from './folder-sync.js';
import { assertParentsInside } from './inside-folder.js';
import { linkNoReplace } from './link-no-replace.js';
import { folderTrashDir } from './marker.js';
import { matchesIndexed } from './write-records.js';

/** A fresh trash path for `path` (its directory made): `.mosaic/trash/<time>/<path>.<id>`. */
export async function trashSlot(root: string, path: string): Promise<string> {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const file = join(folderTrashDir(root), stamp, trashName(path, randomUUID().slice(0, 8)));
  await mkdir(dirname(file), { recursive: true });
  return file;
}

/**
 * Moves the row's file at `target` to `aside` (a `trashSlot`), then checks what was moved: true
 * if it is the indexed version; false if a save landed since the caller's check, which is then
 * put back (`putBack`) for the scan to make it a version.
 */
export async function moveAsideChecked(
  deps: FolderSyncDeps,
  row: FolderFileRow,
  target: string,
  aside: string,
): Promise<boolean> {
  // Never moves a file from outside the folder into its trash through a symlinked parent.
  assertParentsInside(deps.config.root, row.path, false);
  await rename(target, aside);
  if (matchesIndexed(row, await diskState(aside))) return true;
  await putBack(deps, row, aside, target);
  return false;
}

/**
 * A local save was moved aside by mistake: back to its path, never over a newer file (then it
 * stays beside it, under a conflict name, and becomes a version of its own at the next scan).
 */
export async function putBack(
  deps: FolderSyncDeps,
  row: FolderFileRow,
  aside: string,
  target: string,
): Promise<void> {
  const root = deps.config.root;
  assertParentsInside(root, row.path, false);
  if (await linkNoReplace(aside, target)) return;
  const copy = conflictName(row.path, Date.now(), deps.selfName, randomUUID().slice(0, 8));
  await rename(aside, joinInside(root, copy));
  deps.log.warn(
    { folder: deps.config.id, path: row.path, keptAs: copy },
    'a local save raced a pulled version and another save; kept beside it',
  );
}
