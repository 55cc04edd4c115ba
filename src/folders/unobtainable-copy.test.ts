/**
 * A conflict copy whose content no node holds any more (fault tier, seed 830412091): the losing
 * version was saved over by its own author before any node fetched it, while another node had
 * already made the copy operation from the version's metadata. Every node then needed the copy
 * for good (`needFiles` 2 at all four nodes, trees equal). Once every peer has said, pull after
 * pull, that it lacks the content, the copy is retired by a delete that replicates. A laptop's
 * version waits for the laptop's own word (seeds 859052651, 664734563).
 */
import { createHash } from 'node:crypto';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HybridClock } from '../core/hlc.js';
import type { FilePut, Op } from '../oplog/op.js';
import { type Db } from '../db/database.js';
import type { ContentSource } from './content-source.js';
import type { FolderSync, FolderSyncDeps } from './folder-sync.js';
import type { FolderIndexRepository } from './folder-index.repository.js';
import { peerHolding, pullingFolder, useTempDb } from './testing.js';

const SELF = 'aaaaaaaaaaaaaaa1';
const PEER = 'aaaaaaaaaaaaaaa2';

let base: string;
let db: Db;

useTempDb('mosaic-unobtainable-', (b, d) => {
  base = b;
  db = d;
});

/** A received operation that puts a file. */
type PutOp = Omit<Op, 'body'> & { readonly body: FilePut };

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A peer that answers, and holds nothing. */
const emptyPeer = peerHolding([]);
/** The cluster's nodes: this one, its peer, and n3 (whose version lost). */
const nodeNames = () => new Set(['n1', 'n2', 'n3']);

/** `origin`'s operation putting `path` (content `data`, written by `originName`) at `vv`. */
function putOp(
  origin: string,
  path: string,
  data: string,
  originName: string,
  vv: Record<string, number>,
  size = data.length,
): PutOp {
  return {
    origin,
    seq: 1,
    hlc: new HybridClock(origin).next(),
    body: {
      kind: 'file.put',
      folder: 'folder',
      path,
      entry: 'file',
      deleted: false,
      hash: sha(data),
      size,
      mtimeMs: Date.now(),
      vv,
      originName,
    },
  };
}

/** PEER's operation making the copy `path` of a version `originName` wrote (content `data`). */
function copyOp(path: string, data: string, originName: string): PutOp {
  return putOp(PEER, path, data, originName, { [PEER]: 1, bbbbbbbbbbbbbbb3: 3 });
}

describe('a conflict copy whose content nobody holds', () => {
  it('is retired by a delete once every peer lacks it, pull after pull', async () => {
    const copy = 'd/a.sync-conflict-20261130-115525-n3-e25a9bf6.txt';
    await withCopy(
      copyOp(copy, 'the save n3 replaced before anyone fetched it', 'n3'),
      async (t) => {
        expect(t.index.get('folder', copy)?.need).toBe(true);
        await t.pullUntilRetired();
        // The retirement is an operation of this node: the other nodes retire the copy too.
        const row = t.index.get('folder', copy);
        expect(row?.origin).toBe(SELF);
        expect(row?.vv).toMatchObject({ [PEER]: 1, bbbbbbbbbbbbbbb3: 3, [SELF]: 1 });
      },
    );
  });

  it('is retired when it is large too (asked for by a request of its own)', async () => {
    const copy = 'film.sync-conflict-20261130-115525-n3-e25a9bf6.mov';
    const op = copyOp(copy, 'a film n3 cut again before anyone fetched it', 'n3');
    await withCopy({ ...op, body: { ...op.body, size: 8 * 1024 * 1024 } }, async (t) => {
      await t.pullUntilRetired();
    });
  });

  it('is not retired while the content is only unreachable (a peer did not answer)', async () => {
    const down: ContentSource = {
      ...emptyPeer,
      baseUrl: 'http://down.invalid',
      folderContent: () => Promise.reject(new Error('ECONNREFUSED')),
      // eslint-disable-next-line require-yield
      folderContents: async function* () {
        await Promise.resolve();
        throw new Error('ECONNREFUSED');
      },
    };
    const copy = 'a.sync-conflict-20261130-115525-n3-e25a9bf6.txt';
    await expectKept([emptyPeer, down], { nodeNames }, copyOp(copy, 'x', 'n3'));
  });

  it("is kept when a laptop's version lost: no node can ask the laptop (seed 859052651)", async () => {
    const copy = 'd2x200/r142.sync-conflict-20261204-163904-dev1-1be2f301.txt';
    await expectKept(emptyPeer, { nodeNames }, copyOp(copy, 'written on the laptop', 'dev1'));
  });

  it('is retired once the laptop that wrote it says it holds that content nowhere', async () => {
    const copy = 'd4/dev1-f6.sync-conflict-20261204-175919-dev1-73897002.txt';
    const gone = 'written on the laptop, deleted there before its upload read it';
    await withCopy(copyOp(copy, gone, 'dev1'), async ({ sync, index, pullUntilRetired }) => {
      await sync.syncNow();
      // Another laptop's word, or dev1's about another content, is not dev1's about this one.
      sync.authorLacks('dev2', [sha(gone)]);
      sync.authorLacks('dev1', [sha('something else')]);
      for (let i = 0; i < 6; i++) await sync.syncNow();
      expect(index.get('folder', copy)).toMatchObject({ deleted: false, need: true });
      sync.authorLacks('dev1', [sha(gone)]);
      await pullUntilRetired();
    });
  });

  it("is retired within seconds of the laptop's word, though its pulls had backed off to a minute", async () => {
    const copy = 'd5/f2.sync-conflict-20261204-182522-dev1-a491e7a8.txt';
    const gone = 'written on the laptop while it was cut off, deleted there since';
    await withCopy(copyOp(copy, gone, 'dev1'), async ({ sync, index }) => {
      // Stalled pull after pull: the next try is a minute away.
      for (let i = 0; i < 7; i++) await sync.syncNow();
      sync.authorLacks('dev1', [sha(gone)]);
      await waitFor(() => index.get('folder', copy)?.deleted === true, 20_000);
    });
  });

  it('is kept by a folder that knows no node names (a device)', async () => {
    const copy = 'a.sync-conflict-20261130-115525-n3-e25a9bf6.txt';
    await expectKept(emptyPeer, {}, copyOp(copy, 'fetched by no node yet', 'n3'));
  });
});

