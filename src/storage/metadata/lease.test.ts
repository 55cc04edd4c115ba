import { performance } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import { describeEachDialect } from '../../../test/helpers/dialects.js';
import { LeaseKeeper } from './lease-keeper.js';
import { LeaseRepository, type LeaseGrant } from './lease.repository.js';

const NAME = 'replication';

async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 10_000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describeEachDialect('lease', (ctx) => {
  async function twoProcesses() {
    const url = await ctx.newStoreUrl();
    const [a, b] = [await ctx.open(url), await ctx.open(url)];
    return {
      a: { store: a, leases: new LeaseRepository(a.db, a.dialect) },
      b: { store: b, leases: new LeaseRepository(b.db, b.dialect) },
    };
  }

  it('has one holder; renew and release need its token; tokens only grow', async () => {
    const { a, b } = await twoProcesses();
    const first = await a.leases.acquire(NAME, 'A', 10_000);
    expect(first?.token).toBe(1);
    expect(await b.leases.acquire(NAME, 'B', 10_000)).toBeNull();
    expect((await a.leases.acquire(NAME, 'A', 10_000))?.token).toBe(1);
    expect(await b.leases.renew(NAME, 'B', 1, 10_000)).toBeNull();
    expect((await a.leases.renew(NAME, 'A', 1, 10_000))?.token).toBe(1);
    await b.leases.release(NAME, 'B', 1);
    expect(await b.leases.acquire(NAME, 'B', 10_000)).toBeNull();

    await a.leases.release(NAME, 'A', 1);
    const second = await b.leases.acquire(NAME, 'B', 10_000);
    expect(second?.token).toBe(2);
    expect(await a.leases.renew(NAME, 'A', 1, 10_000)).toBeNull();
    expect(await a.store.transaction((trx) => a.leases.holds(trx, NAME, 1))).toBe(false);
    expect(await b.store.transaction((trx) => b.leases.holds(trx, NAME, 2))).toBe(true);
  });

  it('is taken over once expired on the database clock, with the next token', async () => {
    const { a, b } = await twoProcesses();
    const ttl = 300;
    const held = await a.leases.acquire(NAME, 'A', ttl);
    if (!held) throw new Error('not acquired');
    const taken = await waitFor('takeover', () => b.leases.acquire(NAME, 'B', 10_000));
    const takenAt = taken.expiresAt - 10_000;
    expect(takenAt).toBeGreaterThanOrEqual(held.expiresAt);
    expect(takenAt - held.expiresAt).toBeLessThan(500);
    expect(taken.token).toBe(held.token + 1);
    expect(await a.leases.renew(NAME, 'A', held.token, ttl)).toBeNull();
  });

  // SQLite has one writer at a time (BEGIN IMMEDIATE): a takeover cannot run beside the
  // fenced transaction there, and two connections of one process would only wait on each other.
  it.skipIf(ctx.dialect === 'sqlite')(
    'lets no takeover complete while a write fenced by the token is open',
    async () => {
      const { a, b } = await twoProcesses();
      const held = await a.leases.acquire(NAME, 'A', 300);
      if (!held) throw new Error('not acquired');
      let taken: LeaseGrant | null = null;
      const takeover = waitFor('takeover', () => b.leases.acquire(NAME, 'B', 10_000)).then(
        (grant) => (taken = grant),
      );
      await a.store.transaction(async (trx) => {
        expect(await a.leases.holds(trx, NAME, held.token)).toBe(true);
        const pastExpiry = performance.now() + 900;
        await waitFor('the lease to expire meanwhile', () => performance.now() > pastExpiry);
        await trx.insertInto('meta').values({ key: 'fenced', value: 'A' }).execute();
        expect(taken).toBeNull();
      });
      expect((await takeover).token).toBe(held.token + 1);
    },
  );

  it('moves to a standby within TTL + TTL/3 when the holder dies; the holder stops first', async () => {
    const { a, b } = await twoProcesses();
    const ttl = 900;
    const events: { who: string; what: string; token: number; at: number }[] = [];
    const keeper = (who: string, leases: LeaseRepository) =>
      new LeaseKeeper(leases, {
        name: NAME,
        holder: who,
        ttlMs: ttl,
        onAcquired: (token) => events.push({ who, what: 'acquired', token, at: performance.now() }),
        onLost: (token) => events.push({ who, what: 'lost', token, at: performance.now() }),
        onError: () => undefined,
      });
    const holder = keeper('A', a.leases);
    const standby = keeper('B', b.leases);
    holder.start();
    await waitFor('A holds', () => holder.heldToken());
    standby.start();
    // A keeps it across several renewals while B keeps trying.
    const renewed = performance.now() + 2 * ttl;
    await waitFor('two TTLs', () => performance.now() > renewed);
    expect(standby.heldToken()).toBeNull();
    expect(holder.heldToken()).toBe(1);

    // A dies: its connection is gone and it renews no more.
    await a.store.close();
    const diedAt = performance.now();
    const token = await waitFor('B holds', () => standby.heldToken());
    const takeover = performance.now() - diedAt;
    expect(token).toBe(2);
    expect(takeover).toBeLessThan(ttl + ttl / 3 + 400);
    const lost = events.find((e) => e.who === 'A' && e.what === 'lost');
    const acquired = events.find((e) => e.who === 'B' && e.what === 'acquired');
    expect(lost && acquired && lost.at <= acquired.at).toBe(true);
    await standby.stop();
    await holder.stop();
  });

  it('goes to a standby at its next try when the holder stops', async () => {
    const { a, b } = await twoProcesses();
    const ttl = 3000;
    const holder = new LeaseKeeper(a.leases, { name: NAME, ttlMs: ttl });
    const standby = new LeaseKeeper(b.leases, { name: NAME, ttlMs: ttl });
    holder.start();
    await waitFor('A holds', () => holder.heldToken());
    standby.start();
    await holder.stop();
    const stoppedAt = performance.now();
    expect(await waitFor('B holds', () => standby.heldToken())).toBe(2);
    expect(performance.now() - stoppedAt).toBeLessThan(ttl / 3 + 400);
    await standby.stop();
  });

  it('drops a lease only with its token, and sweeps the expired ones of a prefix', async () => {
    const { a, b } = await twoProcesses();
    const lock = await a.leases.acquire('tus:1', 'A', 10_000);
    if (!lock) throw new Error('not acquired');
    await b.leases.drop('tus:1', 'B', lock.token);
    expect(await b.leases.acquire('tus:1', 'B', 10_000)).toBeNull();
    await a.leases.drop('tus:1', 'A', lock.token);
    expect(await a.leases.current('tus:1')).toBeNull();
    expect((await b.leases.acquire('tus:1', 'B', 10_000))?.token).toBe(1);

    // Leases whose holders died a minute ago (a negative TTL: already expired when written).
    await a.leases.acquire('tus:dead', 'A', -60_000);
    await a.leases.acquire('tusx', 'A', -60_000);
    await a.leases.acquire(NAME, 'A', -60_000);
    expect(await b.leases.dropExpired('tus:')).toBe(1);
    expect(await a.leases.current('tus:dead')).toBeNull();
    // Held ones, other names and the once-per-site leases stay.
    expect(await a.leases.current('tus:1')).not.toBeNull();
    expect(await a.leases.current('tusx')).not.toBeNull();
    expect(await a.leases.current(NAME)).not.toBeNull();
  });
});
