/**
 * A node killed after pulled files were renamed into place and before their disk state was
 * recorded (issue 11, cause 2). After the restart, such a file is the version that was being
 * applied, not a new local edit: a delete that arrived meanwhile still deletes it, and nothing
 * this node did not write becomes a version of its own.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rmdir, unlink } from 'node:fs/promises';
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
import { DIR_TMP } from './folder-write.js';
import { ensureMarker, folderTmpDir } from './marker.js';

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

/** A folder, its index and log, and a node over them that can act out a kill before recording. */
async function folderNode(contents: readonly Buffer[]) {
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
      sources: () => (contents.length === 0 ? [] : [peerHolding(contents)]),
      log: pino({ level: 'silent' }),
      ...(crash ? { beforeRecord: () => Promise.reject(new Error('killed')) } : {}),
    });
  return { root, index, oplog, changes, node };
}

/**
 * The peer's operations on file `p<i>.txt` (content `content(i)`) or directory `d<i>`, or their
 * deletion after that.
 */
function peerPuts(entry: 'file' | 'dir' = 'file'): (i: number, deleted: boolean) => Op {
  const peerClock = new HybridClock(PEER);
  let seq = 0;
  return (i, deleted) => {
    const live = entry === 'file' && !deleted;
    return {
      origin: PEER,
      seq: ++seq,
      hlc: peerClock.next(),
      body: {
        kind: 'file.put',
        folder: 'folder',
        path: entry === 'file' ? `p${i}.txt` : `d${i}`,
        entry,
        deleted,
        hash: live ? sha(content(i)) : null,
        size: live ? content(i).length : 0,
        mtimeMs: 1_700_000_000_000 + (entry === 'file' ? i : 0),
        vv: { [PEER]: deleted ? 2 : 1 },
        originName: 'n2',
      },
    };
  };
}

/** FILES files from the peer pulled and placed, then the node killed before recording them. */
async function placedThenKilled() {
  const contents = Array.from({ length: FILES }, (_, i) => content(i));
  const folder = await folderNode(contents);
  const put = peerPuts();
  await folder.changes.receive(contents.map((_, i) => put(i, false)));
  const first = folder.node(true);
  await first.syncNow();
  await first.close();
  return { ...folder, put };
}

/** Directories d0-d2 from the peer made, then the node killed before recording them. */
async function dirsMadeThenKilled() {
  const folder = await folderNode([]);
  const dir = peerPuts('dir');
  await folder.changes.receive([0, 1, 2].map((i) => dir(i, false)));
  const first = folder.node(true);
  await first.syncNow();
  await first.close();
  return { ...folder, dir };
}

describe('a crash between placing pulled files and recording them', () => {
  it('lets a delete that arrived meanwhile delete them after the restart', async () => {
    const { root, index, oplog, changes, node, put } = await placedThenKilled();
    // Renamed into place, never recorded: the "crash".
    expect(existsSync(join(root, 'p0.txt'))).toBe(true);
    expect(index.get('folder', 'p0.txt')?.localHash).toBeNull();
    // Meanwhile the peer deleted them all.
    await changes.receive(Array.from({ length: FILES }, (_, i) => put(i, true)));
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
    const { root, index, oplog, changes, node, dir } = await dirsMadeThenKilled();
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
    const { root, index, oplog, node } = await placedThenKilled();
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

  it("keeps the user's deletion, made while the node was down, of directories made before the kill", async () => {
    // The same for a directory version: made, not recorded, removed by the user meanwhile. It
    // came back (empty) at the next pull, and its deletion never reached the other nodes.
    const { root, index, oplog, node } = await dirsMadeThenKilled();
    expect(index.get('folder', 'd0')?.localInode).toBeNull();
    for (const i of [0, 2]) await rmdir(join(root, `d${i}`));
    // And one killed before its rename: left in the temp directory, swept by the next pull.
    const leftover = join(folderTmpDir(root), `left-by-a-kill${DIR_TMP}`);
    await mkdir(leftover);
    const second = node(false);
    await second.syncNow();
    await second.syncNow();
    await second.close();
    for (const i of [0, 2]) {
      expect(existsSync(join(root, `d${i}`)), `d${i} came back`).toBe(false);
      expect(index.get('folder', `d${i}`)).toMatchObject({
        deleted: true,
        need: false,
        vv: { [PEER]: 1, [SELF]: 1 },
      });
    }
    expect(existsSync(join(root, 'd1'))).toBe(true);
    expect(index.get('folder', 'd1')).toMatchObject({ deleted: false, need: false });
    expect(index.get('folder', 'd1')?.localInode).not.toBeNull();
    expect(await oplog.lastSeq(SELF)).toBe(2);
    expect(existsSync(join(root, '.mosaic', LINK_LOG))).toBe(false);
    expect(existsSync(leftover)).toBe(false);
  });
});
