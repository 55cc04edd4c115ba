/**
 * A local save racing a move: a peer renamed a.txt to b.txt, so this node takes a.txt's file
 * for b.txt instead of fetching it (FromThisDisk.take), and the user saves a.txt between the
 * check and the move. Found by the fault tier (seed 209773246): the save went to b.txt under
 * the old content's hash, a.txt vanished, and a later edit of b.txt destroyed the save with no
 * copy anywhere. The save must stay a version; b.txt must hold what the peer has.
 */
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { HybridClock } from '../core/hlc.js';
import { type Db } from '../db/database.js';
import { FolderIndexRepository } from './folder-index.repository.js';
import { FolderSync } from './folder-sync.js';
import { ensureMarker } from './marker.js';
import { folderChangeLog, localOf, peerHolding, sha256Hex as sha, useTempDb } from './testing.js';

const SELF = 'aaaaaaaaaaaaaaa1';
const PEER = 'aaaaaaaaaaaaaaa2';

let base: string;
let db: Db;

useTempDb('mosaic-move-race-', (b, d) => {
  base = b;
  db = d;
});

describe('a local save racing a move from a peer', () => {
  it('keeps the save as a version, and the moved path gets the content the peer has', async () => {
    const root = join(base, 'folder');
    await mkdir(root);
    await ensureMarker(root, 'folder');
    const file = join(root, 'a.txt');
    const v1 = Buffer.from('v1, renamed to b.txt at the peer');
    await writeFile(file, v1);
    await utimes(file, 1_700_000_000, 1_700_000_000);
    const save = 'the local save of a.txt, made while it was being moved';
    const index = new FolderIndexRepository(localOf(db));
    const changes = folderChangeLog(db, SELF, index);
    let raced = false;
    const sync = new FolderSync({
      config: { id: 'folder', root },
      index,
      changes,
      selfId: SELF,
      selfName: 'n1',
      sources: () => [peerHolding([v1])],
      log: pino({ level: 'silent' }),
      beforeMoveAway: async (path) => {
        if (path !== 'a.txt' || raced) return;
        raced = true;
        await writeFile(file, save);
        await utimes(file, 1_700_000_100, 1_700_000_100); // settled: the scan takes it at once
      },
    });
    try {
      await sync.syncNow();
      const indexed = index.get('folder', 'a.txt');
      expect(indexed?.hash).toBe(sha(v1));
      // The peer's rename: a.txt deleted, b.txt with a.txt's content.
      const clock = new HybridClock(PEER, () => Date.now() + 1000);
      const put = (path: string, seq: number, deleted: boolean) => ({
        origin: PEER,
        seq,
        hlc: clock.next(),
        body: {
          kind: 'file.put' as const,
          folder: 'folder',
          path,
          entry: 'file' as const,
          deleted,
          hash: deleted ? null : sha(v1),
          size: deleted ? 0 : v1.length,
          mtimeMs: 1_700_000_000_000,
          vv: deleted ? { ...indexed?.vv, [PEER]: 1 } : { [PEER]: 2 },
          originName: 'n2',
        },
      });
      await changes.receive([put('a.txt', 1, true), put('b.txt', 2, false)]);
      await sync.syncNow();
      await sync.syncNow();
      await sync.whenIdle();
      expect(raced).toBe(true);
      const live = [...index.iterate('folder')].filter((r) => !r.deleted && r.kind === 'file');
      const kept = live.find((r) => r.hash === sha(save));
      expect(kept, 'the save is a version').toBeDefined();
      expect(await readFile(join(root, kept?.path ?? ''), 'utf8')).toBe(save);
      expect(index.get('folder', 'b.txt')).toMatchObject({ hash: sha(v1), need: false });
      expect(await readFile(join(root, 'b.txt'))).toEqual(v1);
    } finally {
      await sync.close();
    }
  });
});
