import { appendFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashFile } from './blocks.js';
import { markerPath } from './marker.js';
import { FolderMissingError, type Hasher } from './scanner.js';
import { FOLDER, sha, summary, useScanFixture } from './scanner.testing.js';

// When a scan stops, refuses or waits rather than report; what it reports: scanner.test.ts.
const t = useScanFixture();

describe('scanFolder stops, refuses or waits', () => {
  it('throws FolderMissingError and reports nothing when the marker or the root is missing', async () => {
    await t.put('a.txt');
    await t.put('b/c.txt');
    await t.scan();
    await rm(join(t.root, 'a.txt'));
    await rm(join(t.root, 'b'), { recursive: true });
    await rm(markerPath(t.root));

    await expect(t.scan()).rejects.toBeInstanceOf(FolderMissingError);
    await expect(t.scan()).rejects.toMatchObject({ reason: 'marker-missing' });
    expect(t.index.get(FOLDER, 'a.txt')?.deleted).toBe(false);

    await rm(t.root, { recursive: true });
    await expect(t.scan()).rejects.toMatchObject({ reason: 'root-missing' });
  });

  it('refuses a directory that holds another folder', async () => {
    await writeFile(markerPath(t.root), JSON.stringify({ folderId: 'other', createdAt: 'x' }));
    await expect(t.scan()).rejects.toMatchObject({ reason: 'marker-mismatch' });
  });

  it('stops reporting as soon as the marker disappears mid-scan', async () => {
    for (let i = 0; i < 30; i++) await t.put(`f${String(i).padStart(2, '0')}`);
    const batches: number[] = [];
    await expect(
      t.scan({
        batchSize: 10,
        onBatch: async (batch) => {
          batches.push(batch.length);
          await rm(markerPath(t.root));
        },
      }),
    ).rejects.toBeInstanceOf(FolderMissingError);
    expect(batches).toEqual([10]);
  });

  it('leaves a file that changes between its look and its read for the next scan', async () => {
    await t.put('growing.log', 'start');
    const appending: Hasher = async (path, options) => {
      await appendFile(path, ' more');
      return hashFile(path, options);
    };
    const first = await t.scan({ hasher: appending });
    expect(first.changes).toEqual([]);
    expect(first.result.stillChanging).toBe(1);

    await t.put('growing.log', 'start more, and more');
    const second = await t.scan();
    expect(second.changes).toEqual([
      expect.objectContaining({ path: 'growing.log', hash: sha('start more, and more') }),
    ]);
  });

  it('indexes what it read of a file changed just after, and the next scan finds the change', async () => {
    await t.put('growing.log', 'start');
    const appending: Hasher = async (path, options) => {
      const result = await hashFile(path, options);
      await appendFile(path, ' more');
      return result;
    };
    // The bytes hashed are the file as looked at (its descriptor said so once they were read):
    // that version is indexed, with the size and mtime it had.
    const first = await t.scan({ hasher: appending });
    expect(first.changes).toEqual([
      expect.objectContaining({ path: 'growing.log', hash: sha('start'), size: 5 }),
    ]);
    // The index recorded that state (as the engine does): the appended file differs from it.
    const second = await t.scan();
    expect(second.changes).toEqual([
      expect.objectContaining({ path: 'growing.log', hash: sha('start more'), size: 10 }),
    ]);
  });

  it('waits until a just-written file has settled (same-tick writes would go unseen)', async () => {
    await t.put('fresh.txt');
    const now = await t.scan({ settleMs: 60_000 });
    expect(now.changes).toEqual([]);
    expect(now.result.stillChanging).toBe(1);
    expect(t.hashCalls).toEqual([]);

    const past = new Date(Date.now() - 120_000);
    await utimes(join(t.root, 'fresh.txt'), past, past);
    const later = await t.scan({ settleMs: 60_000 });
    expect(summary(later.changes)).toEqual(['+f fresh.txt']);
  });

  it('by default leaves a file modified under a second ago (one still being written)', async () => {
    await t.put('slow.bin');
    const file = join(t.root, 'slow.bin');
    // Fine timestamps (not a whole second, which would mean a coarse file system).
    const ago = (ms: number) => {
      const at = Date.now() - ms;
      return new Date(at % 1000 === 0 ? at - 1 : at);
    };
    const recent = ago(300);
    await utimes(file, recent, recent);
    const now = await t.scan({ settleMs: undefined });
    expect(now.changes).toEqual([]);
    expect(now.result.stillChanging).toBe(1);
    // The caller is told when to look again: once the file has settled, not at the next
    // periodic rescan.
    expect(now.result.settlesInMs).toBeGreaterThan(0);
    expect(now.result.settlesInMs).toBeLessThanOrEqual(1000);
    expect(t.hashCalls).toEqual([]);

    const settled = ago(1200);
    await utimes(file, settled, settled);
    const later = await t.scan({ settleMs: undefined });
    expect(summary(later.changes)).toEqual(['+f slow.bin']);
    expect(later.result).toMatchObject({ stillChanging: 0, settlesInMs: 0 });
  });
});
