import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteAccountRepository } from '../accounts/account.repository.js';
import { openDatabase, type Db } from '../db/database.js';
import { DeviceRepository, type DeviceOwner } from './device.repository.js';

const dirs: string[] = [];
function freshDb(): Db {
  const dir = mkdtempSync(join(tmpdir(), 'mosaic-devrepo-'));
  dirs.push(dir);
  return openDatabase(join(dir, 'mosaic.db'));
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const hlc = (n: number) =>
  `${String(1_700_000_000_000 + n).padStart(16, '0')}-0000-aaaaaaaaaaaaaaaa`;

describe('replicated ownership and revocation: the same state in any order of arrival', () => {
  it('device.put: the registration with the lowest HLC owns the id', () => {
    const db = freshDb();
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 6 }),
        fc.integer(),
        (stamps, seed) => {
          db.exec('DELETE FROM device_owners');
          const repo = new DeviceRepository(db);
          const puts = stamps.map((n, i): [DeviceOwner, string] => [
            { deviceId: '0123456789abcdef', username: `user${i}`, folder: 'f', name: 'x' },
            hlc(n),
          ]);
          const order = [...puts].sort(() => ((seed = (seed * 1103515245 + 12345) | 0) & 1) - 0.5);
          for (const [owner, at] of order) repo.putOwner(owner, at);
          const first = puts.reduce((a, b) => (a[1] < b[1] ? a : b));
          expect(repo.owner('0123456789abcdef')?.username).toBe(first[0].username);
        },
      ),
    );
    db.close();
  });

  it('token.revoke wins over token.put, whichever arrives first', () => {
    for (const revokeFirst of [true, false]) {
      const db = freshDb();
      const accounts = new SqliteAccountRepository(db);
      const put = () => {
        accounts.putToken(
          {
            tokenId: '00000000000000aa',
            username: 'alice',
            name: 'cli',
            tokenHash: 'f'.repeat(64),
            createdAt: 1,
            expiresAt: null,
          },
          hlc(1),
        );
      };
      if (revokeFirst) accounts.revokeToken('00000000000000aa', hlc(2));
      put();
      if (!revokeFirst) accounts.revokeToken('00000000000000aa', hlc(2));
      expect(accounts.findToken('f'.repeat(64))).toBeNull();
      expect(accounts.listTokens('alice')).toEqual([]);
      db.close();
    }
  });
});
