/**
 * A node killed while placing a content it took from its own trash (a device's upload is one):
 * the move into `.mosaic/tmp/<hash>.part` had left that temp file the content's only copy, no
 * row pointing at it, so the restarted node — and every node after it, since nodes cannot fetch
 * from a device — needed the file for good (the device lane's symptom in fault tier seed
 * 527547213, whose logs are lost: this, or the case of test/device/device-source.test.ts).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Db } from '../db/database.js';
import { MOSAIC_DIR } from './ignore.js';
import { peerHolding, peerPuts, pullingFolder, sha256Hex, useTempDb } from './testing.js';

let base: string;
let db: Db;

useTempDb('mosaic-killed-placing-', (b, d) => {
  base = b;
  db = d;
});

describe('a node killed while placing content from its trash', () => {
  it('places the content from the temp file it left, after the restart', async () => {
    const root = join(base, 'folder');
    const data = Buffer.from('uploaded by a device, held nowhere else');
    const hash = sha256Hex(data);
    let killed: () => void = () => undefined;
    const reachedPlace = new Promise<void>((resolve) => {
      killed = resolve;
    });
    // The first process: stops for good just before it links the file in (a SIGKILL there).
    const first = await pullingFolder(db, root, peerHolding([]), {
      beforeReplace: (path) => {
        if (path === 'a.txt') killed();
        return new Promise<void>(() => undefined);
      },
    });
    // The device's upload: a file in `.mosaic/uploads/`, registered in the trash (upload-store.ts).
    const uploads = join(root, MOSAIC_DIR, 'uploads');
    await mkdir(uploads, { recursive: true });
    const upload = join(uploads, hash);
    await writeFile(upload, data);
    await first.index.exclusive(() => {
      first.index.trash.record('folder', [{ hash, file: upload }], [], Date.now());
    });
    await first.changes.receive(peerPuts([{ path: 'a.txt', data, mtimeMs: 1_700_000_000_000 }]));
    void first.sync.syncNow();
    await reachedPlace;

    // Restarted on the same database and disk; no peer holds the content.
    const second = await pullingFolder(db, root, peerHolding([]));
    try {
      await second.sync.syncNow();
      expect(await readFile(join(root, 'a.txt'), 'utf8')).toBe(data.toString());
      expect(second.index.get('folder', 'a.txt')?.localHash).toBe(hash);
      expect(second.index.needed('folder', 10)).toEqual([]);
    } finally {
      await second.sync.close();
    }
  });
});
