/**
 * Which directories `mosaic sync DIR` refuses (sync.run.ts), before anything is made: a node's
 * synced folder, and a directory inside or around one that `mosaic sync` already keeps in
 * sync. Syncing one of those re-versioned every file, and the nested case copied the folder
 * one level deeper on each run.
 */
import { access, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DEVICE_DB } from '../devices/device-db.js';
import { MOSAIC_DIR } from '../folders/ignore.js';
import { MARKER_FILE } from '../folders/marker.js';

/** Directories below DIR looked at for another device's database; more are not walked. */
const BELOW_BUDGET = 2000;

/** Why `dir` (absolute) may not be synced, in one sentence; null when it may. */
export async function refusedSyncDir(dir: string): Promise<string | null> {
  // A device's DIR has a marker too, beside its database: a marker alone is a node's folder.
  const marker = join(dir, MOSAIC_DIR, MARKER_FILE);
  if ((await exists(marker)) && !(await exists(join(dir, MOSAIC_DIR, DEVICE_DB)))) {
    return `${dir} is a node's synced folder (${marker}): sync it from that node, not with mosaic sync.`;
  }
  for (let parent = dirname(dir); ; parent = dirname(parent)) {
    if (await exists(join(parent, MOSAIC_DIR, DEVICE_DB))) {
      return `${dir} is inside ${parent}, which mosaic sync already keeps in sync: sync ${parent}, or move ${dir} out.`;
    }
    if (await exists(join(parent, MOSAIC_DIR, MARKER_FILE))) {
      return `${dir} is inside ${parent}, a node's synced folder: sync it from that node, not with mosaic sync.`;
    }
    if (dirname(parent) === parent) break;
  }
  const below = await deviceBelow(dir);
  if (below !== null) {
    return `${dir} holds ${below}, already synced (its ${MOSAIC_DIR}/): sync one of them only.`;
  }
  return null;
}

/**
 * A directory below `dir` holding a device's database or a node's marker, breadth first, within
 * BELOW_BUDGET directories (a large tree is not walked whole at every start); null if none.
 */
async function deviceBelow(dir: string): Promise<string | null> {
  const queue = [dir];
  for (let seen = 0; seen < queue.length && seen < BELOW_BUDGET; seen++) {
    const current = queue[seen] as string;
    let names;
    try {
      names = await readdir(current, { withFileTypes: true });
    } catch {
      continue; // DIR not made yet, or a directory that cannot be read: nothing to find there.
    }
    for (const entry of names) {
      if (!entry.isDirectory()) continue;
      const child = join(current, entry.name);
      if (entry.name === MOSAIC_DIR) {
        if (current === dir) continue;
        if ((await exists(join(child, DEVICE_DB))) || (await exists(join(child, MARKER_FILE)))) {
          return current;
        }
        continue;
      }
      queue.push(child);
    }
  }
  return null;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
