/**
 * A node killed after pulled files were renamed into place and before their disk state was
 * recorded (issue 11, cause 2). After the restart, such a file is the version that was being
 * applied, not a new local edit: a delete that arrived meanwhile still deletes it, and nothing
 * this node did not write becomes a version of its own.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { HybridClock } from '../core/hlc.js';
import { type Db } from '../db/database.js';
import type { Op } from '../oplog/op.js';
import { OpLogRepository } from '../oplog/oplog.repository.js';
import { FolderIndexRepository } from './folder-index.repository.js';
import { FolderSync } from './folder-sync.js';
import {
  folderChangeLog,
  localOf,
  storeFor,
  useTempDb,
  peerHolding,
  sha256Hex,
} from './testing.js';
import { LINK_LOG } from './link-log.js';
import { ensureMarker } from './marker.js';

const SELF = 'aaaaaaaaaaaaaaa1';
const PEER = 'aaaaaaaaaaaaaaa2';
const FILES = 20;

let base: string;
let db: Db;

useTempDb('mosaic-crash-record-', (b, d) => {
  base = b;
  db = d;
});

const sha = sha256Hex;
const content = (i: number) => Buffer.from(`file ${i} from the peer`);

describe('a crash between placing pulled files and recording them', () => {
  it('lets a delete that arrived meanwhile delete them after the restart', async () => {
    const root = join(base, 'folder');
    await mkdir(root);
    await ensureMarker(root, 'folder');
    const index = new FolderIndexRepository(localOf(db));
    const oplog = new OpLogRepository(storeFor(db));
    const changes = folderChangeLog(db, SELF, index, oplog);
    const contents = Array.from({ length: FILES }, (_, i) => content(i));
    const node = (crash: boolean) =>
      new FolderSync({
        config: { id: 'folder', root },
        index,
        changes,
        selfId: SELF,
        selfName: 'n1',
        sources: () => [peerHolding(contents)],
        log: pino({ level: 'silent' }),
        ...(crash ? { beforeRecord: () => Promise.reject(new Error('killed')) } : {}),
      });
    const peerClock = new HybridClock(PEER);
    let seq = 0;
    const put = (i: number, deleted: boolean): Op => ({
      origin: PEER,
      seq: ++seq,
      hlc: peerClock.next(),
      body: {
        kind: 'file.put',
        folder: 'folder',
        path: `p${i}.txt`,
        entry: 'file',
        deleted,
        hash: deleted ? null : sha(content(i)),
        size: deleted ? 0 : content(i).length,
        mtimeMs: 1_700_000_000_000 + i,
        vv: { [PEER]: deleted ? 2 : 1 },
        originName: 'n2',
      },
    });
    await changes.receive(contents.map((_, i) => put(i, false)));
    const first = node(true);
    await first.syncNow();
    await first.close();
    // Renamed into place, never recorded: the "crash".
    expect(existsSync(join(root, 'p0.txt'))).toBe(true);
    expect(index.get('folder', 'p0.txt')?.localHash).toBeNull();
    // Meanwhile the peer deleted them all.
    await changes.receive(contents.map((_, i) => put(i, true)));
    const second = node(false);
    await second.syncNow();
    await second.syncNow();
    await second.close();
    for (let i = 0; i < FILES; i++) {
      expect(existsSync(join(root, `p${i}.txt`)), `p${i}.txt came back`).toBe(false);
      expect(index.get('folder', `p${i}.txt`)?.deleted).toBe(true);
    }
    expect(await oplog.lastSeq(SELF)).toBe(0); // no version of this node's own
  });

  it('lets a delete remove directories made before the crash', async () => {
    const root = join(base, 'folder');
    await mkdir(root);
    await ensureMarker(root, 'folder');
    const index = new FolderIndexRepository(localOf(db));
    const oplog = new OpLogRepository(storeFor(db));
    const changes = folderChangeLog(db, SELF, index, oplog);
    const node = (crash: boolean) =>
      new FolderSync({
        config: { id: 'folder', root },
        index,
        changes,
        selfId: SELF,
        selfName: 'n1',
        sources: () => [],
        log: pino({ level: 'silent' }),
        ...(crash ? { beforeRecord: () => Promise.reject(new Error('killed')) } : {}),
      });
    const peerClock = new HybridClock(PEER);
    let seq = 0;
    const dir = (i: number, deleted: boolean): Op => ({
      origin: PEER,
      seq: ++seq,
      hlc: peerClock.next(),
      body: {
        kind: 'file.put',
        folder: 'folder',
        path: `d${i}`,
        entry: 'dir',
        deleted,
        hash: null,
        size: 0,
        mtimeMs: 1_700_000_000_000,
        vv: { [PEER]: deleted ? 2 : 1 },
        originName: 'n2',
      },
    });
    await changes.receive([0, 1, 2].map((i) => dir(i, false)));
    const first = node(true);
    await first.syncNow();
    await first.close();
    expect(existsSync(join(root, 'd0'))).toBe(true);
    await changes.receive([0, 1, 2].map((i) => dir(i, true)));
    const second = node(false);
    await second.syncNow();
    await second.syncNow();
    await second.close();
    for (let i = 0; i < 3; i++) {
      expect(existsSync(join(root, `d${i}`)), `d${i} came back`).toBe(false);
      expect(index.get('folder', `d${i}`)?.deleted).toBe(true);
    }
    expect(await oplog.lastSeq(SELF)).toBe(0);
  });
  it("keeps the user's deletion, made while the node was down, of files placed before the kill", async () => {
    // Fault tier seed 893587505: a pulled file was placed, the node was killed before recording
    // it, and the user deleted it while the node was down. After the restart the index said it
    // had never been placed, and the next pull put it back.
    const root = join(base, 'folder');
    await mkdir(root);
    await ensureMarker(root, 'folder');
    const index = new FolderIndexRepository(localOf(db));
    const oplog = new OpLogRepository(storeFor(db));
    const changes = folderChangeLog(db, SELF, index, oplog);
    const contents = Array.from({ length: FILES }, (_, i) => content(i));
    const node = (crash: boolean) =>
      new FolderSync({
        config: { id: 'folder', root },
        index,
        changes,
        selfId: SELF,
        selfName: 'n1',
        sources: () => [peerHolding(contents)],
        log: pino({ level: 'silent' }),
        ...(crash ? { beforeRecord: () => Promise.reject(new Error('killed')) } : {}),
      });
    const peerClock = new HybridClock(PEER);
    await changes.receive(
      contents.map((data, i) => ({
        origin: PEER,
        seq: i + 1,
        hlc: peerClock.next(),
        body: {
          kind: 'file.put' as const,
          folder: 'folder',
          path: `p${i}.txt`,
          entry: 'file' as const,
          deleted: false,
          hash: sha(data),
          size: data.length,
          mtimeMs: 1_700_000_000_000 + i,
          vv: { [PEER]: 1 },
          originName: 'n2',
        },
      })),
    );
    const first = node(true);
    await first.syncNow();
    await first.close();
    expect(index.get('folder', 'p0.txt')?.localHash).toBeNull();
    // While the node is down, the user deletes half of them.
    const deleted = (i: number) => i % 2 === 0;
    for (let i = 0; i < FILES; i++) if (deleted(i)) await unlink(join(root, `p${i}.txt`));
    const second = node(false);
    await second.syncNow();
    await second.syncNow();
    await second.close();
    for (let i = 0; i < FILES; i++) {
      const path = `p${i}.txt`;
      if (deleted(i)) {
        expect(existsSync(join(root, path)), `${path} came back`).toBe(false);
        // A deletion of the version the user saw: it wins over it at every node.
        expect(index.get('folder', path)).toMatchObject({
          deleted: true,
          need: false,
          vv: { [PEER]: 1, [SELF]: 1 },
        });
      } else {
        expect(readFileSync(join(root, path))).toEqual(content(i));
        expect(index.get('folder', path)).toMatchObject({
          need: false,
          localHash: sha(content(i)),
        });
      }
    }
    // The deletions, and nothing else of this node's own.
    expect(await oplog.lastSeq(SELF)).toBe(FILES / 2);
    expect(existsSync(join(root, '.mosaic', LINK_LOG))).toBe(false);
  });
});
