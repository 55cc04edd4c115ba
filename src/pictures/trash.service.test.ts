import pino from 'pino';
import { expect, it, vi } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import type { Op, PicturePurge, PictureRestore } from '../oplog/op.js';
import { TrashRepository } from './trash.repository.js';
import {
  EMPTY_BATCH,
  TrashService,
  type TrashChanges,
  type TrashServiceDeps,
} from './trash.service.js';
import { addPicture, at, pic } from './trash.testing.js';

const DAY = 24 * 3600 * 1000;
const NOW = 10 * DAY;

describeEachDialect('trash service', (ctx) => {
  /**
   * The trash over a real store, with the operations' log played by a recorder that applies
   * each purge as the op's apply would (the service's one other port; the rest is unused here).
   */
  async function open(
    blobs: TrashServiceDeps['blobs'] = { purgeTrashed: () => Promise.resolve(false) },
  ) {
    const store = await ctx.open();
    const repo = new TrashRepository(store.db);
    const batches: string[][] = [];
    let clock = NOW;
    const changes: TrashChanges = {
      commit: (_body: PictureRestore | PicturePurge) => Promise.reject(new Error('not here')),
      async commitMany(bodies: readonly PicturePurge[]) {
        batches.push(bodies.map((b) => b.id));
        await store.transaction(async (trx) => {
          for (const b of bodies) await repo.purge(trx, b.id, at(++clock));
        });
        return [] as Op[];
      },
    };
    const service = new TrashService({
      trash: repo,
      changes,
      blobs,
      thumbs: { read: () => Promise.resolve(null), remove: () => Promise.resolve() },
      retentionMs: 30 * DAY,
      settleBytes: () => Promise.resolve(),
      log: pino({ level: 'silent' }),
      now: () => NOW,
    });
    return { store, service, batches };
  }

  it('empties every page of the trash, in batches, and only what the caller may', async () => {
    const { store, service, batches } = await open();
    // Three batches, and more than the 500 one listing gave before: every tenth is bob's.
    const count = 3 * EMPTY_BATCH - 40;
    for (let n = 1; n <= count; n++) {
      await addPicture(store, n, NOW - n * 1000, n % 10 === 0 ? 'bob' : 'ann');
    }
    const bob = { username: 'bob', role: 'user' as const };
    const admin = { username: 'admin', role: 'admin' as const };
    expect(await service.list(bob, { limit: 10 })).toMatchObject({
      total: count,
      yours: count / 10,
    });

    const bobs = count / 10;
    expect(await service.empty(bob)).toBe(bobs);
    expect(batches.flat()).toHaveLength(bobs);
    const left = await service.list(admin, { limit: 500 });
    expect([left.total, left.yours, left.items.length]).toEqual([count - bobs, count - bobs, 500]);
    expect(left.items.every((t) => t.owner === 'ann')).toBe(true);
    expect(left.next).not.toBeNull();

    batches.length = 0;
    expect(await service.empty(admin)).toBe(count - bobs);
    expect(batches.map((b) => b.length)).toEqual([EMPTY_BATCH, EMPTY_BATCH, 104]);
    expect(new Set(batches.flat()).size).toBe(count - bobs);
    expect(batches.flat()).toContain(pic(1));
    expect(await service.list(admin, { limit: 500 })).toMatchObject({ items: [], total: 0 });
  });

  it('removes the bytes of an emptied trash a few at a time, every one of them', async () => {
    let running = 0;
    let most = 0;
    const purged: string[] = [];
    const { service } = await open({
      async purgeTrashed(id: string) {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 2));
        running--;
        purged.push(id);
        return true;
      },
    });
    const ids = Array.from({ length: 60 }, (_, i) => pic(i + 1));
    service.onOps(
      ids.map((id, i) => ({
        origin: 'n1',
        seq: i + 1,
        hlc: at(NOW + i),
        body: { kind: 'picture.purge', id },
      })),
    );
    await vi.waitFor(
      () => {
        expect(purged).toHaveLength(ids.length);
      },
      { timeout: 5000, interval: 10 },
    );
    expect(new Set(purged)).toEqual(new Set(ids));
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(8);
  });
});
