import { folderChangeLog, localOf, useTempDb } from './testing.js';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, readFileSync } from 'node:fs';
import { mkdir, rename, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { type Db } from '../db/database.js';
import { FolderIndexRepository } from './folder-index.repository.js';
import { FolderSync } from './folder-sync.js';
import { ensureMarker } from './marker.js';

let base: string;
let db: Db;

useTempDb('mosaic-local-content-', (b, d) => {
  base = b;
  db = d;
});

function folderSync(root: string): FolderSync {
  const id = 'aaaaaaaaaaaaaaaa';
  const index = new FolderIndexRepository(localOf(db));
  const changes = folderChangeLog(db, id, index);
  return new FolderSync({
    config: { id: 'folder', root },
    index,
    changes,
    selfId: id,
    selfName: 'n1',
    sources: () => [],
    log: pino({ level: 'silent' }),
  });
}

describe('serving folder content (issue 11, cause 6)', () => {
  it('serves an indexed file whose mtime in ms is just below a whole millisecond', async () => {
    const root = join(base, 'folder');
    await mkdir(root);
    await ensureMarker(root, 'folder');
    const file = join(root, 'a.bin');
    const data = Buffer.from('content of a');
    await writeFile(file, data);
    // 1700000000.123999999 s: Stats.mtimeMs (a double) reads 1700000000124, the scanner's
    // nanoseconds 1700000000123. The sender then thought the file had changed and never served it.
    execFileSync('touch', ['-d', '@1700000000.123999999', file]);
    const sync = folderSync(root);
    try {
      await sync.syncNow();
      const hash = createHash('sha256').update(data).digest('hex');
      expect(await sync.contentFor(hash)).toBe(file);
    } finally {
      await sync.close();
    }
  });

  it("opens a peer batch's files below the root, never through a symlinked directory", async () => {
    const root = join(base, 'folder');
    await mkdir(join(root, 'd'), { recursive: true });
    await ensureMarker(root, 'folder');
    const data = Buffer.from('content of d/a');
    await writeFile(join(root, 'd', 'a.bin'), data);
    // Settled: a file written this instant is not indexed yet (the scanner's settleMs).
    await utimes(join(root, 'd', 'a.bin'), 1_700_000_000, 1_700_000_000);
    const hash = createHash('sha256').update(data).digest('hex');
    const first = folderSync(root);
    try {
      await first.syncNow();
    } finally {
      await first.close();
    }
    // A new process's worth of state: the just-hashed ring is empty, so the file is opened.
    const sync = folderSync(root);
    try {
      const served = await sync.smallContents([hash])(hash);
      expect(served).toMatchObject({ size: data.length });
      const { fd } = served as { fd: number };
      expect(readFileSync(fd).equals(data)).toBe(true);
      closeSync(fd);
      // The directory swapped for a link to a copy elsewhere (same bytes, same mtime): refused.
      const elsewhere = join(base, 'elsewhere');
      await rename(join(root, 'd'), elsewhere);
      await symlink(elsewhere, join(root, 'd'));
      expect(await sync.smallContents([hash])(hash)).toBeNull();
    } finally {
      await sync.close();
    }
  });
});
