/**
 * What `mosaic sync DIR` makes of a DIR that is missing or has lost its state, before anything
 * is made (sync.run.ts), from what the record of synced directories says of it
 * (synced-dirs.ts). A DIR synced before and gone is most often a disk not mounted: made again,
 * it downloaded the whole folder onto the disk below, and its person took it for the disk.
 */
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DEVICE_DB } from '../devices/device-db.js';
import { MOSAIC_DIR } from '../folders/ignore.js';
import type { SyncedDir } from './synced-dirs.js';

/** What is on disk at DIR. */
export interface DirSeen {
  readonly exists: boolean;
  readonly parentExists: boolean;
  /** DIR holds a device's database (`DIR/.mosaic/device.db`). */
  readonly hasState: boolean;
  /** DIR exists and holds nothing at all: what an unmounted disk's mount point looks like. */
  readonly empty: boolean;
}

/** Refused in one sentence; else whether DIR is to be made, and what to warn of first. */
export type DirVerdict =
  { readonly refused: string } | { readonly create: boolean; readonly warning: string | null };

/** `newDir`: `--new-dir`, the person starting afresh where a DIR synced before is gone. */
export function dirVerdict(
  dir: string,
  seen: DirSeen,
  record: SyncedDir | null,
  newDir: boolean,
): DirVerdict {
  if (!seen.exists && record !== null && !newDir) {
    return {
      refused:
        `${dir} does not exist, but mosaic sync synced it before (folder "${record.folder}" at ` +
        `${record.server}, last ${when(record.lastSync)}): is its disk not mounted, or was it ` +
        `moved or deleted? Mount it or move it back, or run again with --new-dir to start ` +
        `afresh in a new, empty ${dir}.`,
    };
  }
  // Only DIR is made, never its parents: a missing parent is more often a disk not mounted
  // (a desktop removes its mount point then) or a typo than a tree to make.
  if (!seen.exists && !seen.parentExists) {
    const parent = dirname(dir);
    return {
      refused:
        `${dir} does not exist, nor does ${parent}: mosaic sync makes DIR but never its ` +
        `parents (is a disk not mounted?); create ${parent} first if DIR belongs there.`,
    };
  }
  // DIR empty while the record has it synced: an unmounted disk's mount point that stays in
  // place (fstab's /media/usb, when DIR is the mount point itself). As a new device it would
  // download the whole folder onto the disk below.
  if (seen.exists && seen.empty && !seen.hasState && record !== null && !newDir) {
    return {
      refused:
        `${dir} is empty, but mosaic sync synced it before (folder "${record.folder}" at ` +
        `${record.server}, last ${when(record.lastSync)}): is its disk not mounted? Mount it, ` +
        `or run again with --new-dir to sync the folder into this empty directory afresh.`,
    };
  }
  // DIR without its state while the record has it: its .mosaic deleted to start afresh (a
  // removed device), or a disk's folder replaced by a copy. As a new device it downloads and
  // deletes nothing, so it goes on, but not silently.
  const warning =
    seen.exists && !seen.hasState && record !== null && !newDir
      ? `${dir} was synced before (device ${record.deviceId}, last ${when(record.lastSync)}) ` +
        `but its state (${MOSAIC_DIR}/${DEVICE_DB}) is gone: it starts as a new device, which ` +
        `downloads the folder and deletes nothing (is a disk that belongs there not mounted?)`
      : null;
  return { create: !seen.exists, warning };
}

function when(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

export async function seeDir(dir: string): Promise<DirSeen> {
  const [self, parent, db, entries] = await Promise.all([
    stat(dir).catch(() => null),
    stat(dirname(dir)).catch(() => null),
    stat(join(dir, MOSAIC_DIR, DEVICE_DB)).catch(() => null),
    readdir(dir).catch(() => null),
  ]);
  return {
    exists: self !== null,
    parentExists: parent?.isDirectory() ?? false,
    hasState: db?.isFile() ?? false,
    empty: entries !== null && entries.length === 0,
  };
}
