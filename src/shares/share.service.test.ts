import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlbumService } from '../albums/album.service.js';
import { NotFoundError } from '../core/errors.js';
import { openDatabase } from '../db/database.js';
import { openReplicaState } from '../oplog/replica-state.js';
import type { Picture } from '../pictures/picture.repository.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { sqliteStoreOver } from '../storage/metadata/sqlite.js';
import { ShareService } from './share.service.js';

const T0 = 1_800_000_000_000;
const DAY = 24 * 3600 * 1000;
const ann = { username: 'ann', role: 'user' } as const;
const bob = { username: 'bob', role: 'user' } as const;
const admin = { username: 'root', role: 'admin' } as const;
const PIC = 'a'.repeat(64);

/** Ann's picture, as the picture service would answer (pictures are not this test's subject). */
function pictureOf(id: string): Picture {
  if (id !== PIC) throw new NotFoundError('Picture');
  return {
    id,
    title: 'Cat',
    category: '',
    desc: '',
    contentType: 'image/jpeg',
    size: 10,
    width: 4,
    height: 3,
    owner: 'ann',
    origin: 'n1',
    createdAt: new Date(T0).toISOString(),
    updatedAt: new Date(T0).toISOString(),
  };
}

let store: MetadataStore;
let now: number;
let shares: ShareService;
let albums: AlbumService;

beforeEach(() => {
  now = T0;
  store = sqliteStoreOver(openDatabase(':memory:'));
  const state = openReplicaState(store, 'cccccccccccccccc', { now: () => now });
  shares = new ShareService({
    shares: state.shares,
    albums: state.albums,
    changes: state.changes,
    picture: pictureOf,
    now: () => now,
  });
  albums = new AlbumService({ albums: state.albums, changes: state.changes, picture: pictureOf });
});
afterEach(async () => {
  await store.close();
});

describe('share links', () => {
  it('have 128-bit ids, work until they expire, and then answer like a missing link', async () => {
    const share = await shares.create(ann, {
      target: 'picture',
      targetId: PIC,
      expiresAt: T0 + DAY,
      password: null,
    });
    expect(share.id).toMatch(/^[0-9a-f]{32}$/);
    expect((await shares.open(share.id)).title).toBe('Cat');
    now = T0 + DAY;
    await expect(shares.open(share.id)).rejects.toThrow(NotFoundError);
    await expect(shares.open('not-a-link')).rejects.toThrow(NotFoundError);
  });

  it('are made by the owner of what they show or an admin, and revoked by their maker or an admin', async () => {
    const request = { target: 'picture', targetId: PIC, expiresAt: null, password: null } as const;
    await expect(shares.create(bob, request)).rejects.toThrow(/owner/);
    const made = await shares.create(admin, request);
    await expect(shares.revoke(bob, made.id)).rejects.toThrow(NotFoundError);
    await shares.revoke(admin, made.id);
    await expect(shares.open(made.id)).rejects.toThrow(NotFoundError);
    const own = await shares.create(ann, request);
    await shares.revoke(ann, own.id);
    await expect(shares.open(own.id)).rejects.toThrow(NotFoundError);
    const album = await albums.create(bob, { name: 'Bob’s', desc: '' });
    await expect(
      shares.create(ann, { target: 'album', targetId: album.id, expiresAt: null, password: null }),
    ).rejects.toThrow(/owner/);
  });

  it('keep only a scrypt hash of their password and check it', async () => {
    const share = await shares.create(ann, {
      target: 'picture',
      targetId: PIC,
      expiresAt: null,
      password: 'open sesame',
    });
    expect(share.passwordHash).toMatch(/^scrypt\$/);
    expect(share.passwordHash).not.toContain('open sesame');
    const { share: stored } = await shares.open(share.id);
    expect(await shares.checkPassword(stored, 'open sesame')).toBe(true);
    expect(await shares.checkPassword(stored, 'open sesame!')).toBe(false);
  });

  it('show only the picture they share', async () => {
    const share = await shares.create(ann, {
      target: 'picture',
      targetId: PIC,
      expiresAt: null,
      password: null,
    });
    const { share: stored } = await shares.open(share.id);
    expect((await shares.picture(stored, PIC)).id).toBe(PIC);
    await expect(shares.picture(stored, 'b'.repeat(64))).rejects.toThrow(NotFoundError);
    expect((await shares.pictures(stored, 10, null)).items.map((p) => p.id)).toEqual([PIC]);
  });
});
