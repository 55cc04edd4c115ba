/**
 * The directories this user has synced with `mosaic sync`, kept outside them, in the config
 * directory (`$XDG_CONFIG_HOME/mosaic/synced-dirs/`, else `~/.config/mosaic/`): a DIR that is
 * gone leaves nothing in itself to tell that it was synced, and `mosaic sync` made it again
 * (an unmounted disk's folder downloaded whole onto the root file system). What the record
 * decides is in sync.vanished.ts.
 *
 * One file per DIR, named by the hash of its path: two `mosaic sync` processes starting at
 * once (one per DIR, at login) each write their own file, where a shared file read, changed and
 * written back would lose one of the two entries. Directory 0700, files 0600, written aside,
 * fsynced, then renamed.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { configDir } from './credentials.js';

/** What a run that opened DIR leaves on record. */
export interface SyncedDir {
  /** Absolute, as `mosaic sync` was given it (symbolic links not followed: DIR may be gone). */
  readonly dir: string;
  readonly server: string;
  readonly folder: string;
  /** The device DIR's database held: a new one means DIR started afresh. */
  readonly deviceId: string;
  /** When this device first opened DIR, and last did (ISO times). */
  readonly firstSync: string;
  readonly lastSync: string;
}

export type SyncedDirSeen = Pick<SyncedDir, 'dir' | 'server' | 'folder' | 'deviceId'>;

export function syncedDirsDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'synced-dirs');
}

export function syncedDirFile(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(syncedDirsDir(env), `${createHash('sha256').update(dir).digest('hex')}.json`);
}

/** The entry a file holds for `dir`; null for anything else (unreadable, hand-edited, another DIR). */
export function parseSyncedDir(text: string, dir: string): SyncedDir | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const fields = ['dir', 'server', 'folder', 'deviceId', 'firstSync', 'lastSync'] as const;
  if (!fields.every((k) => typeof v[k] === 'string')) return null;
  if (v['dir'] !== dir) return null;
  return Object.fromEntries(fields.map((k) => [k, v[k]])) as unknown as SyncedDir;
}

/** The entry after a run opened DIR at `now`: a device seen before keeps its first time. */
export function refreshed(previous: SyncedDir | null, seen: SyncedDirSeen, now: Date): SyncedDir {
  const at = now.toISOString();
  const same = previous !== null && previous.deviceId === seen.deviceId;
  return {
    dir: seen.dir,
    server: seen.server,
    folder: seen.folder,
    deviceId: seen.deviceId,
    firstSync: same ? previous.firstSync : at,
    lastSync: at,
  };
}

/** What the record holds for `dir` (absolute), or null. */
export async function syncedDir(
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SyncedDir | null> {
  try {
    return parseSyncedDir(await readFile(syncedDirFile(dir, env), 'utf8'), dir);
  } catch {
    return null;
  }
}

/** Records (or refreshes) that a run opened `seen.dir`; the file written. */
export async function recordSyncedDir(
  seen: SyncedDirSeen,
  env: NodeJS.ProcessEnv = process.env,
  now: Date = new Date(),
): Promise<string> {
  const entry = refreshed(await syncedDir(seen.dir, env), seen, now);
  await mkdir(configDir(env), { recursive: true, mode: 0o700 });
  await mkdir(syncedDirsDir(env), { recursive: true, mode: 0o700 });
  const file = syncedDirFile(seen.dir, env);
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.chmod(0o600); // a temp file left by an earlier process of this pid
    await handle.writeFile(`${JSON.stringify(entry, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  // The rename itself survives a crash only once the directory is synced.
  const parent = await open(syncedDirsDir(env), 'r');
  try {
    await parent.sync();
  } finally {
    await parent.close();
  }
  return file;
}
