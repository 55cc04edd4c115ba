import type { Executor, MetadataStore } from '../storage/metadata/dialect.js';
import type { Role } from '../oplog/op.js';
import type { Principal } from './principal.js';
import { prepared } from '../storage/metadata/prepared.js';

export interface User {
  readonly username: string;
  readonly passwordHash: string;
  readonly role: Role;
}

export interface TokenRecord {
  readonly tokenId: string;
  readonly username: string;
  readonly name: string;
  readonly createdAt: number;
  /** ms since the epoch; null: never expires. */
  readonly expiresAt: number | null;
  /** When this node last accepted it (local to the node; null: never here). */
  readonly lastUsed?: number | null;
}

/** Users and API tokens replicate (through ops); sessions stay on the site that made them. */
export interface AccountRepository {
  /** `trx`: read inside a transaction (after `lockName`). */
  getUser(username: string, trx?: Executor): Promise<User | null>;
  countUsers(): Promise<number>;
  /** Every account's name and role, by name (case ignored, then as written). */
  listUsers(): Promise<Principal[]>;
  /**
   * Holds `username` until the transaction ends, for a check-then-create of an account that
   * must not race another request or process of the site (PostgreSQL: an advisory lock;
   * SQLite: nothing, its write transaction excludes every other writer).
   */
  lockName(trx: Executor, username: string): Promise<void>;
  /** Last writer (by HLC) wins. */
  putUser(trx: Executor, user: User, hlc: string, signOut?: boolean): Promise<void>;
  putToken(trx: Executor, token: TokenRecord & { tokenHash: string }, hlc: string): Promise<void>;
  /** A token that is not revoked (expiry is the caller's check), by the hash of its secret. */
  findToken(tokenHash: string): Promise<TokenRecord | null>;
  /** Revocation wins over any put of the token, in any order. */
  revokeToken(trx: Executor, tokenId: string, hlc: string): Promise<void>;
  /** Tokens not revoked, of one account or (null) of all, oldest first. */
  listTokens(username: string | null): Promise<TokenRecord[]>;
  getToken(tokenId: string): Promise<TokenRecord | null>;
  /** Notes a use at this site. */
  touchToken(tokenId: string, now: number): Promise<void>;
  createSession(idHash: string, username: string, now: number, expiresAt: number): Promise<void>;
  /** The account of a live session (one query: sessions joined with users), or null. */
  findSession(idHash: string, now: number): Promise<Principal | null>;
  deleteSession(idHash: string): Promise<void>;
  deleteExpiredSessions(now: number): Promise<void>;
}

/**
 * Accounts on the metadata store. Sessions are rows too, so a session made by one process of
 * a site is valid at every process of it.
 */
export class SqlAccountRepository implements AccountRepository {
  constructor(private readonly store: MetadataStore) {}

  async getUser(username: string, trx: Executor = this.store.db): Promise<User | null> {
    const row = await trx
      .selectFrom('users')
      .select(['username', 'password_hash as passwordHash', 'role'])
      .where('username', '=', username)
      .executeTakeFirst();
    return row ?? null;
  }

  async countUsers(): Promise<number> {
    const row = await this.store.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return row.n;
  }

  async listUsers(): Promise<Principal[]> {
    const rows = await this.store.db.selectFrom('users').select(['username', 'role']).execute();
    // Sorted here, not by the database: SQLite and PostgreSQL collate text differently.
    const key = (u: Principal) => u.username.toLowerCase();
    return rows.sort((a, b) => compare(key(a), key(b)) || compare(a.username, b.username));
  }

  async lockName(trx: Executor, username: string): Promise<void> {
    await this.store.dialect.lockUntilCommit(`user.create:${username}`)?.execute(trx);
  }

