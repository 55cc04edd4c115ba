import type { Executor, MetadataStore } from '../storage/metadata/dialect.js';
import type { Principal } from './principal.js';
import { prepared } from '../storage/metadata/prepared.js';

/** An API token as stored, without its secret's hash. */
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

/**
 * What a request proves an account with, other than its password: API tokens, which replicate
 * (through ops), and sessions, which stay on the site that made them. The accounts themselves:
 * account.repository.ts.
 */
export interface CredentialRepository {
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
 * Tokens and sessions on the metadata store. Sessions are rows too, so a session made by one
 * process of a site is valid at every process of it.
 */
export class SqlCredentialRepository implements CredentialRepository {
  constructor(private readonly store: MetadataStore) {}

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
      // A session opened as the account was being disabled (the disable's sign-out ran first).
      .where('users.disabled', '=', 0)
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
