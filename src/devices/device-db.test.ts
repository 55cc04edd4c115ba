import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { refusedSyncDir } from '../cli/sync.dir.js';
import { MOSAIC_DIR } from '../folders/ignore.js';
import { ensureMarker, FolderMissingError, markerPath } from '../folders/marker.js';
import { DEVICE_DB, openDeviceDb } from './device-db.js';

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

describe('openDeviceDb', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mosaic-device-db-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('makes the database before the marker: a first run stopped in between is not refused next time', async () => {
    // The database cannot be made (a directory in its place): the run fails there, as a run
    // SIGKILLed at that point would stop there. A marker alone would make the next `mosaic
    // sync DIR` take DIR for a node's folder and refuse it for ever (fault seed 705208149).
    await mkdir(join(dir, MOSAIC_DIR, DEVICE_DB), { recursive: true });
    await expect(openDeviceDb({ dir, folder: 'docs', username: 'ann' })).rejects.toThrow();
    expect(await exists(markerPath(dir))).toBe(false);
    await rm(join(dir, MOSAIC_DIR, DEVICE_DB), { recursive: true });
    expect(await refusedSyncDir(dir)).toBeNull();

    const db = await openDeviceDb({ dir, folder: 'docs', username: 'ann' });
    await db.store.close();
    expect(await exists(markerPath(dir))).toBe(true);
    expect(await refusedSyncDir(dir)).toBeNull();
  });

  it('refuses another folder’s directory before writing anything', async () => {
    await ensureMarker(dir, 'photos');
    const opening = openDeviceDb({ dir, folder: 'docs', username: 'ann' });
    await expect(opening).rejects.toBeInstanceOf(FolderMissingError);
    await expect(opening).rejects.toThrow(/already the synced folder "photos"/);
    expect(await exists(join(dir, MOSAIC_DIR, DEVICE_DB))).toBe(false);
  });

  it('keeps a device’s id from one run to the next, without asking its node again', async () => {
    const first = await openDeviceDb({ dir, folder: 'docs', username: 'ann' });
    const id = first.identity.id;
    await first.store.close();
    const again = await openDeviceDb({ dir, folder: 'docs', username: null });
    expect(id).toMatch(/./);
    expect(again.identity.id).toBe(id);
    await again.store.close();
  });

  it('makes DIR only when told, and never its parents', async () => {
    const missing = join(dir, 'usb', 'Photos');
    for (const createDir of [false, true]) {
      await expect(
        openDeviceDb({ dir: missing, folder: 'docs', username: 'ann', createDir }),
      ).rejects.toThrow(`${missing} or its parent is gone`);
    }
    expect(await exists(join(dir, 'usb'))).toBe(false);
    const gone = join(dir, 'Photos');
    await expect(openDeviceDb({ dir: gone, folder: 'docs', username: 'ann' })).rejects.toThrow(
      'nothing made',
    );
    expect(await exists(gone)).toBe(false);
    const db = await openDeviceDb({ dir: gone, folder: 'docs', username: 'ann', createDir: true });
    await db.store.close();
    expect(await exists(join(gone, MOSAIC_DIR, DEVICE_DB))).toBe(true);
  });
});
