import { expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { encodeHlc } from '../core/hlc.js';
import { ShareRepository, type ShareRecord } from './share.repository.js';

const at = (wall: number, node = 'n1') => encodeHlc({ wall, counter: 0, node });
const share = (id: string, owner = 'ann'): ShareRecord => ({
  id,
  target: 'album',
  targetId: 'a'.repeat(32),
  owner,
  createdAt: 1_000,
  expiresAt: null,
  passwordHash: null,
});

describeEachDialect('share repository', (ctx) => {
  it('finds a link until it is revoked, and a revocation that came first wins', async () => {
    const store = await ctx.open();
    const repo = new ShareRepository(store.db);
    const one = share('1'.repeat(32));
    await store.transaction((trx) => repo.put(trx, one, at(1)));
    expect(await repo.get(one.id)).toEqual(one);
    await store.transaction((trx) => repo.revoke(trx, one.id, at(2)));
    expect(await repo.get(one.id)).toBeNull();
    // Revoked before its put arrived (another node's order): never valid here.
    const two = { ...share('2'.repeat(32), 'bob'), expiresAt: 5_000, passwordHash: 'scrypt$x' };
    await store.transaction((trx) => repo.revoke(trx, two.id, at(4, 'n2')));
    await store.transaction((trx) => repo.put(trx, two, at(3)));
    expect(await repo.get(two.id)).toBeNull();
    const three = { ...share('3'.repeat(32), 'bob'), expiresAt: 5_000, passwordHash: 'scrypt$x' };
    await store.transaction((trx) => repo.put(trx, three, at(5)));
    await store.transaction((trx) => repo.put(trx, three, at(5)));
    expect(await repo.list('bob')).toEqual([three]);
    expect(await repo.list('ann')).toEqual([]);
    expect(await repo.list(null)).toEqual([three]);
  });
});
