import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dirVerdict, seeDir, type DirSeen } from './sync.vanished.js';
import type { SyncedDir } from './synced-dirs.js';

const dir = '/media/usb/Photos';
const record: SyncedDir = {
  dir,
  server: 'http://home.example:7070',
  folder: 'docs',
  deviceId: 'dev-1',
  firstSync: '2026-03-01T10:00:00.000Z',
  lastSync: '2026-03-02T18:30:12.000Z',
};
const gone: DirSeen = { exists: false, parentExists: true, hasState: false, empty: false };
const synced: DirSeen = { exists: true, parentExists: true, hasState: true, empty: false };
const stateless: DirSeen = { exists: true, parentExists: true, hasState: false, empty: false };
const emptied: DirSeen = { exists: true, parentExists: true, hasState: false, empty: true };
const orphan: DirSeen = { exists: false, parentExists: false, hasState: false, empty: false };

describe('dirVerdict', () => {
  it('refuses a DIR synced before and gone, saying so and how to start afresh', () => {
    const verdict = dirVerdict(dir, gone, record, false);
    expect(verdict).toEqual({ refused: expect.any(String) as string });
    const refused = 'refused' in verdict ? verdict.refused : '';
    expect(refused).toContain(`${dir} does not exist, but mosaic sync synced it before`);
    expect(refused).toContain('"docs" at http://home.example:7070, last 2026-03-02 18:30 UTC');
    expect(refused).toContain('disk not mounted');
    expect(refused).toContain('--new-dir');
  });

  it('says the same when its parent is gone too (a desktop removes an unmounted disk’s mount point)', () => {
    const verdict = dirVerdict(dir, orphan, record, false);
    expect('refused' in verdict && verdict.refused).toContain('synced it before');
  });

  it('--new-dir makes a DIR synced before, but never its parents', () => {
    expect(dirVerdict(dir, gone, record, true)).toEqual({ create: true, warning: null });
    const verdict = dirVerdict(dir, orphan, record, true);
    expect('refused' in verdict && verdict.refused).toContain(
      `${dir} does not exist, nor does /media/usb: mosaic sync makes DIR but never its parents`,
    );
  });

  it('a DIR never synced is made when its parent exists, refused when not', () => {
    expect(dirVerdict(dir, gone, null, false)).toEqual({ create: true, warning: null });
    const verdict = dirVerdict(dir, orphan, null, false);
    expect('refused' in verdict && verdict.refused).toContain('create /media/usb first');
  });

  it('warns of a DIR on record whose state is gone, and goes on as a new device', () => {
    const verdict = dirVerdict(dir, stateless, record, false);
    expect(verdict).toMatchObject({ create: false });
    const warning = 'warning' in verdict ? verdict.warning : null;
    expect(warning).toContain(`${dir} was synced before (device dev-1`);
    expect(warning).toContain('its state (.mosaic/device.db) is gone');
    expect(warning).toContain('deletes nothing');
    // --new-dir: the person meant it.
    expect(dirVerdict(dir, stateless, record, true)).toEqual({ create: false, warning: null });
  });

  it('refuses an empty DIR on record (a mount point whose disk is not mounted) until --new-dir', () => {
    const verdict = dirVerdict(dir, emptied, record, false);
    const refused = 'refused' in verdict ? verdict.refused : '';
    expect(refused).toContain(`${dir} is empty, but mosaic sync synced it before`);
    expect(refused).toContain('disk not mounted');
    expect(refused).toContain('--new-dir');
    expect(dirVerdict(dir, emptied, record, true)).toEqual({ create: false, warning: null });
    // An empty DIR the record never had is a new directory to sync into.
    expect(dirVerdict(dir, emptied, null, false)).toEqual({ create: false, warning: null });
  });

  it('says nothing of a DIR with its state, or one the record never had', () => {
    expect(dirVerdict(dir, synced, record, false)).toEqual({ create: false, warning: null });
    expect(dirVerdict(dir, stateless, null, false)).toEqual({ create: false, warning: null });
  });
});

describe('seeDir', () => {
  let root: string | null = null;
  afterEach(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('tells a missing DIR, a missing parent and a DIR with or without its database', async () => {
    root = await mkdtemp(join(tmpdir(), 'mosaic-vanished-'));
    expect(await seeDir(join(root, 'a'))).toEqual(gone);
    expect(await seeDir(join(root, 'x', 'a'))).toEqual(orphan);
    await mkdir(join(root, 'a'));
    expect(await seeDir(join(root, 'a'))).toEqual(emptied);
    await mkdir(join(root, 'a', '.mosaic'), { recursive: true });
    expect(await seeDir(join(root, 'a'))).toEqual(stateless);
    await writeFile(join(root, 'a', '.mosaic', 'device.db'), '');
    expect(await seeDir(join(root, 'a'))).toEqual(synced);
  });
});