describe('a version of a laptop removed from the folder, whose content no node holds', () => {
  const LAPTOP = 'ddddddddddddddd1';
  /** The laptop's version of `path` (content `data`), after `vv`: it replaces that version. */
  const laptopOp = (path: string, data: string, vv: Record<string, number>, size = data.length) =>
    putOp(LAPTOP, path, data, 'lost-laptop', { ...vv, [LAPTOP]: 1 }, size);
  const removed = { nodeNames, goneAuthors: () => Promise.resolve(new Set(['lost-laptop'])) };

  it('gives the path back the file this disk holds, by an operation of this node', async () => {
    const root = join(base, 'folder');
    const { sync, index, changes } = await pullingFolder(db, root, emptyPeer, removed);
    try {
      await writeFile(join(root, 'notes.txt'), 'kept at home\n');
      // Written a while ago (a file still changing is not indexed yet).
      const before = new Date(Date.now() - 60_000);
      await utimes(join(root, 'notes.txt'), before, before);
      await sync.syncNow();
      const mine = index.get('folder', 'notes.txt');
      expect(mine?.origin).toBe(SELF);
      await changes.receive([
        laptopOp('notes.txt', 'written on the laptop, never sent', mine?.vv ?? {}),
      ]);
      expect(index.get('folder', 'notes.txt')?.need).toBe(true);
      for (let i = 0; i < 6 && index.get('folder', 'notes.txt')?.need === true; i++) {
        await sync.syncNow();
      }
      const row = index.get('folder', 'notes.txt');
      expect(row).toMatchObject({
        deleted: false,
        need: false,
        origin: SELF,
        hash: sha('kept at home\n'),
      });
      expect(row?.vv).toMatchObject({ [LAPTOP]: 1, [SELF]: 2 });
      expect(await readFile(join(root, 'notes.txt'), 'utf8')).toBe('kept at home\n');
    } finally {
      await sync.close();
    }
  });

  it('deletes a new file of it that no node ever had, large or small', async () => {
    const root = join(base, 'folder');
    const { sync, index, changes } = await pullingFolder(db, root, emptyPeer, removed);
    try {
      const small = laptopOp('new.txt', 'only ever on the laptop', {});
      const large = {
        ...laptopOp('film.mov', 'a film only on the laptop', {}, 5 * 1024 * 1024),
        seq: 2,
      };
      await changes.receive([small, large]);
      for (let i = 0; i < 6 && index.needed('folder', 10, '').length > 0; i++) {
        await sync.syncNow();
      }
      for (const path of ['new.txt', 'film.mov']) {
        expect(index.get('folder', path)).toMatchObject({
          deleted: true,
          need: false,
          origin: SELF,
        });
      }
    } finally {
      await sync.close();
    }
  });

  it("is kept while the laptop is not removed, and a node's own version always", async () => {
    await expectKept(
      emptyPeer,
      { nodeNames, goneAuthors: () => Promise.resolve(new Set()) },
      laptopOp('a.txt', 'x', {}),
    );
    // A node's version that is no copy: its bytes may come back with the node (its trash).
    const byNode = laptopOp('b.txt', 'y', {});
    await expectKept(emptyPeer, removed, {
      ...byNode,
      seq: 2,
      body: { ...byNode.body, originName: 'n3' },
    });
  });
});

/**
 * A node (peers: one that holds nothing) that has received the copy `op` makes; `run` gets its
 * folder and `pullUntilRetired`, which pulls (at most six times) until the copy is deleted.
 */
async function withCopy(
  op: PutOp,
  run: (t: {
    sync: FolderSync;
    index: FolderIndexRepository;
    pullUntilRetired: () => Promise<void>;
  }) => Promise<void>,
): Promise<void> {
  const root = join(base, 'folder');
  const { sync, index, changes } = await pullingFolder(db, root, emptyPeer, { nodeNames });
  const path = op.body.path;
  const pullUntilRetired = async () => {
    for (let i = 0; i < 6 && index.get('folder', path)?.need === true; i++) await sync.syncNow();
    expect(index.get('folder', path)).toMatchObject({ deleted: true, need: false });
  };
  try {
    await changes.receive([op]);
    await run({ sync, index, pullUntilRetired });
  } finally {
    await sync.close();
  }
}

/** Polls `check` every 50 ms until it holds; throws after `timeoutMs`. */
async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not so within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** After six pulls from `peers`, the copy `op` makes is still needed, not deleted. */
async function expectKept(
  peers: ContentSource | ContentSource[],
  deps: Partial<FolderSyncDeps>,
  op: PutOp,
): Promise<void> {
  const { sync, index, changes } = await pullingFolder(db, join(base, 'folder'), peers, deps);
  try {
    await changes.receive([op]);
    for (let i = 0; i < 6; i++) await sync.syncNow();
    expect(index.get('folder', op.body.path)).toMatchObject({ deleted: false, need: true });
  } finally {
    await sync.close();
  }
}
