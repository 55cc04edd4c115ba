import type { Executor, MetadataStore } from '../storage/metadata/dialect.js';
import type { Role } from '../oplog/op.js';
import type { Principal } from './principal.js';
import { passwordPutWins, type PasswordClaim } from './core/password-claim.js';
import {
  applyAccess,
  mergeAccess,
  NO_ACCESS,
  type Access,
  type AccessChange,
} from './core/access.js';

export interface User {
  readonly username: string;
  readonly passwordHash: string;
  readonly role: Role;
  /** Disabled by an admin: no sign-in, session or token of it is accepted. */
  readonly disabled: boolean;
}

/** What a `user.put` carries. */
export type UserPut = Pick<User, 'username' | 'passwordHash' | 'role'>;

/** An account as an admin's list shows it. */
export interface Person extends Principal {
  readonly disabled: boolean;
}

/**
 * Accounts, which replicate (through ops). Their API tokens and sessions:
 * credential.repository.ts (a password change or a disable here ends the account's sessions).
 */
export interface AccountRepository {
  /** The account of exactly this name. `trx`: read inside a transaction. */
  getUser(username: string, trx?: Executor): Promise<User | null>;
  /**
   * The account a person means by a name they typed: this name exactly, else the one account
   * whose name differs only by case (null if none, or several: accounts from before names were
   * compared ignoring case). `trx`: read inside a transaction (after `lockName`).
   */
  findUser(name: string, trx?: Executor): Promise<User | null>;
  countUsers(): Promise<number>;
  /** Every account's name, role and state, by name (case ignored, then as written). */
  listUsers(): Promise<Person[]>;
  /**
   * Holds `username` until the transaction ends, for a check-then-create of an account that
   * must not race another request or process of the site (PostgreSQL: an advisory lock;
   * SQLite: nothing, its write transaction excludes every other writer).
   */
  lockName(trx: Executor, username: string): Promise<void>;
  /**
   * The password's register (which put holds it: core/password-claim.ts); the role's too for an
   * account's creation (a change or reset of the password, or a node's seed, leaves it alone).
   */
  putUser(trx: Executor, user: UserPut, hlc: string, claim?: PasswordClaim): Promise<void>;
  /** A `user.access`: each register it names, if later (src/accounts/core/access.ts). */
  setAccess(trx: Executor, username: string, change: AccessChange, hlc: string): Promise<void>;
}

/** Accounts on the metadata store. */
export class SqlAccountRepository implements AccountRepository {
  constructor(private readonly store: MetadataStore) {}

