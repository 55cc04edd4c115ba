/**
 * The start hold (start-hold.ts) over a real ChangeLog: a change waits for the peers' first
 * answers; a process that does not lead, or a lead's start that never ends, does not hold it
 * for ever.
 */
import pino from 'pino';
import { afterEach, expect, test, vi } from 'vitest';
import { openDatabase } from '../db/database.js';
import { openReplicaState } from '../oplog/replica-state.js';
import type { Replicator } from '../replication/replicator.js';
import { sqliteStoreOver } from '../storage/metadata/sqlite.js';
import { holdOwnChanges, START_HOLD_MS } from './start-hold.js';

const update = { kind: 'picture.update', id: 'f'.repeat(64), title: 'x' } as const;

function changeLog() {
  const store = sqliteStoreOver(openDatabase(':memory:'));
  return { store, changes: openReplicaState(store, 'aaaaaaaaaaaaaaaa').changes };
}

/** Whether `p` settles within a few turns of the event loop (fake timers moved meanwhile). */
async function settles(p: Promise<unknown>, advanceMs = 0): Promise<boolean> {
  const state = { done: false };
  void p.then(() => {
    state.done = true;
  });
  await vi.advanceTimersByTimeAsync(advanceMs);
  for (let i = 0; i < 20 && !state.done; i++) await new Promise((r) => setImmediate(r));
  return state.done;
}

afterEach(() => {
  vi.useRealTimers();
});

test('held until the peers first answer, released at once by a process that does not lead', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  const { store, changes } = changeLog();
  let answered: (all: boolean) => void = () => undefined;
  const replicator = {
    started: true,
    firstHellos: (bound: number) => {
      expect(bound).toBe(START_HOLD_MS);
      return new Promise<boolean>((resolve) => {
        answered = resolve;
      });
    },
  } as unknown as Replicator;
  const hold = holdOwnChanges(changes, replicator, pino({ level: 'silent' }));
  const first = changes.commit(update);
  hold.afterLead(true);
  expect(await settles(first)).toBe(false);
  answered(true);
  expect(await settles(first)).toBe(true);

  const other = changeLog();
  const follower = holdOwnChanges(other.changes, replicator, pino({ level: 'silent' }));
  const second = other.changes.commit(update);
  follower.afterLead(false);
  expect(await settles(second)).toBe(true);
  await store.close();
  await other.store.close();
});

test("a lead's start that never ends holds own changes for a bounded time only", async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  const { store, changes } = changeLog();
  const replicator = { started: false } as unknown as Replicator;
  holdOwnChanges(changes, replicator, pino({ level: 'silent' })); // afterLead never called
  const change = changes.commit(update);
  expect(await settles(change, START_HOLD_MS)).toBe(false);
  expect(await settles(change, 3 * START_HOLD_MS)).toBe(true);
  await store.close();
});
