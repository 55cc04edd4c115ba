import { createHook } from 'node:async_hooks';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { MetadataStore } from './dialect.js';
import { openSqliteStore } from './sqlite.js';

let dir: string;
let store: MetadataStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-sqlite-driver-'));
  store = openSqliteStore(join(dir, 'mosaic.db'));
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** A transaction that holds the connection until `release` is called; resolves at its end. */
function heldTransaction(
  body: (trx: Parameters<Parameters<MetadataStore['transaction']>[0]>[0]) => Promise<void>,
): { release: () => void; done: Promise<void>; started: Promise<void> } {
  let release = (): void => undefined;
  let started = (): void => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const begun = new Promise<void>((resolve) => (started = resolve));
  const done = store.transaction(async (trx) => {
    started();
    await gate;
    await body(trx);
  });
  return { release, done, started: begun };
}

/** Reads the meta value `key` as the store's connection sees it now. */
async function readMeta(key: string): Promise<string | undefined> {
  const row = await store.db
    .selectFrom('meta')
    .select('value')
    .where('key', '=', key)
    .executeTakeFirst();
  return row?.value;
}

it('queues queries behind a transaction, in order, each seeing what it committed', async () => {
  const held = heldTransaction(async (trx) => {
    await trx.insertInto('meta').values({ key: 'k', value: 'committed' }).execute();
  });
  await held.started;
  const order: number[] = [];
  const reads = Array.from({ length: 300 }, (_, i) =>
    readMeta('k').then((value) => {
      order.push(i);
      return value;
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(order).toEqual([]); // nothing ran while the transaction held the connection
  held.release();
  await held.done;
  expect(await Promise.all(reads)).toEqual(Array.from({ length: 300 }, () => 'committed'));
  expect(order).toEqual(Array.from({ length: 300 }, (_, i) => i));
});

it('hands the connection on after a transaction that failed, and to the next transaction', async () => {
  const failing = heldTransaction(async (trx) => {
    await trx.insertInto('meta').values({ key: 'gone', value: 'x' }).execute();
    throw new Error('boom');
  });
  await failing.started;
  const next = store.transaction(async (trx) => {
    await trx.insertInto('meta').values({ key: 'kept', value: 'y' }).execute();
  });
  const read = readMeta('gone');
  failing.release();
  await expect(failing.done).rejects.toThrow('boom');
  await next;
  expect(await read).toBeUndefined();
  expect(await readMeta('kept')).toBe('y');
  // The connection is free again: a statement outside any transaction runs at once.
  expect((await sql<{ one: number }>`select 1 as one`.execute(store.db)).rows).toEqual([
    { one: 1 },
  ]);
});

/** Promises created from when `waiters` queries queue behind a transaction until all are done. */
async function promisesPerWaiter(waiters: number): Promise<number> {
  const held = heldTransaction(async () => undefined);
  await held.started;
  let promises = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') promises++;
    },
  }).enable();
  try {
    const reads = Array.from({ length: waiters }, () => readMeta('none'));
    held.release();
    await held.done;
    await Promise.all(reads);
  } finally {
    hook.disable();
  }
  return promises / waiters;
}

it('costs a waiting query the same work whatever the length of the queue', async () => {
  // Kysely's mutex for one connection woke every waiter at each release, all but one to wait
  // again: work per query grew with the queue (a catch-up queues hundreds).
  const few = await promisesPerWaiter(20);
  const many = await promisesPerWaiter(400);
  expect(many).toBeLessThan(few * 1.5);
});
