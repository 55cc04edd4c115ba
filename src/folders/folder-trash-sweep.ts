/** The expiry of a synced folder's trash (`.mosaic/trash/`), run with the periodic rescan. */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FolderSyncDeps } from './folder-sync.js';
import { folderTrashDir } from './marker.js';

/**
 * Removes trash older than the retention. Trash is kept in one directory per second of
 * deletion (`.mosaic/trash/YYYYMMDDTHHMMSS/`), so expiry is by directory name.
 */
export async function sweepFolderTrash(deps: FolderSyncDeps, now = Date.now()): Promise<number> {
  const dir = folderTrashDir(deps.config.root);
  const retention = deps.trashRetentionMs ?? 30 * 24 * 3600 * 1000;
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})$/.exec(name);
    if (!m) continue;
    const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const at = Date.UTC(y, mo - 1, d, h, mi, se);
    if (now - at < retention) continue;
    await rm(join(dir, name), { recursive: true, force: true });
    await deps.index.exclusive(() => {
      deps.index.trash.forgetUnder(deps.config.id, join(dir, name));
    });
    removed++;
  }
  return removed;
}
