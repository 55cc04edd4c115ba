import { createHash, randomBytes } from 'node:crypto';
import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
} from '../core/errors.js';
import { Limiter } from '../core/limiter.js';
import type { ChangeLog } from '../oplog/change-log.js';
import type { Role } from '../oplog/op.js';
import type { AccountRepository, Person } from './account.repository.js';
import type { CredentialRepository, TokenRecord } from './credential.repository.js';
import type { AccessChange } from './core/access.js';
import { hashPassword, PASSWORD_COST, verifyPassword } from './password.js';
import type { LoginLimiter } from './login-limiter.js';
import type { Principal } from './principal.js';

export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
const TOKEN_PREFIX = 'mos_';

/**
 * A password hash that no password matches, at the cost of new hashes (PASSWORD_COST): a sign-in
 * to an unknown name takes as long as one to a known name.
 */
const DUMMY_HASH = `scrypt$${PASSWORD_COST.N}$${PASSWORD_COST.r}$${PASSWORD_COST.p}$${'A'.repeat(22)}==$${'A'.repeat(43)}=`;

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class AccountService {
  /**
   * scrypt runs on libuv's thread pool (4 threads by default), which file I/O shares: at most
   * two password checks at once, so a burst of sign-ins cannot stall blob reads and writes.
   */
  private readonly scryptSlots = new Limiter(2);
  /** The admin account's creation at a site's first start, while it runs: sign-ins wait for it. */
  private seeding: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly accounts: AccountRepository,
    private readonly credentials: CredentialRepository,
    private readonly changes: ChangeLog,
    private readonly now: () => number = Date.now,
    /** Sign-in back-off per account and address (none: unlimited, e.g. the CLI). */
    private readonly limiter: LoginLimiter | null = null,
  ) {}

  /**
   * Adds an account (the CLI's `user add`, an admin's `POST /api/users`): a `user.put`, so it
   * replicates. The name is checked again inside the commit's transaction, under a lock on it,
   * so two requests (or processes of a site) adding one name at once make one account and a
   * 409. Two nodes adding one name before either has the other's put cannot be told apart:
   * the later put (by HLC) wins at both.
   */
  async addUser(username: string, password: string, role: Role = 'user'): Promise<void> {
    // Names are compared ignoring case (`findUser`): "Ann" cannot be added beside "ann" (a
    // phone's keyboard capitalises the first letter; two such accounts would be one person's,
    // or an impostor's).
    const exists = (found: string | undefined) =>
      new ConflictError(
        found === undefined || found === username
          ? `An account named ${username} already exists.`
          : `An account named ${found} already exists (names ignore case).`,
      );
    const found = await this.accounts.findUser(username);
    if (found) throw exists(found.username);
    const passwordHash = await hashPassword(password);
    const ops = await this.changes.commitMany(
      [{ kind: 'user.put', username, passwordHash, role }],
      undefined,
      {
        unless: async (trx) => {
          await this.accounts.lockName(trx, username);
          return (await this.accounts.findUser(username, trx)) !== null;
        },
      },
    );
    if (ops.length === 0) throw exists((await this.accounts.findUser(username))?.username);
  }

  /** An admin adds an account from the web app or the API; see `addUser`. */
  async createUser(
    principal: Principal,
    username: string,
    password: string,
    role: Role,
  ): Promise<Principal> {
    if (principal.role !== 'admin') throw new ForbiddenError('Only an admin may add accounts.');
    await this.addUser(username, password, role);
    return { username, role };
  }

  /** Every account's name, role and state (admins). */
  async listUsers(principal: Principal): Promise<Person[]> {
    if (principal.role !== 'admin') throw new ForbiddenError('Only an admin may list accounts.');
    return this.accounts.listUsers();
  }

  /**
   * An admin makes an account an admin or not, or disables or enables it: a `user.access`, so
   * it holds at every node; disabling signs the account out everywhere and refuses its tokens.
   * Refused (409) when it would leave the site without an admin who can sign in, or disable
   * the caller's own account; two admins doing so at two nodes at once cannot be told apart
   * (then `mosaic user access` on a node's data gives the role back).
   */
  async setAccess(principal: Principal, username: string, change: AccessChange): Promise<Person> {
    if (principal.role !== 'admin') {
      throw new ForbiddenError('Only an admin may change an account’s role or state.');
    }
    const user = await this.accounts.findUser(username);
    if (!user) throw new NotFoundError('Account');
    if (change.disabled === true && user.username === principal.username) {
      throw new ConflictError('You cannot disable your own account; another admin can.');
    }
    const adminAfter =
      (change.role ?? user.role) === 'admin' && !(change.disabled ?? user.disabled);
    if (user.role === 'admin' && !user.disabled && !adminAfter) {
      const others = (await this.accounts.listUsers()).filter(
        (p) => p.role === 'admin' && !p.disabled && p.username !== user.username,
      );
      if (others.length === 0) {
        throw new ConflictError(
          `${user.username} is the only admin who can sign in; make someone else an admin first.`,
        );
      }
    }
    return this.changeAccess(user.username, change);
  }

  /** The change itself, unchecked (the CLI's `mosaic user access`, run on a node's data). */
  async changeAccess(username: string, change: AccessChange): Promise<Person> {
    await this.changes.commit({
      kind: 'user.access',
      username,
      ...(change.role === undefined ? {} : { role: change.role }),
      ...(change.disabled === undefined ? {} : { disabled: change.disabled }),
    });
    const after = await this.accounts.getUser(username);
    if (!after) throw new NotFoundError('Account');
    return { username: after.username, role: after.role, disabled: after.disabled };
  }

  /** `signOut`: a change of an existing password, which ends the account's sessions. */
  async setPassword(
    username: string,
    password: string,
    role: Role,
    signOut = false,
  ): Promise<void> {
    const passwordHash = await hashPassword(password);
    await this.changes.commit({
      kind: 'user.put',
      username,
      passwordHash,
      role,
      ...(signOut ? { signOut: true } : {}),
    });
  }

  /**
   * Changes the caller's own password; the current one is required (checked like a sign-in,
   * with its back-off). The new hash replicates as a `user.put`, so it holds at every node, and
   * the account's sessions end everywhere; returns a new session for the caller.
   */
  async changePassword(
    principal: Principal,
    oldPassword: string,
    newPassword: string,
    address = 'unknown',
  ): Promise<string> {
    const attempt = this.limiter?.begin(principal.username, address);
    const user = await this.accounts.getUser(principal.username);
    const ok = await this.scryptSlots.run(() =>
      verifyPassword(oldPassword, user?.passwordHash ?? DUMMY_HASH),
    );
    if (attempt) this.limiter?.finish(attempt, user !== null && ok);
    // 403, not 401: the caller is signed in (a 401 would sign the web app out).
    if (!user || !ok) throw new ForbiddenError('The current password is wrong.');
    // Every session of the account ends with the old password; the caller gets a new one.
    await this.setPassword(user.username, newPassword, user.role, true);
    return this.openSession(user.username);
  }

  private async openSession(username: string): Promise<string> {
    const session = randomBytes(32).toString('base64url');
    const now = this.now();
    await this.credentials.createSession(sha256(session), username, now, now + SESSION_TTL_MS);
    return session;
  }

  /** An admin sets another account's password (its role stays); replicated as a `user.put`. */
  async resetPassword(principal: Principal, username: string, newPassword: string): Promise<void> {
    if (principal.role !== 'admin') throw new ForbiddenError('Only an admin may reset a password.');
    const user = await this.accounts.findUser(username);
    if (!user) throw new NotFoundError('Account');
    // One's own password changes with the current one (changePassword): a session left open
    // must not be enough to take the account over.
    if (user.username === principal.username) {
      throw new ForbiddenError(
        'To change your own password, give your current one (Account, “Change password”).',
      );
    }
    await this.setPassword(user.username, newPassword, user.role, true);
  }

  /** Whether the site has any account (then seedAdmin creates none). */
  async hasAccounts(): Promise<boolean> {
    return (await this.accounts.countUsers()) > 0;
  }

  /** Creates the `admin` account on a node's first start; returns whether it did. */
  async seedAdmin(password: string): Promise<boolean> {
    if ((await this.accounts.countUsers()) > 0) return false;
    // The node listens before this ends (the hash is ~0.25 s of a pool thread): a sign-in that
    // comes meanwhile waits for the account instead of being told it does not exist.
    // A seed: the weakest claim on the password, so that a node joining a cluster that has its
    // admin already does not replace that admin's password (core/password-claim.ts).
    const made = hashPassword(password).then((passwordHash) =>
      this.changes.commit({
        kind: 'user.put',
        username: 'admin',
        passwordHash,
        role: 'admin',
        seed: true,
      }),
    );
    this.seeding = made.catch(() => undefined);
    await made;
    return true;
  }

  /**
   * Checks a password and opens a session; returns the session secret for the cookie. While the
   * account or the client address is backing off, answers 429 without checking the password
   * (scrypt runs on libuv's thread pool, never on the event loop).
   */
  async login(
    username: string,
    password: string,
    address = 'unknown',
  ): Promise<{ principal: Principal; session: string }> {
    await this.seeding;
    const user = await this.accounts.findUser(username);
    // Back-off by the account meant, whatever the case it was typed in.
    const attempt = this.limiter?.begin(user?.username ?? username.toLowerCase(), address);
    const ok = await this.scryptSlots.run(() =>
      verifyPassword(password, user?.passwordHash ?? DUMMY_HASH),
    );
    if (attempt) this.limiter?.finish(attempt, user !== null && ok);
    if (!user || !ok) throw new UnauthorizedError('Wrong username or password.');
    // Said only to whoever knows the password.
    if (user.disabled) {
      throw new ForbiddenError('This account is disabled. An admin can enable it again.');
    }
    const session = randomBytes(32).toString('base64url');
    const now = this.now();
    await this.credentials.createSession(sha256(session), user.username, now, now + SESSION_TTL_MS);
    return { principal: { username: user.username, role: user.role }, session };
  }

  async logout(session: string): Promise<void> {
    await this.credentials.deleteSession(sha256(session));
  }

  async fromSession(session: string): Promise<Principal | null> {
    const found = await this.credentials.findSession(sha256(session), this.now());
    return found ? { username: found.username, role: found.role } : null;
  }

  /**
   * Issues an API token, valid until `expiresAt` if given. Only its hash is stored (and
   * replicated). Asked for with a token that expires, it expires by then too (none given: the
   * same instant; a later one: 400): an expiring token cannot make itself a lasting one.
   */
  async createToken(
    principal: Principal,
    name: string,
    requested: number | null = null,
  ): Promise<{ token: string; tokenId: string; createdAt: number; expiresAt: number | null }> {
    const limit = principal.tokenExpiresAt;
    let expiresAt = requested;
    if (limit !== undefined) {
      if (requested !== null && requested > limit) {
        throw new BadRequestError(
          `The API token this request came with expires at ${new Date(limit).toISOString()}; ` +
            'a token it makes cannot outlive it.',
        );
      }
      expiresAt ??= limit;
    }
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const tokenId = randomBytes(8).toString('hex');
    const createdAt = this.now();
    await this.changes.commit({
      kind: 'token.put',
      tokenId,
      username: principal.username,
      name,
      tokenHash: sha256(token),
      createdAt,
      ...(expiresAt === null ? {} : { expiresAt }),
    });
    return { token, tokenId, createdAt, expiresAt };
  }

  /** The caller's tokens; an admin may ask for another account's (`of`) or everyone's (`*`). */
  async listTokens(principal: Principal, of?: string): Promise<TokenRecord[]> {
    const wanted = of ?? principal.username;
    if (wanted !== principal.username && principal.role !== 'admin') {
      throw new NotFoundError('Account');
    }
    return this.credentials.listTokens(wanted === '*' ? null : wanted);
  }

  /**
   * Revokes a token of the caller's (or, for an admin, anyone's) at every node: a `token.revoke`
   * operation. Another account's token is "not found", as is one already revoked.
   */
  async revokeToken(principal: Principal, tokenId: string): Promise<void> {
    const found = await this.credentials.getToken(tokenId);
    if (!found || (found.username !== principal.username && principal.role !== 'admin')) {
      throw new NotFoundError('Token');
    }
    await this.changes.commit({ kind: 'token.revoke', tokenId });
  }

  async fromToken(token: string): Promise<Principal | null> {
    if (!token.startsWith(TOKEN_PREFIX)) return null;
    const found = await this.credentials.findToken(sha256(token));
    const now = this.now();
    if (!found || (found.expiresAt !== null && found.expiresAt <= now)) return null;
    // One write a minute at most per token, not one per request.
    if ((found.lastUsed ?? 0) < now - 60_000) await this.credentials.touchToken(found.tokenId, now);
    const principal = await this.principalOf(found.username);
    if (!principal || found.expiresAt === null) return principal;
    return { ...principal, tokenExpiresAt: found.expiresAt };
  }

  private async principalOf(username: string): Promise<Principal | null> {
    const user = await this.accounts.getUser(username);
    return user && !user.disabled ? { username: user.username, role: user.role } : null;
  }
}
