import type { Db } from '../db/database.js';
import type { Role } from '../oplog/op.js';

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

/** Users and API tokens replicate (through ops); sessions stay on the node that made them. */
export interface AccountRepository {
  getUser(username: string): User | null;
  countUsers(): number;
  /** Last writer (by HLC) wins. */
  putUser(user: User, hlc: string): void;
  putToken(token: TokenRecord & { tokenHash: string }, hlc: string): void;
  /** A token that is not revoked (expiry is the caller's check), by the hash of its secret. */
  findToken(tokenHash: string): TokenRecord | null;
  /** Revocation wins over any put of the token, in any order. */
  revokeToken(tokenId: string, hlc: string): void;
  /** Tokens not revoked, of one account or (null) of all, oldest first. */
  listTokens(username: string | null): TokenRecord[];
  getToken(tokenId: string): TokenRecord | null;
  /** Notes a use at this node. */
  touchToken(tokenId: string, now: number): void;
  createSession(idHash: string, username: string, now: number, expiresAt: number): void;
  findSession(idHash: string, now: number): { username: string } | null;
  deleteSession(idHash: string): void;
  deleteExpiredSessions(now: number): void;
}

export class SqliteAccountRepository implements AccountRepository {
  private readonly getUserStmt;
  private readonly countUsersStmt;
  private readonly putUserStmt;
  private readonly putTokenStmt;
  private readonly findTokenStmt;
  private readonly revokeTokenStmt;
  private readonly listTokensStmt;
  private readonly listAllTokensStmt;
  private readonly getTokenStmt;
  private readonly touchTokenStmt;
  private readonly createSessionStmt;
  private readonly findSessionStmt;
  private readonly deleteSessionStmt;
  private readonly deleteExpiredStmt;

  constructor(db: Db) {
    this.getUserStmt = db.prepare(
      'SELECT username, password_hash AS passwordHash, role FROM users WHERE username = ?',
    );
    this.countUsersStmt = db.prepare('SELECT COUNT(*) FROM users').pluck();
    this.putUserStmt = db.prepare(`
      INSERT INTO users (username, password_hash, role, hlc) VALUES (?, ?, ?, ?)
      ON CONFLICT (username) DO UPDATE SET
        password_hash = excluded.password_hash, role = excluded.role, hlc = excluded.hlc
      WHERE excluded.hlc > users.hlc`);
    this.putTokenStmt = db.prepare(`
      INSERT OR IGNORE INTO tokens
        (token_id, username, name, token_hash, created_at, expires_at, hlc)
      VALUES (?, ?, ?, ?, ?, ?, ?)`);
    const live = `SELECT token_id AS tokenId, username, name, created_at AS createdAt,
        expires_at AS expiresAt, last_used AS lastUsed FROM tokens t
      WHERE NOT EXISTS (SELECT 1 FROM token_revocations r WHERE r.token_id = t.token_id)`;
    this.findTokenStmt = db.prepare(`${live} AND token_hash = ?`);
    this.revokeTokenStmt = db.prepare(`
      INSERT INTO token_revocations (token_id, hlc) VALUES (?, ?)
      ON CONFLICT (token_id) DO UPDATE SET hlc = excluded.hlc WHERE excluded.hlc < token_revocations.hlc`);
    this.listTokensStmt = db.prepare(`${live} AND username = ? ORDER BY created_at, token_id`);
    this.listAllTokensStmt = db.prepare(`${live} ORDER BY created_at, token_id`);
    this.getTokenStmt = db.prepare(`${live} AND token_id = ?`);
    this.touchTokenStmt = db.prepare('UPDATE tokens SET last_used = ? WHERE token_id = ?');
    this.createSessionStmt = db.prepare(
      'INSERT INTO sessions (id_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)',
    );
    this.findSessionStmt = db.prepare(
      'SELECT username FROM sessions WHERE id_hash = ? AND expires_at > ?',
    );
    this.deleteSessionStmt = db.prepare('DELETE FROM sessions WHERE id_hash = ?');
    this.deleteExpiredStmt = db.prepare('DELETE FROM sessions WHERE expires_at <= ?');
  }

  getUser(username: string): User | null {
    return (this.getUserStmt.get(username) as User | undefined) ?? null;
  }

  countUsers(): number {
    return this.countUsersStmt.get() as number;
  }

  putUser(user: User, hlc: string): void {
    this.putUserStmt.run(user.username, user.passwordHash, user.role, hlc);
  }

  putToken(token: TokenRecord & { tokenHash: string }, hlc: string): void {
    this.putTokenStmt.run(
      token.tokenId,
      token.username,
      token.name,
      token.tokenHash,
      token.createdAt,
      token.expiresAt,
      hlc,
    );
  }

  revokeToken(tokenId: string, hlc: string): void {
    this.revokeTokenStmt.run(tokenId, hlc);
  }

  listTokens(username: string | null): TokenRecord[] {
    return (
      username === null ? this.listAllTokensStmt.all() : this.listTokensStmt.all(username)
    ) as TokenRecord[];
  }

  touchToken(tokenId: string, now: number): void {
    this.touchTokenStmt.run(now, tokenId);
  }

  getToken(tokenId: string): TokenRecord | null {
    return (this.getTokenStmt.get(tokenId) as TokenRecord | undefined) ?? null;
  }

  findToken(tokenHash: string): TokenRecord | null {
    return (this.findTokenStmt.get(tokenHash) as TokenRecord | undefined) ?? null;
  }

  createSession(idHash: string, username: string, now: number, expiresAt: number): void {
    this.createSessionStmt.run(idHash, username, now, expiresAt);
  }

  findSession(idHash: string, now: number): { username: string } | null {
    return (this.findSessionStmt.get(idHash, now) as { username: string } | undefined) ?? null;
  }

  deleteSession(idHash: string): void {
    this.deleteSessionStmt.run(idHash);
  }

  deleteExpiredSessions(now: number): void {
    this.deleteExpiredStmt.run(now);
  }
}
