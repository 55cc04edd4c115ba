import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  parseSyncedDir,
  recordSyncedDir,
  refreshed,
  syncedDir,
  syncedDirFile,
  syncedDirsDir,
} from './synced-dirs.js';

let home: string | null = null;
afterEach(async () => {
  if (home) await rm(home, { recursive: true, force: true });
});

const seen = {
  dir: '/media/usb/Photos',
  server: 'http://home.example:7070',
  folder: 'docs',
  deviceId: 'dev-1',
};

describe('the record of synced directories', () => {
  it('keeps one file per DIR under XDG_CONFIG_HOME, directory 0700 and file 0600', async () => {
    home = await mkdtemp(join(tmpdir(), 'mosaic-synced-'));
    const env = { XDG_CONFIG_HOME: home };
    expect(await syncedDir(seen.dir, env)).toBeNull();
    const file = await recordSyncedDir(seen, env, new Date('2026-03-01T10:00:00Z'));
    await recordSyncedDir({ ...seen, dir: '/home/ann/Docs' }, env);
    expect(file).toBe(syncedDirFile(seen.dir, env));
    expect(syncedDirsDir(env)).toBe(join(home, 'mosaic', 'synced-dirs'));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(syncedDirsDir(env))).mode & 0o777).toBe(0o700);
    expect((await stat(join(home, 'mosaic'))).mode & 0o777).toBe(0o700);
    // Two entries, and no temp file left behind.
    expect((await readdir(syncedDirsDir(env))).filter((n) => n.endsWith('.json'))).toHaveLength(2);
    expect((await readdir(syncedDirsDir(env))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(await syncedDir(seen.dir, env)).toEqual({
      ...seen,
      firstSync: '2026-03-01T10:00:00.000Z',
      lastSync: '2026-03-01T10:00:00.000Z',
    });
    expect((await syncedDir('/home/ann/Docs', env))?.dir).toBe('/home/ann/Docs');
  });

  it('a later run refreshes the entry: the same device keeps its first time, a new one not', async () => {
    home = await mkdtemp(join(tmpdir(), 'mosaic-synced-'));
    const env = { XDG_CONFIG_HOME: home };
    await recordSyncedDir(seen, env, new Date('2026-03-01T10:00:00Z'));
    await recordSyncedDir(seen, env, new Date('2026-03-02T10:00:00Z'));
    expect(await syncedDir(seen.dir, env)).toMatchObject({
      firstSync: '2026-03-01T10:00:00.000Z',
      lastSync: '2026-03-02T10:00:00.000Z',
    });
    await recordSyncedDir({ ...seen, deviceId: 'dev-2' }, env, new Date('2026-03-03T10:00:00Z'));
    expect(await syncedDir(seen.dir, env)).toMatchObject({
      deviceId: 'dev-2',
      firstSync: '2026-03-03T10:00:00.000Z',
    });
  });

  it('a damaged file reads as no record, and is replaced by the next run', async () => {
    home = await mkdtemp(join(tmpdir(), 'mosaic-synced-'));
    const env = { XDG_CONFIG_HOME: home };
    await recordSyncedDir(seen, env);
    await writeFile(syncedDirFile(seen.dir, env), '{"dir": "/media/usb/Pho');
    expect(await syncedDir(seen.dir, env)).toBeNull();
    await recordSyncedDir(seen, env);
    expect((await syncedDir(seen.dir, env))?.deviceId).toBe('dev-1');
  });
});

describe('parseSyncedDir and refreshed (pure)', () => {
  const entry = refreshed(null, seen, new Date('2026-03-01T10:00:00Z'));

  it('reads back what is written, for that DIR only', () => {
    const text = JSON.stringify(entry);
    expect(parseSyncedDir(text, seen.dir)).toEqual(entry);
    expect(parseSyncedDir(text, '/media/usb/Other')).toBeNull();
  });

  it('takes nothing that is not a whole entry', () => {
    expect(parseSyncedDir('not json', seen.dir)).toBeNull();
    expect(parseSyncedDir('null', seen.dir)).toBeNull();
    expect(parseSyncedDir(JSON.stringify({ ...entry, deviceId: 7 }), seen.dir)).toBeNull();
    expect(parseSyncedDir(JSON.stringify({ ...entry, lastSync: undefined }), seen.dir)).toBeNull();
    // Fields it does not know are dropped, not kept.
    expect(parseSyncedDir(JSON.stringify({ ...entry, extra: 1 }), seen.dir)).toEqual(entry);
  });
});