  /**
   * Last writer (by HLC) wins. With `signOut` (a password change or reset), when this put wins
   * and changes the password, the account's sessions end (here, and at every node as the
   * operation reaches it): whoever had signed in with the old password is signed out.
   */
  async putUser(trx: Executor, user: User, hlc: string, signOut = false): Promise<void> {
    const hashOf = async () =>
      (
        await trx
          .selectFrom('users')
          .select('password_hash')
          .where('username', '=', user.username)
          .executeTakeFirst()
      )?.password_hash ?? null;
    const before = await hashOf();
    await trx
      .insertInto('users')
      .values({
        username: user.username,
        password_hash: user.passwordHash,
        role: user.role,
        hlc,
      })
      .onConflict((oc) =>
        oc
          .column('username')
          .doUpdateSet((eb) => ({
            password_hash: eb.ref('excluded.password_hash'),
            role: eb.ref('excluded.role'),
            hlc: eb.ref('excluded.hlc'),
          }))
          .where('excluded.hlc', '>', (eb) => eb.ref('users.hlc')),
      )
      .execute();
    if (signOut && before !== null && before !== user.passwordHash) {
      if ((await hashOf()) !== user.passwordHash) return; // a later put won
      await trx.deleteFrom('sessions').where('username', '=', user.username).execute();
    }
  }

  async putToken(
    trx: Executor,
    token: TokenRecord & { tokenHash: string },
    hlc: string,
  ): Promise<void> {
    await trx
      .insertInto('tokens')
      .values({
        token_id: token.tokenId,
        username: token.username,
        name: token.name,
        token_hash: token.tokenHash,
        created_at: token.createdAt,
        expires_at: token.expiresAt,
        hlc,
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async revokeToken(trx: Executor, tokenId: string, hlc: string): Promise<void> {
    await trx
      .insertInto('token_revocations')
      .values({ token_id: tokenId, hlc })
      .onConflict((oc) =>
        oc
          .column('token_id')
          .doUpdateSet((eb) => ({ hlc: eb.ref('excluded.hlc') }))
          .where('excluded.hlc', '<', (eb) => eb.ref('token_revocations.hlc')),
      )
      .execute();
  }

  private live() {
    return this.store.db
      .selectFrom('tokens as t')
      .select([
        't.token_id as tokenId',
        't.username',
        't.name',
        't.created_at as createdAt',
        't.expires_at as expiresAt',
        't.last_used as lastUsed',
      ])
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('token_revocations as r')
              .select('r.token_id')
              .whereRef('r.token_id', '=', 't.token_id'),
          ),
        ),
      );
  }

  async listTokens(username: string | null): Promise<TokenRecord[]> {
    return this.live()
      .$if(username !== null, (qb) => qb.where('t.username', '=', username ?? ''))
      .orderBy('t.created_at')
      .orderBy('t.token_id')
      .execute();
  }

  async touchToken(tokenId: string, now: number): Promise<void> {
    await this.store.db
      .updateTable('tokens')
      .set({ last_used: now })
      .where('token_id', '=', tokenId)
      .execute();
  }

  async getToken(tokenId: string): Promise<TokenRecord | null> {
    return (await this.live().where('t.token_id', '=', tokenId).executeTakeFirst()) ?? null;
  }

  async findToken(tokenHash: string): Promise<TokenRecord | null> {
    return (await this.live().where('t.token_hash', '=', tokenHash).executeTakeFirst()) ?? null;
  }

  async createSession(
    idHash: string,
    username: string,
    now: number,
    expiresAt: number,
  ): Promise<void> {
    await this.store.db
      .insertInto('sessions')
      .values({ id_hash: idHash, username, created_at: now, expires_at: expiresAt })
      .execute();
  }

  async findSession(idHash: string, now: number): Promise<Principal | null> {
    const row = await this.store.db
      .selectFrom('sessions')
      .modifyFront(prepared)
      .innerJoin('users', 'users.username', 'sessions.username')
      .select(['users.username', 'users.role'])
      .where('sessions.id_hash', '=', idHash)
      .where('sessions.expires_at', '>', now)
      .executeTakeFirst();
    return row ?? null;
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.store.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }

  async deleteExpiredSessions(now: number): Promise<void> {
    await this.store.db.deleteFrom('sessions').where('expires_at', '<=', now).execute();
  }
}

function compare(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
