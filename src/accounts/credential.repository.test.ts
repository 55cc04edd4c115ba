import { expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { SqlAccountRepository } from './account.repository.js';
import { SqlCredentialRepository, type TokenRecord } from './credential.repository.js';

const hlc = (n: number) =>
  `${String(1_700_000_000_000 + n).padStart(16, '0')}-0000-aaaaaaaaaaaaaaaa`;
const token = (n: number, username: string, createdAt: number) => ({
  tokenId: `00000000000000${String(n).padStart(2, '0')}`,
  username,
  name: `token ${n}`,
  tokenHash: String(n % 10).repeat(64),
  createdAt,
  expiresAt: n % 2 === 0 ? null : createdAt + 1000,
});
/** The record the reads answer for a put of `t` never used here. */
const record = ({ tokenHash: _hash, ...t }: ReturnType<typeof token>): TokenRecord => ({
  ...t,
  lastUsed: null,
});

describeEachDialect('credentials: API tokens', (ctx) => {
  it('lists the live tokens of one account or of all, oldest first, and finds one by hash or id', async () => {
    const store = await ctx.open();
    const credentials = new SqlCredentialRepository(store);
    const [a, b, c] = [token(1, 'ann', 30), token(2, 'bob', 10), token(3, 'ann', 10)];
    for (const [i, t] of [a, b, c].entries()) await credentials.putToken(store.db, t, hlc(i));
    expect(await credentials.listTokens('ann')).toEqual([record(c), record(a)]);
    expect(await credentials.listTokens(null)).toEqual([record(b), record(c), record(a)]);
    expect(await credentials.listTokens('nobody')).toEqual([]);
    expect(await credentials.findToken(a.tokenHash)).toEqual(record(a));
    expect(await credentials.getToken(b.tokenId)).toEqual(record(b));
    expect(await credentials.findToken('9'.repeat(64))).toBeNull();
    expect(await credentials.getToken('00000000000000ff')).toBeNull();
  });

  it('keeps the first put of a token id, and notes its last use at this site', async () => {
    const store = await ctx.open();
    const credentials = new SqlCredentialRepository(store);
    const a = token(1, 'ann', 10);
    await credentials.putToken(store.db, a, hlc(2));
    await credentials.putToken(
      store.db,
      { ...a, name: 'renamed', tokenHash: '8'.repeat(64) },
      hlc(3),
    );
    expect(await credentials.getToken(a.tokenId)).toEqual(record(a));
    expect(await credentials.findToken('8'.repeat(64))).toBeNull();
    await credentials.touchToken(a.tokenId, 500);
    expect(await credentials.findToken(a.tokenHash)).toEqual({ ...record(a), lastUsed: 500 });
  });

  it('a revoked token is read nowhere; the revocation keeps its earliest HLC', async () => {
    const store = await ctx.open();
    const credentials = new SqlCredentialRepository(store);
    const [a, b] = [token(1, 'ann', 10), token(2, 'ann', 20)];
    await credentials.putToken(store.db, a, hlc(1));
    await credentials.putToken(store.db, b, hlc(1));
    await credentials.revokeToken(store.db, a.tokenId, hlc(5));
    await credentials.revokeToken(store.db, a.tokenId, hlc(3));
    await credentials.revokeToken(store.db, a.tokenId, hlc(7));
    expect(await credentials.getToken(a.tokenId)).toBeNull();
    expect(await credentials.findToken(a.tokenHash)).toBeNull();
    expect(await credentials.listTokens('ann')).toEqual([record(b)]);
    const kept = await store.db.selectFrom('token_revocations').selectAll().execute();
    expect(kept).toEqual([{ token_id: a.tokenId, hlc: hlc(3) }]);
  });
});

describeEachDialect('credentials: sessions', (ctx) => {
  it("answers a session's account until it expires, is deleted, or its account is gone", async () => {
    const store = await ctx.open();
    const accounts = new SqlAccountRepository(store);
    const credentials = new SqlCredentialRepository(store);
    await accounts.putUser(store.db, { username: 'ann', passwordHash: 'h', role: 'admin' }, hlc(1));
    await credentials.createSession('s1', 'ann', 10, 100);
    await credentials.createSession('s2', 'ann', 10, 100);
    await credentials.createSession('ghost', 'nobody', 10, 100);
    expect(await credentials.findSession('s1', 99)).toEqual({ username: 'ann', role: 'admin' });
    expect(await credentials.findSession('s1', 100)).toBeNull();
    expect(await credentials.findSession('ghost', 20)).toBeNull();
    expect(await credentials.findSession('unknown', 20)).toBeNull();
    await credentials.deleteSession('s1');
    expect(await credentials.findSession('s1', 20)).toBeNull();
    expect(await credentials.findSession('s2', 20)).toEqual({ username: 'ann', role: 'admin' });
  });

  it('sweeps the sessions expired by now, and only those', async () => {
    const store = await ctx.open();
    const credentials = new SqlCredentialRepository(store);
    for (const [id, expiresAt] of [
      ['a', 50],
      ['b', 100],
      ['c', 101],
    ] as const) {
      await credentials.createSession(id, 'ann', 10, expiresAt);
    }
    await credentials.deleteExpiredSessions(100);
    const left = await store.db.selectFrom('sessions').select('id_hash').execute();
    expect(left.map((r) => r.id_hash)).toEqual(['c']);
  });
});
