import fc from 'fast-check';
import { expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { SqlCredentialRepository } from '../accounts/credential.repository.js';
import { DeviceRepository, type DeviceOwner } from './device.repository.js';

const hlc = (n: number) =>
  `${String(1_700_000_000_000 + n).padStart(16, '0')}-0000-aaaaaaaaaaaaaaaa`;

describeEachDialect(
  'replicated ownership and revocation: the same state in any order of arrival',
  (ctx) => {
    it('device.put: the registration with the lowest HLC owns the id', async () => {
      const store = await ctx.open();
      const repo = new DeviceRepository(store);
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 6 }),
          fc.integer(),
          async (stamps, seed) => {
            await store.db.deleteFrom('device_owners').execute();
            const puts = stamps.map((n, i): [DeviceOwner, string] => [
              { deviceId: '0123456789abcdef', username: `user${i}`, folder: 'f', name: 'x' },
              hlc(n),
            ]);
            const order = [...puts].sort(
              () => ((seed = (seed * 1103515245 + 12345) | 0) & 1) - 0.5,
            );
            for (const [owner, at] of order) await repo.putOwner(store.db, owner, at);
            const first = puts.reduce((a, b) => (a[1] < b[1] ? a : b));
            expect((await repo.owner('0123456789abcdef'))?.username).toBe(first[0].username);
          },
        ),
        { numRuns: ctx.dialect === 'postgres' ? 30 : 100 },
      );
    });

    it('token.revoke wins over token.put, whichever arrives first', async () => {
      for (const revokeFirst of [true, false]) {
        const store = await ctx.open();
        const credentials = new SqlCredentialRepository(store);
        const put = () =>
          credentials.putToken(
            store.db,
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
        if (revokeFirst) await credentials.revokeToken(store.db, '00000000000000aa', hlc(2));
        await put();
        if (!revokeFirst) await credentials.revokeToken(store.db, '00000000000000aa', hlc(2));
        expect(await credentials.findToken('f'.repeat(64))).toBeNull();
        expect(await credentials.listTokens('alice')).toEqual([]);
      }
    });

    it('a device is known by its first name and by the one it last used here', async () => {
      const store = await ctx.open();
      const repo = new DeviceRepository(store);
      const laptop = { deviceId: '00000000000000a1', username: 'u', folder: 'f', name: 'old' };
      const twin = { deviceId: '00000000000000a2', username: 'u', folder: 'f', name: 'old' };
      const elsewhere = { deviceId: '00000000000000a3', username: 'u', folder: 'g', name: 'new' };
      for (const owner of [laptop, twin, elsewhere]) await repo.putOwner(store.db, owner, hlc(1));
      // Started again as "new": the owner record keeps "old", this node notes "new".
      await repo.touch({ ...laptop, name: 'new' }, 10);
      const sorted = async (name: string) => (await repo.idsNamed('f', name)).sort();
      expect(await sorted('old')).toEqual([laptop.deviceId, twin.deviceId]);
      expect(await sorted('new')).toEqual([laptop.deviceId]);
      expect(await sorted('none')).toEqual([]);
      expect(await repo.localName(laptop.deviceId)).toBe('new');
      expect(await repo.localName(twin.deviceId)).toBeNull();
    });

    it("lists a folder's devices: its own or every account's, named as last seen here", async () => {
      const store = await ctx.open();
      const repo = new DeviceRepository(store);
      const mine = { deviceId: '00000000000000b1', username: 'ann', folder: 'f', name: 'zed' };
      const theirs = { deviceId: '00000000000000b2', username: 'bea', folder: 'f', name: 'abe' };
      const other = { deviceId: '00000000000000b3', username: 'ann', folder: 'g', name: 'x' };
      for (const owner of [mine, theirs, other]) await repo.putOwner(store.db, owner, hlc(1));
      await repo.touch({ ...mine, name: 'ann-laptop' }, 1_700_000_000_000);
      expect(await repo.listFolder('f', null)).toEqual([
        { deviceId: theirs.deviceId, name: 'abe', username: 'bea', lastSeen: null },
        {
          deviceId: mine.deviceId,
          name: 'ann-laptop',
          username: 'ann',
          lastSeen: 1_700_000_000_000,
        },
      ]);
      expect((await repo.listFolder('f', 'ann')).map((d) => d.deviceId)).toEqual([mine.deviceId]);
      expect(await repo.listFolder('none', null)).toEqual([]);
    });

    it('device.remove wins over device.put, whichever arrives first; the device is then unlisted', async () => {
      for (const removeFirst of [true, false]) {
        const store = await ctx.open();
        const repo = new DeviceRepository(store);
        const gone = { deviceId: '00000000000000c1', username: 'u', folder: 'f', name: 'lost' };
        const kept = { deviceId: '00000000000000c2', username: 'u', folder: 'f', name: 'desk' };
        if (removeFirst) await repo.remove(store.db, gone.deviceId, hlc(5));
        await repo.putOwner(store.db, gone, hlc(1));
        await repo.putOwner(store.db, kept, hlc(2));
        if (!removeFirst) await repo.remove(store.db, gone.deviceId, hlc(5));
        await repo.remove(store.db, gone.deviceId, hlc(9)); // removed again: nothing changes
        expect(await repo.owner(gone.deviceId)).toEqual({ ...gone, removed: true });
        expect(await repo.owner(kept.deviceId)).toEqual({ ...kept, removed: false });
        expect((await repo.listFolder('f', null)).map((d) => d.deviceId)).toEqual([kept.deviceId]);
        expect(await repo.idsNamed('f', 'lost')).toEqual([]);
        expect([...(await repo.goneNames('f'))]).toEqual(['lost']);
      }
    });

    it('a name still carried by a device that may sync is not gone', async () => {
      const store = await ctx.open();
      const repo = new DeviceRepository(store);
      const old = { deviceId: '00000000000000d1', username: 'u', folder: 'f', name: 'laptop' };
      const twin = { deviceId: '00000000000000d2', username: 'u', folder: 'f', name: 'laptop' };
      const renamed = { deviceId: '00000000000000d3', username: 'u', folder: 'f', name: 'first' };
      for (const owner of [old, twin, renamed]) await repo.putOwner(store.db, owner, hlc(1));
      await repo.touch({ ...renamed, name: 'second' }, 10);
      await repo.remove(store.db, old.deviceId, hlc(2));
      await repo.remove(store.db, renamed.deviceId, hlc(3));
      // "laptop" is still the twin's; both names of the renamed one are gone.
      expect([...(await repo.goneNames('f'))].sort()).toEqual(['first', 'second']);
      expect(await repo.idsNamed('f', 'laptop')).toEqual([twin.deviceId]);
      expect(await repo.goneNames('other')).toEqual(new Set());
    });
  },
);
