import { expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { ConflictError } from '../core/errors.js';
import { openReplicaState } from '../oplog/replica-state.js';
import { SqlAccountRepository } from './account.repository.js';
import { SqlCredentialRepository } from './credential.repository.js';
import { AccountService } from './account.service.js';

const hlc = (n: number) =>
  `${String(1_700_000_000_000 + n).padStart(16, '0')}-0000-aaaaaaaaaaaaaaaa`;
const admin = (hash: string) => ({ username: 'admin', passwordHash: hash, role: 'admin' as const });

describeEachDialect('accounts: when a replicated password ends sessions', (ctx) => {
  it('two nodes seeding the same account: the losing hash signs nobody out', async () => {
    const store = await ctx.open();
    const accounts = new SqlAccountRepository(store);
    const credentials = new SqlCredentialRepository(store);
    await accounts.putUser(store.db, admin('hash-of-this-node'), hlc(2), 'seed');
    await credentials.createSession('s1', 'admin', 10, 10_000);
    // The other node's seed (same password, another salt) arrives and wins: it is earlier.
    await accounts.putUser(store.db, admin('hash-of-the-other-node'), hlc(1), 'seed');
    expect(await credentials.findSession('s1', 20)).toEqual({ username: 'admin', role: 'admin' });
    expect((await accounts.getUser('admin'))?.passwordHash).toBe('hash-of-the-other-node');
  });

  it('a seed never replaces a created or changed password, and never sets the role', async () => {
    const store = await ctx.open();
    const accounts = new SqlAccountRepository(store);
    // The cluster's admin, demoted meanwhile and its password changed; then a joining node's
    // later seed arrives: nothing of it holds.
    await accounts.putUser(store.db, admin('first-seed'), hlc(1), 'seed');
    await accounts.setAccess(store.db, 'admin', { role: 'user' }, hlc(2));
    await accounts.putUser(store.db, { ...admin('chosen'), role: 'user' }, hlc(3), 'change');
    await accounts.putUser(store.db, admin('joining-node-seed'), hlc(9), 'seed');
    const held = await accounts.getUser('admin');
    expect(held?.passwordHash).toBe('chosen');
    expect(held?.role).toBe('user');
    // At another node, a change whose clock was behind a seed's still takes over from it.
    const other = await ctx.open();
    const b = new SqlAccountRepository(other);
    await b.putUser(other.db, admin('seed-of-b'), hlc(5), 'seed');
    await b.putUser(other.db, admin('changed-early'), hlc(4), 'change');
    expect((await b.getUser('admin'))?.passwordHash).toBe('changed-early');
  });

  it('a password change or reset ends the sessions where it wins, not where it loses', async () => {
    const store = await ctx.open();
    const accounts = new SqlAccountRepository(store);
    const credentials = new SqlCredentialRepository(store);
    await accounts.putUser(store.db, admin('old'), hlc(1));
    await credentials.createSession('s1', 'admin', 10, 10_000);
    // A change that a later put already overtook changes nothing and signs nobody out.
    await accounts.putUser(store.db, admin('newest'), hlc(5));
    await credentials.createSession('s2', 'admin', 10, 10_000);
    await accounts.putUser(store.db, admin('stale-change'), hlc(3), 'change');
    expect(await credentials.findSession('s2', 20)).toEqual({ username: 'admin', role: 'admin' });
    // A change that wins ends every session of the account.
    await accounts.putUser(store.db, admin('changed'), hlc(9), 'change');
    expect(await credentials.findSession('s1', 20)).toBeNull();
    expect(await credentials.findSession('s2', 20)).toBeNull();
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
      { username: 'admin', role: 'admin', disabled: false },
      { username: 'anna', role: 'user', disabled: false },
      { username: 'Bob', role: 'user', disabled: false },
      { username: 'zoe', role: 'user', disabled: false },
    ]);
  });

  it('two requests adding one name at once (two processes of a site): one account, one 409', async () => {
    const stores = await ctx.openWriters(2);
    const services = stores.map((store) => {
      const { accounts, credentials, changes } = openReplicaState(store, 'cccccccccccccccc');
      return { accounts, service: new AccountService(accounts, credentials, changes) };
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

describeEachDialect('accounts: role and state, registers of their own', (ctx) => {
  const bob = (hash: string) => ({ username: 'bob', passwordHash: hash, role: 'user' as const });

  it('a role change and a password change made meanwhile at another node are both kept', async () => {
    const store = await ctx.open();
    const accounts = new SqlAccountRepository(store);
    await accounts.putUser(store.db, bob('first'), hlc(1));
    await accounts.setAccess(store.db, 'bob', { role: 'admin' }, hlc(5));
    // Bob's own password change, later by HLC, still carrying the role he had when he made it.
    await accounts.putUser(store.db, bob('changed'), hlc(7), 'change');
    expect(await accounts.getUser('bob')).toEqual({
      username: 'bob',
      passwordHash: 'changed',
      role: 'admin',
      disabled: false,
    });
  });

  it('disabling ends the sessions and refuses any session opened meanwhile', async () => {
    const store = await ctx.open();
    const accounts = new SqlAccountRepository(store);
    const credentials = new SqlCredentialRepository(store);
    await accounts.putUser(store.db, bob('h'), hlc(1));
    await credentials.createSession('s1', 'bob', 10, 10_000);
    await accounts.setAccess(store.db, 'bob', { disabled: true }, hlc(2));
    expect(await credentials.findSession('s1', 20)).toBeNull();
    // A sign-in that checked the account just before the disable committed.
    await credentials.createSession('s2', 'bob', 10, 10_000);
    expect(await credentials.findSession('s2', 20)).toBeNull();
    // Enabled again: the sessions of before stay ended; a new one works.
    await accounts.setAccess(store.db, 'bob', { disabled: false }, hlc(3));
    expect(await credentials.findSession('s1', 20)).toBeNull();
    await credentials.createSession('s3', 'bob', 10, 10_000);
    expect(await credentials.findSession('s3', 20)).toEqual({ username: 'bob', role: 'user' });
    // A stale disable (ordered before the enable) changes nothing and signs nobody out.
    await accounts.setAccess(store.db, 'bob', { disabled: true }, hlc(2));
    expect(await credentials.findSession('s3', 20)).toEqual({ username: 'bob', role: 'user' });
  });

  it('a change that arrives before the account is folded into it when it arrives', async () => {
    const store = await ctx.open();
    const accounts = new SqlAccountRepository(store);
    await accounts.setAccess(store.db, 'bob', { disabled: true }, hlc(4));
    await accounts.setAccess(store.db, 'bob', { role: 'admin' }, hlc(2));
    expect(await accounts.getUser('bob')).toBeNull();
    expect(await accounts.countUsers()).toBe(0);
    // The creation is older than the disable and newer than the role change.
    await accounts.putUser(store.db, bob('h'), hlc(3));
    expect(await accounts.getUser('bob')).toMatchObject({ role: 'user', disabled: true });
    expect(await accounts.listUsers()).toEqual([{ username: 'bob', role: 'user', disabled: true }]);
    // Folded once: a later creation put (another node's) does not apply the early change again.
    await accounts.setAccess(store.db, 'bob', { disabled: false }, hlc(6));
    await accounts.putUser(store.db, bob('h2'), hlc(8));
    expect(await accounts.getUser('bob')).toMatchObject({ role: 'user', disabled: false });
  });

  it('finds the account a typed name means, whatever its case, unless two could be meant', async () => {
    const store = await ctx.open();
    const accounts = new SqlAccountRepository(store);
    await accounts.putUser(store.db, { ...bob('h'), username: 'Ann' }, hlc(1));
    expect((await accounts.findUser('ann'))?.username).toBe('Ann');
    expect((await accounts.findUser('ANN'))?.username).toBe('Ann');
    expect(await accounts.getUser('ann')).toBeNull();
    // Two accounts from before names were compared ignoring case: the exact one, or none.
    await accounts.putUser(store.db, { ...bob('h'), username: 'ANN' }, hlc(2));
    expect((await accounts.findUser('ANN'))?.username).toBe('ANN');
    expect(await accounts.findUser('ann')).toBeNull();
  });
});
