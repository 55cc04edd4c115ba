/**
 * DevicePush alone, with stand-ins for the node's client and the device's log: one push at a
 * time, whether it was asked for by `now()` (a `--once` run) or kicked by a commit meanwhile.
 */
import pino from 'pino';
import { expect, it } from 'vitest';
import type { FolderSync } from '../folders/folder-sync.js';
import type { Op } from '../oplog/op.js';
import type { OpLogRepository } from '../oplog/oplog.repository.js';
import type { DeviceClient } from './device-client.js';
import { DevicePush } from './device-push.js';

const DEVICE = 'dddddddddddddddd';

/** Deletions only: nothing to upload before they are pushed. */
const deletion = (seq: number): Op =>
  ({
    origin: DEVICE,
    seq,
    hlc: String(seq),
    body: { kind: 'file.put', deleted: true },
  }) as unknown as Op;

it('a push kicked while now() pushes waits for it, then runs', async () => {
  const log: Op[] = [deletion(1), deletion(2)];
  let running = 0;
  let most = 0;
  let release = (): void => undefined;
  let held: Promise<void> | null = new Promise<void>((resolve) => {
    release = resolve;
  });
  const pushed: number[][] = [];
  const client = {
    push: async (_device: string, ops: readonly Op[]) => {
      running++;
      most = Math.max(most, running);
      pushed.push(ops.map((o) => o.seq));
      if (held) await held;
      running--;
      return ops[ops.length - 1]?.seq ?? 0;
    },
    missing: () => Promise.resolve([]),
    wanted: () => Promise.resolve([]),
  } as unknown as DeviceClient;
  const oplog = {
    range: (_origin: string, after: number, limit: number) =>
      Promise.resolve(log.filter((o) => o.seq > after).slice(0, limit)),
  } as unknown as OpLogRepository;
  let pushedLines = 0;
  const push = new DevicePush(
    client,
    DEVICE,
    oplog,
    {} as unknown as FolderSync,
    pino({ level: 'silent' }),
    () => pushedLines++,
  );

  const once = push.now();
  await expect.poll(() => running).toBe(1);
  // A commit meanwhile (the scan of a --once run) kicks a push.
  log.push(deletion(3));
  push.kick();
  await new Promise((r) => setTimeout(r, 30));
  expect(running).toBe(1);
  held = null;
  release();
  await once;
  await push.idle();
  // Before, the kicked push ran beside now()'s: the same operations sent twice at once.
  expect(most).toBe(1);
  expect(pushed.flat().sort()).toEqual([1, 2, 3]);
  expect(push.acked).toBe(3);
  expect(push.failed).toBe(false);
});
