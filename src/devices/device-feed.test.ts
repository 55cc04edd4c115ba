import { storeFor } from '../folders/testing.js';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../db/database.js';
import type { Op, OpBody } from '../oplog/op.js';
import { OpLogRepository } from '../oplog/oplog.repository.js';
import { DeviceFeed } from './device-feed.js';

const NODE = 'aaaaaaaaaaaaaaaa';
const OTHER = 'bbbbbbbbbbbbbbbb';
const DEVICE = 'dddddddddddddddd';

function put(folder: string, path: string): OpBody {
  return {
    kind: 'file.put',
    folder,
    path,
    entry: 'file',
    deleted: false,
    hash: null,
    size: 0,
    mtimeMs: 0,
    vv: {},
    originName: 'x',
  };
}

function op(origin: string, seq: number, body: OpBody): Op {
  return { origin, seq, hlc: `${String(seq).padStart(16, '0')}-0000-${origin}`, body };
}

async function setup(ops: Op[]): Promise<DeviceFeed> {
  const store = storeFor(openDatabase(':memory:'));
  const oplog = new OpLogRepository(store);
  for (const o of ops) await oplog.append(store.db, o);
  return new DeviceFeed(oplog);
}

describe('DeviceFeed', () => {
  const picture: OpBody = { kind: 'picture.delete', id: 'f'.repeat(64) };

  it("gives the folder's ops of every origin but the device's own, and a cursor past them", async () => {
    const feed = await setup([
      op(NODE, 1, put('docs', 'a')),
      op(NODE, 2, picture),
      op(NODE, 3, put('other', 'x')),
      op(NODE, 4, put('docs', 'b')),
      op(DEVICE, 1, put('docs', 'mine')),
      op(OTHER, 1, put('docs', 'c')),
    ]);
    const page = await feed.read('docs', DEVICE, {}, 100);
    expect(page.ops.map((o) => `${o.origin.slice(0, 1)}${o.seq}`)).toEqual(['a1', 'a4', 'b1']);
    expect(page.cursor).toEqual({ [NODE]: 4, [OTHER]: 1 });
    expect(page.more).toBe(false);
    expect((await feed.read('docs', DEVICE, page.cursor, 100)).ops).toEqual([]);
  });

  it('pages, and resumes where the last page ended', async () => {
    const feed = await setup([1, 2, 3, 4, 5].map((s) => op(NODE, s, put('docs', `f${s}`))));
    const first = await feed.read('docs', DEVICE, {}, 2);
    expect(first.ops.map((o) => o.seq)).toEqual([1, 2]);
    expect(first.more).toBe(true);
    const second = await feed.read('docs', DEVICE, first.cursor, 2);
    expect(second.ops.map((o) => o.seq)).toEqual([3, 4]);
    const third = await feed.read('docs', DEVICE, second.cursor, 2);
    expect(third.ops.map((o) => o.seq)).toEqual([5]);
    expect(third.more).toBe(false);
  });

  it('stops at a gap: an op that arrives late is still ahead of the cursor', async () => {
    const feed = await setup([op(NODE, 1, put('docs', 'a')), op(NODE, 3, put('docs', 'c'))]);
    const page = await feed.read('docs', DEVICE, {}, 100);
    expect(page.ops.map((o) => o.seq)).toEqual([1]);
    expect(page.cursor).toEqual({ [NODE]: 1 });
  });
});
