import { describe, expect, it } from 'vitest';
import { FolderAccess } from './folder-access.js';

describe('FolderAccess', () => {
  const access = new FolderAccess(['photos=alice', 'photos=bob', 'docs=bob']);

  it('lets an admin use every folder', () => {
    expect(access.canUse({ username: 'root', role: 'admin' }, 'anything')).toBe(true);
  });

  it('lets other accounts use only the folders they are listed for', () => {
    expect(access.canUse({ username: 'alice', role: 'user' }, 'photos')).toBe(true);
    expect(access.canUse({ username: 'alice', role: 'user' }, 'docs')).toBe(false);
    expect(access.canUse({ username: 'bob', role: 'user' }, 'docs')).toBe(true);
    expect(access.canUse({ username: 'carol', role: 'user' }, 'photos')).toBe(false);
  });

  it('compares names ignoring case, as sign-in does', () => {
    const mixed = new FolderAccess(['photos=Alice']);
    expect(mixed.canUse({ username: 'alice', role: 'user' }, 'photos')).toBe(true);
    expect(access.canUse({ username: 'ALICE', role: 'user' }, 'photos')).toBe(true);
  });

  it('names the folders a grant may name when it names another', () => {
    expect(() => {
      access.assertFolders(['photos', 'docs']);
    }).not.toThrow();
    expect(() => {
      new FolderAccess(['dcos=alice']).assertFolders(['docs']);
    }).toThrow('--folder-user dcos=…: this node syncs no folder "dcos" (its folders: docs).');
  });

  it('refuses malformed entries', () => {
    expect(() => new FolderAccess(['photos'])).toThrow(/FOLDER=USER/);
    expect(() => new FolderAccess(['=bob'])).toThrow(/FOLDER=USER/);
    expect(() => new FolderAccess(['photos='])).toThrow(/FOLDER=USER/);
  });

  it('says which grants give nothing as the accounts stand: unknown names and admins', async () => {
    const accounts = new Map([
      ['alice', { role: 'user' }],
      ['root', { role: 'admin' }],
    ]);
    const grants = new FolderAccess(['photos=Alice', 'photos=root', 'docs=carol']);
    expect(await grants.doubts((name) => Promise.resolve(accounts.get(name) ?? null))).toEqual([
      '--folder-user photos=root: "root" is an admin, who may use every folder already.',
      '--folder-user docs=carol: there is no account "carol" here (yet); the grant applies once there is.',
    ]);
  });
});