  async getUser(username: string, trx: Executor = this.store.db): Promise<User | null> {
    const row = await this.users(trx).where('username', '=', username).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  async findUser(name: string, trx: Executor = this.store.db): Promise<User | null> {
    const exact = await this.getUser(name, trx);
    if (exact) return exact;
    // Names are ASCII (the Username rule): lower() agrees on both dialects.
    const rows = await this.users(trx)
      .where((eb) => eb(eb.fn('lower', ['username']), '=', name.toLowerCase()))
      .limit(2)
      .execute();
    const [only] = rows;
    return rows.length === 1 && only ? toUser(only) : null;
  }

  private users(trx: Executor) {
    return trx
      .selectFrom('users')
      .select(['username', 'password_hash as passwordHash', 'role', 'disabled']);
  }

  async countUsers(): Promise<number> {
    const row = await this.store.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return row.n;
  }

  async listUsers(): Promise<Person[]> {
    const rows = await this.store.db
      .selectFrom('users')
      .select(['username', 'role', 'disabled'])
      .execute();
    // Sorted here, not by the database: SQLite and PostgreSQL collate text differently.
    const key = (u: Person) => u.username.toLowerCase();
    return rows
      .map((r) => ({ username: r.username, role: r.role, disabled: r.disabled === 1 }))
      .sort((a, b) => compare(key(a), key(b)) || compare(a.username, b.username));
  }

  async lockName(trx: Executor, username: string): Promise<void> {
    // By the name as compared (case ignored), so "Ann" and "ann" wait for each other.
    await this.store.dialect.lockUntilCommit(`user.create:${username.toLowerCase()}`)?.execute(trx);
  }

  /**
   * The password's register (which put holds it: core/password-claim.ts); the role's register
   * too when the put is the account's creation. A `change` (a password change or reset) that
   * wins and changes the password ends the account's sessions (here, and at every node as the
   * operation reaches it): whoever had signed in with the old password is signed out. A seed
   * taking over from another seed signs nobody out (nodes started together with one
   * MOSAIC_ADMIN_PASSWORD make different hashes of it). Runs under the apply's lock on the
   * account (oplog/apply.ts), so read-then-write is safe.
   */
  async putUser(
    trx: Executor,
    user: UserPut,
    hlc: string,
    claim: PasswordClaim = 'create',
  ): Promise<void> {
    const signOut = claim === 'change';
    const current = await trx
      .selectFrom('users')
      .select(['password_hash', 'hlc', 'seeded', 'role', 'role_hlc'])
      .where('username', '=', user.username)
      .executeTakeFirst();
    if (!current) {
      // A change or reset before the creation (relayed out of order): its role is a copy, the
      // weakest claim, which the creation's or any access change's overrides.
      const created: Access = {
        ...NO_ACCESS,
        role: user.role,
        roleHlc: claim === 'create' ? hlc : '',
      };
      const access = mergeAccess(created, await this.takeEarlyAccess(trx, user.username));
      await trx
        .insertInto('users')
        .values({
          username: user.username,
          password_hash: user.passwordHash,
          hlc,
          seeded: claim === 'seed' ? 1 : 0,
          role: access.role ?? user.role,
          role_hlc: access.roleHlc,
          disabled: access.disabled ? 1 : 0,
          disabled_hlc: access.disabledHlc,
        })
        .execute();
      return;
    }
    const passwordWins = passwordPutWins(
      { hlc: current.hlc, seeded: current.seeded === 1 },
      claim,
      hlc,
    );
    const roleWins = claim === 'create' && hlc > current.role_hlc;
    if (!passwordWins && !roleWins) return;
    await trx
      .updateTable('users')
      .set({
        ...(passwordWins
          ? { password_hash: user.passwordHash, hlc, seeded: claim === 'seed' ? 1 : 0 }
          : {}),
        ...(roleWins ? { role: user.role, role_hlc: hlc } : {}),
      })
      .where('username', '=', user.username)
      .execute();
    if (signOut && passwordWins && current.password_hash !== user.passwordHash) {
      await trx.deleteFrom('sessions').where('username', '=', user.username).execute();
    }
  }

  /**
   * An admin's change of an account's role or state. Disabling (when it wins) ends the
   * account's sessions here; each node ends its own as the operation reaches it. Before the
   * account itself has arrived, the change waits in `user_access_early`.
   */
  async setAccess(
    trx: Executor,
    username: string,
    change: AccessChange,
    hlc: string,
  ): Promise<void> {
    const row = await trx
      .selectFrom('users')
      .select(['role', 'role_hlc', 'disabled', 'disabled_hlc'])
      .where('username', '=', username)
      .executeTakeFirst();
    if (!row) {
      const early = await trx
        .selectFrom('user_access_early')
        .select(['role', 'role_hlc', 'disabled', 'disabled_hlc'])
        .where('username', '=', username)
        .executeTakeFirst();
      const next = applyAccess(early ? accessOf(early) : NO_ACCESS, change, hlc);
      const values = {
        role: next.role,
        role_hlc: next.roleHlc,
        disabled: next.disabled ? 1 : 0,
        disabled_hlc: next.disabledHlc,
      };
      await trx
        .insertInto('user_access_early')
        .values({ username, ...values })
        .onConflict((oc) => oc.column('username').doUpdateSet(values))
        .execute();
      return;
    }
    const before = accessOf(row);
    const next = applyAccess(before, change, hlc);
    if (next.roleHlc === before.roleHlc && next.disabledHlc === before.disabledHlc) return;
    await trx
      .updateTable('users')
      .set({
        role: next.role ?? row.role,
        role_hlc: next.roleHlc,
        disabled: next.disabled ? 1 : 0,
        disabled_hlc: next.disabledHlc,
      })
      .where('username', '=', username)
      .execute();
    if (next.disabled && !before.disabled) {
      await trx.deleteFrom('sessions').where('username', '=', username).execute();
    }
  }

  /** The access changes that arrived before the account (removed: folded into it now). */
  private async takeEarlyAccess(trx: Executor, username: string): Promise<Access> {
    const early = await trx
      .selectFrom('user_access_early')
      .select(['role', 'role_hlc', 'disabled', 'disabled_hlc'])
      .where('username', '=', username)
      .executeTakeFirst();
    if (!early) return NO_ACCESS;
    await trx.deleteFrom('user_access_early').where('username', '=', username).execute();
    return accessOf(early);
  }
}

function compare(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

interface AccessRow {
  role: Role | null;
  role_hlc: string;
  disabled: number;
  disabled_hlc: string;
}

function accessOf(row: AccessRow): Access {
  return {
    role: row.role,
    roleHlc: row.role_hlc,
    disabled: row.disabled === 1,
    disabledHlc: row.disabled_hlc,
  };
}

function toUser(row: {
  username: string;
  passwordHash: string;
  role: Role;
  disabled: number;
}): User {
  return { ...row, disabled: row.disabled === 1 };
}
