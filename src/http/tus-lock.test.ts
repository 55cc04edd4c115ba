/**
 * The tus lock of a scaled site when the database goes away while a request holds it: the
 * request's work is done, so giving the lock back must not fail it. Found by a walk of a
 * scaled site with PostgreSQL stopped (`pg_ctl stop -m immediate`) during tus uploads: the last
 * PATCH had made the picture and removed the upload, then its unlock's DELETE of the lease row
 * failed and the PATCH answered 503; the client's HEAD then found no upload (404) and started
 * over.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { LeaseRepository } from '../storage/metadata/lease.repository.js';
import { LeaseLocker } from './tus-lock.js';

/** Leases in memory; `down` makes every call fail as a pool does when PostgreSQL is gone. */
function leases() {
  const held = new Map<string, string>();
  const state = { down: false };
  const outage = () =>
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
  const repo = {
    acquire: async (name: string, holder: string) => {
      if (state.down) throw outage();
      const other = held.get(name);
      if (other !== undefined && other !== holder) return null;
      held.set(name, holder);
      return { name, holder, token: 1, expiresAt: Date.now() + 15_000 };
    },
    renew: async () => null,
    drop: async (name: string) => {
      if (state.down) throw outage();
      held.delete(name);
    },
  } as unknown as LeaseRepository;
  return { repo, state, held };
}

describe('LeaseLocker', () => {
  it('unlocks without failing when the lease row cannot be deleted (the database gone)', async () => {
    const { repo, state, held } = leases();
    const locker = new LeaseLocker(repo, pino({ level: 'silent' }), { pollMs: 5 });
    const lock = locker.newLock('u1');
    await lock.lock(new AbortController().signal, () => undefined);
    expect(held.get('tus:u1')).toBeDefined();

    state.down = true;
    await expect(lock.unlock()).resolves.toBeUndefined();

    // This process's own lock is free again: the row left behind expires in the database.
    state.down = false;
    held.delete('tus:u1');
    const next = locker.newLock('u1');
    await next.lock(AbortSignal.timeout(1000), () => undefined);
    await next.unlock();
    expect(held.has('tus:u1')).toBe(false);
  });
});
