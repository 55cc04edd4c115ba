import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/helpers/dialects.js';
import { usePostgres } from '../../../test/helpers/use-postgres.js';
import { SqlAccountRepository } from '../../accounts/account.repository.js';
import { SqlCredentialRepository } from '../../accounts/credential.repository.js';
import { openPostgresStore, postgresSettings } from './postgres.js';
import { PREPARED_MARK } from './prepared.js';

describe.skipIf(!DIALECTS.includes('postgres'))('statements prepared per connection', () => {
  const postgres = usePostgres();

  it('sends a marked statement named, once per connection, and the others unnamed', async () => {
    const store = await openPostgresStore(await postgres().createDatabase(), { poolSize: 1 });
    try {
      const accounts = new SqlAccountRepository(store);
      const credentials = new SqlCredentialRepository(store);
      await accounts.putUser(store.db, { username: 'ann', passwordHash: 'x', role: 'user' }, '1');
      await credentials.createSession('live', 'ann', 1000, 5000);
      for (let i = 0; i < 3; i++) {
        expect(await credentials.findSession('live', 3000)).toEqual({
          username: 'ann',
          role: 'user',
        });
        expect(await credentials.findSession('live', 6000)).toBe(null);
      }
      // The pool's one connection holds the marked statement, prepared once; nothing else.
      const { rows } = await sql<{ statement: string }>`
        select statement from pg_prepared_statements`.execute(store.db);
      expect(rows).toHaveLength(1);
      expect(rows[0]?.statement).toContain(PREPARED_MARK);
      expect(rows[0]?.statement).toContain('"sessions"."id_hash" = $1');
    } finally {
      await store.close();
    }
  });

  it('sends every statement unnamed with ?prepared=off in the URL (a pooler in transaction mode)', async () => {
    const url = new URL(await postgres().createDatabase());
    url.searchParams.set('prepared', 'off');
    const store = await openPostgresStore(url.toString(), { poolSize: 1 });
    try {
      const accounts = new SqlAccountRepository(store);
      const credentials = new SqlCredentialRepository(store);
      await accounts.putUser(store.db, { username: 'ann', passwordHash: 'x', role: 'user' }, '1');
      await credentials.createSession('live', 'ann', 1000, 5000);
      expect(await credentials.findSession('live', 3000)).toEqual({
        username: 'ann',
        role: 'user',
      });
      const { rows } = await sql`select statement from pg_prepared_statements`.execute(store.db);
      expect(rows).toHaveLength(0);
    } finally {
      await store.close();
    }
  });

  it('refuses a prepared= or timeout= value it cannot use, and keeps the rest of the URL', () => {
    expect(() => postgresSettings('postgres://u@h/db?prepared=no')).toThrow(/prepared=on or/);
    expect(() => postgresSettings('postgres://u@h/db?timeout=0')).toThrow(/from 0.1 to 3600/);
    expect(() => postgresSettings('postgres://u@h/db?timeout=5s')).toThrow(/from 0.1 to 3600/);
    expect(postgresSettings('postgres://u@h/db?sslmode=disable&prepared=off')).toEqual({
      url: 'postgres://u@h/db?sslmode=disable',
      prepared: false,
      timeoutMs: 30_000,
    });
    expect(postgresSettings('postgres://u@h/db?timeout=2.5&sslmode=disable')).toEqual({
      url: 'postgres://u@h/db?sslmode=disable',
      prepared: true,
      timeoutMs: 2500,
    });
    expect(postgresSettings('postgres://u@h/db')).toEqual({
      url: 'postgres://u@h/db',
      prepared: true,
      timeoutMs: 30_000,
    });
  });
});
