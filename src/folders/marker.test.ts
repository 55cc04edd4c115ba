import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  assertMarker,
  ensureMarker,
  FolderMissingError,
  folderTmpDir,
  folderTrashDir,
  markerPath,
} from './marker.js';

let base: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'mosaic-marker-'));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('folder marker', () => {
  it('makes a directory a synced folder, idempotently', async () => {
    const first = await ensureMarker(base, 'folder-1');
    expect(first.folderId).toBe('folder-1');
    expect(JSON.parse(await readFile(markerPath(base), 'utf8'))).toEqual(first);
    expect((await stat(folderTmpDir(base))).isDirectory()).toBe(true);
    expect((await stat(folderTrashDir(base))).isDirectory()).toBe(true);
    expect(await ensureMarker(base, 'folder-1')).toEqual(first);
    await expect(assertMarker(base, 'folder-1')).resolves.toBeUndefined();
  });

  it('refuses to start a folder whose root does not exist, or is a file', async () => {
    const missing = join(base, 'not-mounted');
    await expect(ensureMarker(missing, 'f')).rejects.toMatchObject({ reason: 'root-missing' });
    await expect(stat(missing)).rejects.toThrow();

    const file = join(base, 'file');
    await writeFile(file, '');
    await expect(ensureMarker(file, 'f')).rejects.toMatchObject({
      reason: 'root-not-a-directory',
    });
  });

  it("refuses a directory that is another folder's, or whose marker is damaged", async () => {
    await ensureMarker(base, 'folder-1');
    await expect(ensureMarker(base, 'folder-2')).rejects.toBeInstanceOf(FolderMissingError);
    await expect(assertMarker(base, 'folder-2')).rejects.toMatchObject({
      reason: 'marker-mismatch',
    });
    await writeFile(markerPath(base), '{"folderId":');
    await expect(assertMarker(base, 'folder-1')).rejects.toMatchObject({
      reason: 'marker-unreadable',
    });
  });
});
