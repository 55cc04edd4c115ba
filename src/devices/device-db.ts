/**
 * A device's own database, `DIR/.mosaic/device.db` (the node's migrations, SQLite): made on the
 * first run with an id bound to the account (core/device-id.ts), opened as it is afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { MOSAIC_DIR } from '../folders/ignore.js';
import { ensureMarker, FolderMissingError, readMarker } from '../folders/marker.js';
import type { NodeIdentity } from '../node/identity.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { MetaRepository } from '../storage/metadata/meta.repository.js';
import { SiteIdentityRepository } from '../storage/metadata/site-identity.repository.js';
import { openSqliteStore } from '../storage/metadata/sqlite.js';
import { deviceIdFor } from './core/device-id.js';
import type { DeviceCursor } from './device-schemas.js';

export const DEVICE_DB = 'device.db';

export interface DeviceDb {
  readonly store: MetadataStore;
  readonly meta: MetaRepository;
  readonly identity: NodeIdentity;
  /** How far the device has read the node's feed (device-feed.ts). */
  readonly cursor: DeviceCursor;
  /** What the id was derived from (null for a device made before ids were bound). */
  readonly nonce: string | null;
}

/** Whether DIR already holds a device replica (synced before, with its id). */
export async function replicaExists(dir: string): Promise<boolean> {
  const file = join(dir, MOSAIC_DIR, DEVICE_DB);
  if (!(await stat(file).catch(() => null))?.isFile()) return false;
  const store = openSqliteStore(file);
  try {
    return (await new MetaRepository(store).get('node_id')) !== null;
  } finally {
    await store.close();
  }
}

/**
 * Opens (creating on first run) the device's database in `DIR/.mosaic/`. `username` null: the
 * node could not be asked, which is enough for a device that has its id already.
 */
export async function openDeviceDb(options: {
  readonly dir: string;
  readonly folder: string;
  readonly username: string | null;
  readonly deviceName?: string | undefined;
  /** Whether DIR may be made (`mosaic sync` decides: cli/sync.vanished.ts); never its parents. */
  readonly createDir?: boolean | undefined;
}): Promise<DeviceDb> {
  // Refuses a directory that is another folder's (marker mismatch) before anything is written.
  const marker = await readMarker(options.dir);
  if (marker !== null && marker.folderId !== options.folder) {
    throw new FolderMissingError(options.dir, 'marker-mismatch', { otherFolder: marker.folderId });
  }
  // Not recursive: a DIR that was there when `mosaic sync` looked and is gone now (its disk
  // unmounted meanwhile) fails here rather than being made again on the disk below.
  try {
    if (options.createDir === true) await mkdirOnce(options.dir);
    await mkdirOnce(join(options.dir, MOSAIC_DIR));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new Error(`${options.dir} or its parent is gone (a disk not mounted?): nothing made.`);
  }
  // The database before the marker: a marker without a device database is a node's folder,
  // which `mosaic sync` refuses (cli/sync.dir.ts), so a first run killed between the two must
  // leave the database, not the marker alone.
  const store = openSqliteStore(join(options.dir, MOSAIC_DIR, DEVICE_DB));
  try {
    await ensureMarker(options.dir, options.folder);
    const meta = new MetaRepository(store);
    // A new device's id is bound to its account; an existing device keeps its id.
    await store.transaction(async (trx) => {
      if ((await meta.get('node_id', trx)) !== null) return;
      if (options.username === null) {
        throw new Error('A new device needs its node once, to learn its account.');
      }
      const nonce = randomBytes(16).toString('hex');
      await meta.set('device_nonce', nonce, trx);
      await meta.set('node_id', deviceIdFor(options.username, nonce), trx);
    });
    const identity = await new SiteIdentityRepository(store).load(
      options.deviceName ?? (await meta.get('node_name')) ?? hostName(),
    );
    const cursor = JSON.parse((await meta.get('device_cursor')) ?? '{}') as DeviceCursor;
    const nonce = await meta.get('device_nonce');
    return { store, meta, identity, cursor, nonce };
  } catch (error) {
    await store.close();
    throw error;
  }
}

async function mkdirOnce(path: string): Promise<void> {
  try {
    await mkdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

function hostName(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9_.-]/g, '-')
      .slice(0, 64) || 'device'
  );
}
