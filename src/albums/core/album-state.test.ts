import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeHlc } from '../../core/hlc.js';
import type { AlbumMembers } from '../../oplog/op.js';
import {
  applyAlbumOp,
  applyMembers,
  emptyAlbum,
  isAlbumAlive,
  type AlbumOp,
  type AlbumState,
  type Membership,
} from './album-state.js';

const ID = 'album-1';
const at = (wall: number, node = 'n1', counter = 0) => encodeHlc({ wall, counter, node });

type Event = { readonly op: AlbumOp | AlbumMembers; readonly hlc: string };

interface Folded {
  readonly album: AlbumState;
  readonly members: Map<string, Membership>;
}

function fold(events: readonly Event[]): Folded {
  let album = emptyAlbum(ID);
  let members = new Map<string, Membership>();
  for (const { op, hlc } of events) {
    if (op.kind === 'album.add' || op.kind === 'album.remove') {
      members = applyMembers(members, op, hlc);
    } else {
      album = applyAlbumOp(album, op, hlc);
    }
  }
  return { album, members };
}

const inAlbum = (f: Folded) =>
  [...f.members]
    .filter(([, m]) => m.present)
    .map(([id]) => id)
    .sort();

const create = (name: string, owner = 'ann'): AlbumOp => ({
  kind: 'album.create',
  id: ID,
  owner,
  createdAt: 1,
  name,
  desc: '',
});

describe('album merge rules', () => {
  it('lets the later of a concurrent add and remove decide, whatever the arrival order', () => {
    const add: Event = { op: { kind: 'album.add', id: ID, pictures: ['p1', 'p2'] }, hlc: at(5) };
    const remove: Event = {
      op: { kind: 'album.remove', id: ID, pictures: ['p1'] },
      hlc: at(5, 'n2'),
    };
    expect(inAlbum(fold([add, remove]))).toEqual(['p2']);
    expect(inAlbum(fold([remove, add]))).toEqual(['p2']);
    // The same remove stamped earlier than the add: the add wins.
    const early = { ...remove, hlc: at(4, 'n2') };
    expect(inAlbum(fold([early, add]))).toEqual(['p1', 'p2']);
  });

  it('keeps concurrent edits of different fields and the first owner', () => {
    const { album } = fold([
      { op: create('Summer'), hlc: at(1) },
      { op: { kind: 'album.update', id: ID, name: 'Summer 2026' }, hlc: at(3, 'n2') },
      { op: { kind: 'album.update', id: ID, cover: 'p9' }, hlc: at(3, 'n3') },
      { op: create('Other', 'bob'), hlc: at(2, 'n4') },
    ]);
    expect([album.name?.value, album.cover?.value, album.info?.owner]).toEqual([
      'Summer 2026',
      'p9',
      'ann',
    ]);
  });

  it('hides an album deleted after its last edit, and an edit after the delete revives it', () => {
    const deleted = fold([
      { op: create('A'), hlc: at(1) },
      { op: { kind: 'album.delete', id: ID }, hlc: at(2, 'n2') },
    ]);
    expect(isAlbumAlive(deleted.album)).toBe(false);
    const revived = fold([
      { op: create('A'), hlc: at(1) },
      { op: { kind: 'album.delete', id: ID }, hlc: at(2, 'n2') },
      { op: { kind: 'album.update', id: ID, name: 'B' }, hlc: at(3) },
    ]);
    expect(isAlbumAlive(revived.album)).toBe(true);
  });

  it('converges for any delivery order and any duplication (property)', () => {
    const pictures = fc.constantFrom('p1', 'p2', 'p3', 'p4');
    const body: fc.Arbitrary<AlbumOp | AlbumMembers> = fc.oneof(
      fc
        .record({ name: fc.string({ maxLength: 3 }), owner: fc.constantFrom('ann', 'bob') })
        .map(({ name, owner }) => create(name, owner)),
      fc
        .record({
          name: fc.option(fc.string({ maxLength: 3 }), { nil: undefined }),
          cover: fc.option(pictures, { nil: undefined }),
        })
        .map(({ name, cover }): AlbumOp => ({ kind: 'album.update', id: ID, name, cover })),
      fc.constant<AlbumOp>({ kind: 'album.delete', id: ID }),
      fc
        .record({
          add: fc.boolean(),
          pictures: fc.uniqueArray(pictures, { minLength: 1, maxLength: 3 }),
        })
        .map(({ add, pictures: ids }): AlbumMembers => ({
          kind: add ? 'album.add' : 'album.remove',
          id: ID,
          pictures: ids,
        })),
    );
    // Distinct HLCs, as the clock guarantees: several nodes, walls that collide on purpose.
    const events = fc
      .uniqueArray(
        fc.record({ wall: fc.integer({ min: 1, max: 6 }), node: fc.constantFrom('a', 'b', 'c') }),
        { selector: (e) => `${e.wall}/${e.node}`, minLength: 1, maxLength: 12 },
      )
      .chain((stamps) =>
        fc.tuple(...stamps.map((s) => body.map((op): Event => ({ op, hlc: at(s.wall, s.node) })))),
      );
    fc.assert(
      fc.property(
        events,
        fc.func(fc.integer()),
        fc.array(fc.nat(), { maxLength: 6 }),
        (list, rank, dupes) => {
          const reference = fold(list);
          // Another order, with some operations delivered twice.
          const again = [
            ...list,
            ...dupes.flatMap((i) => list.slice(i % list.length, (i % list.length) + 1)),
          ];
          const shuffled = again
            .map((e, i) => ({ e, k: rank(i) }))
            .sort((x, y) => x.k - y.k)
            .map((x) => x.e);
          const other = fold(shuffled);
          expect(other.album).toEqual(reference.album);
          expect(other.members).toEqual(reference.members);
          expect(isAlbumAlive(other.album)).toBe(isAlbumAlive(reference.album));
        },
      ),
      { numRuns: 500 },
    );
  });
});
