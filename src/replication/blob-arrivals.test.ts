/**
 * BlobArrivals against a real SQLite database and op log; the blob store's `has` is held open
 * by the test to keep one flush running while the next batch arrives.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { BlobStore } from '../blobs/blob-store.js';
import { encodeHlc } from '../core/hlc.js';
import { openDatabase, type Db } from '../db/database.js';
import { storeFor } from '../folders/testing.js';
import { openReplicaState } from '../oplog/replica-state.js';
import { BlobArrivals } from './blob-arrivals.js';

const REMOTE = 'bbbbbbbbbbbbbbbb';
let base: string;
let db: Db;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'mosaic-blob-arrivals-'));
  db = openDatabase(join(base, 'mosaic.db'));
});
afterEach(async () => {
  db.close();
  await rm(base, { recursive: true, force: true });
});

it('a flush still running keeps the arrivals busy, and stop waits for it', async () => {
  const store = storeFor(db);
  const { pictures, changes } = openReplicaState(store, 'aaaaaaaaaaaaaaaa');
  const ids = ['1'.repeat(64), '2'.repeat(64)] as const;
  for (const [i, id] of ids.entries()) {
    const wall = Date.now() + i;
    await changes.receive([
      {
        origin: REMOTE,
        seq: i + 1,
        hlc: encodeHlc({ wall, counter: 0, node: REMOTE }),
        body: {
          kind: 'picture.create',
          id,
          contentType: 'image/png',
          size: 10,
          width: 1,
          height: 1,
          owner: 'admin',
          originName: 'remote',
          createdAt: wall,
          title: 't',
          category: '',
          desc: '',
        },
      },
    ]);
  }
  // The first picture's bytes are looked for until the test lets go (a slow store).
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let heldOpen = false;
  const blobs = {
    has: async (id: string) => {
      if (id === ids[0]) {
        heldOpen = true;
        await held;
      }
      return true;
    },
  } as unknown as BlobStore;
  const shown: string[] = [];
  const arrivals = new BlobArrivals(
    { store, pictures, blobs, log: pino({ level: 'silent' }) },
    {
      settle: () => undefined,
      retryLater: () => 0,
      shown: (visible) => shown.push(...visible),
    },
  );
  const visible = async (id: string) => (await pictures.get(id))?.hasBlob === true;

  arrivals.markArrived(ids[0], null);
  await expect.poll(() => heldOpen).toBe(true);
  arrivals.markArrived(ids[1], null);
  // Whatever the second batch does meanwhile, the first flush is still running: busy. (Before,
  // the second flush's end cleared the mark while the first ran: busy() said false and stop()
  // returned with a transaction still to come, the database about to close under it.)
  const until = Date.now() + 300;
  while (Date.now() < until) {
    expect(arrivals.busy()).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
  }
  expect(await visible(ids[0])).toBe(false);
  let stopped = false;
  const stopping = arrivals.stop().then(() => {
    stopped = true;
  });
  await new Promise((r) => setTimeout(r, 20));
  expect(stopped).toBe(false);
  release();
  await stopping;
  expect(await visible(ids[0])).toBe(true);
  expect(await visible(ids[1])).toBe(true);
  expect(arrivals.busy()).toBe(false);
  expect(shown.sort()).toEqual([...ids]);
});
