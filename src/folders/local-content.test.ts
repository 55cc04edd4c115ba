import { folderChangeLog, localOf, useTempDb } from './testing.js';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
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
});
