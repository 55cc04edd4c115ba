/**
 * What an admin may do to accounts (roles, disabling) and what a disabled account can still
 * do (nothing), on one node's store; the same across nodes: test/library/users.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, ForbiddenError, NotFoundError, UnauthorizedError } from '../core/errors.js';
import { openDatabase } from '../db/database.js';
import { openReplicaState } from '../oplog/replica-state.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { sqliteStoreOver } from '../storage/metadata/sqlite.js';
import { AccountService } from './account.service.js';
import { LoginLimiter } from './login-limiter.js';

let store: MetadataStore;
let service: AccountService;
const root = { username: 'root', role: 'admin' } as const;
const ann = { username: 'Ann', role: 'user' } as const;

beforeAll(async () => {
  store = sqliteStoreOver(openDatabase(':memory:'));
  const { accounts, credentials, changes } = openReplicaState(store, 'cccccccccccccccc');
  service = new AccountService(accounts, credentials, changes, Date.now, new LoginLimiter());
  await service.addUser('root', 'root-password', 'admin');
  await service.addUser('Ann', 'ann-password');
});
afterAll(async () => {
  await store.close();
});

describe('accounts, by name', () => {
  it('sign in whatever the case the name is typed in, as the name they were made with', async () => {
    const { principal } = await service.login('ann', 'ann-password');
    expect(principal).toEqual({ username: 'Ann', role: 'user' });
    await expect(service.login('ANN', 'wrong-password')).rejects.toThrow(UnauthorizedError);
  });

  it('cannot be added twice under names that differ only by case', async () => {
    await expect(service.addUser('ann', 'other-password')).rejects.toThrow(
      new ConflictError('An account named Ann already exists (names ignore case).'),
    );
    expect((await service.listUsers(root)).map((p) => p.username)).toEqual(['Ann', 'root']);
  });
});

describe('an admin changing accounts', () => {
  it('makes someone an admin and back, by the name as typed', async () => {
    expect(await service.setAccess(root, 'ann', { role: 'admin' })).toEqual({
      username: 'Ann',
      role: 'admin',
      disabled: false,
    });
    expect((await service.login('Ann', 'ann-password')).principal.role).toBe('admin');
    expect(await service.setAccess(root, 'Ann', { role: 'user' })).toMatchObject({ role: 'user' });
  });

  it('is refused to anyone else, for an unknown name, and when it would leave no admin', async () => {
    await expect(service.setAccess(ann, 'root', { disabled: true })).rejects.toThrow(
      ForbiddenError,
    );
    await expect(service.setAccess(root, 'nobody', { disabled: true })).rejects.toThrow(
      NotFoundError,
    );
    await expect(service.setAccess(root, 'root', { disabled: true })).rejects.toThrow(
      new ConflictError('You cannot disable your own account; another admin can.'),
    );
    await expect(service.setAccess(root, 'root', { role: 'user' })).rejects.toThrow(
      new ConflictError(
        'root is the only admin who can sign in; make someone else an admin first.',
      ),
    );
    // With a second admin, the first may step down.
    await service.setAccess(root, 'Ann', { role: 'admin' });
    const annAdmin = { username: 'Ann', role: 'admin' } as const;
    expect(await service.setAccess(root, 'root', { role: 'user' })).toMatchObject({
      role: 'user',
    });
    await service.setAccess(annAdmin, 'root', { role: 'admin' });
    await service.setAccess(root, 'Ann', { role: 'user' });
  });

  it('disables an account: no sign-in, session or token of it works until enabled again', async () => {
    const { session } = await service.login('Ann', 'ann-password');
    const { token } = await service.createToken(ann, 'laptop');
    expect(await service.fromToken(token)).toEqual(ann);

    expect(await service.setAccess(root, 'Ann', { disabled: true })).toMatchObject({
      disabled: true,
    });
    expect(await service.fromSession(session)).toBeNull();
    expect(await service.fromToken(token)).toBeNull();
    // The right password is told why; a wrong one learns nothing.
    await expect(service.login('Ann', 'ann-password')).rejects.toThrow(
      new ForbiddenError('This account is disabled. An admin can enable it again.'),
    );
    await expect(service.login('Ann', 'bad-password')).rejects.toThrow(UnauthorizedError);

    await service.setAccess(root, 'Ann', { disabled: false });
    expect(await service.fromToken(token)).toEqual(ann);
    expect(await service.fromSession(session)).toBeNull(); // signed out for good
    await expect(service.login('ann', 'ann-password')).resolves.toMatchObject({
      principal: ann,
    });
  });
});
