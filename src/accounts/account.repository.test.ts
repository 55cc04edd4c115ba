import { expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { ConflictError } from '../core/errors.js';
import { openReplicaState } from '../oplog/replica-state.js';
import { SqlAccountRepository } from './account.repository.js';
import { AccountService } from './account.service.js';

const hlc = (n: number) =>
  `${String(1_700_000_000_000 + n).padStart(16, '0')}-0000-aaaaaaaaaaaaaaaa`;
const admin = (hash: string) => ({ username: 'admin', passwordHash: hash, role: 'admin' as const });

describeEachDialect('accounts: when a replicated password ends sessions', (ctx) => {
  it('two nodes seeding the same account: the losing hash signs nobody out', async () => {
    const store = await ctx.open();
    const accounts = new SqlAccountRepository(store);
    await accounts.putUser(store.db, admin('hash-of-this-node'), hlc(1));
    await accounts.createSession('s1', 'admin', 10, 10_000);
    // The other node's seed (same password, another salt) arrives and wins by HLC.
    await accounts.putUser(store.db, admin('hash-of-the-other-node'), hlc(2));
    expect(await accounts.findSession('s1', 20)).toEqual({ username: 'admin', role: 'admin' });
    expect((await accounts.getUser('admin'))?.passwordHash).toBe('hash-of-the-other-node');
  });

  it('a password change or reset ends the sessions where it wins, not where it loses', async () => {
    const store = await ctx.open();
    const accounts = new SqlAccountRepository(store);
    await accounts.putUser(store.db, admin('old'), hlc(1));
    await accounts.createSession('s1', 'admin', 10, 10_000);
    // A change that a later put already overtook changes nothing and signs nobody out.
    await accounts.putUser(store.db, admin('newest'), hlc(5));
    await accounts.createSession('s2', 'admin', 10, 10_000);
    await accounts.putUser(store.db, admin('stale-change'), hlc(3), true);
    expect(await accounts.findSession('s2', 20)).toEqual({ username: 'admin', role: 'admin' });
    // A change that wins ends every session of the account.
    await accounts.putUser(store.db, admin('changed'), hlc(9), true);
    expect(await accounts.findSession('s1', 20)).toBeNull();
    expect(await accounts.findSession('s2', 20)).toBeNull();
  });
});

describeEachDialect('accounts: listed, and added once', (ctx) => {
  it('lists every account with its role, by name whatever its case', async () => {
    const store = await ctx.open();
    const accounts = new SqlAccountRepository(store);
    const user = (username: string, role: 'admin' | 'user' = 'user') => ({
      username,
      passwordHash: 'h',
      role,
    });
    for (const [i, u] of [
      user('zoe'),
      user('Bob'),
      user('admin', 'admin'),
      user('anna'),
    ].entries()) {
      await accounts.putUser(store.db, u, hlc(i));
    }
    expect(await accounts.listUsers()).toEqual([
      { username: 'admin', role: 'admin' },
      { username: 'anna', role: 'user' },
      { username: 'Bob', role: 'user' },
      { username: 'zoe', role: 'user' },
    ]);
  });

  it('two requests adding one name at once (two processes of a site): one account, one 409', async () => {
    const stores = await ctx.openWriters(2);
    const services = stores.map((store) => {
      const { accounts, changes } = openReplicaState(store, 'cccccccccccccccc');
      return { accounts, service: new AccountService(accounts, changes) };
    });
    const outcomes = await Promise.allSettled(
      services.map(({ service }, i) => service.addUser('carol', `password-${i}`)),
    );
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((o) => o.status === 'rejected');
    expect(refused?.reason).toBeInstanceOf(ConflictError);
    // The account is the one that was added: its password signs in.
    const added = outcomes.findIndex((o) => o.status === 'fulfilled');
    const { service } = services[0] ?? expect.unreachable();
    await expect(service.login('carol', `password-${added}`)).resolves.toMatchObject({
      principal: { username: 'carol', role: 'user' },
    });
  });
});
