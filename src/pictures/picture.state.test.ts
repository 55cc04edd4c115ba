import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeHlc } from '../core/hlc.js';
import {
  applyPictureOp,
  emptyPicture,
  isAlive,
  type PictureOp,
  type PictureState,
} from './picture.state.js';

const ID = 'a'.repeat(64);

function create(title: string, owner = 'ann'): PictureOp {
  return {
    kind: 'picture.create',
    id: ID,
    contentType: 'image/jpeg',
    size: 10,
    width: 4,
    height: 3,
    owner,
    originName: 'n1',
    createdAt: 1,
    title,
    category: 'c',
    desc: '',
  };
}

const at = (wall: number, node = 'n1', counter = 0) => encodeHlc({ wall, counter, node });

function fold(events: readonly { op: PictureOp; hlc: string }[]): PictureState {
  return events.reduce((s, e) => applyPictureOp(s, e.op, e.hlc), emptyPicture(ID));
}

describe('picture merge rules', () => {
  it('keeps concurrent edits of different fields', () => {
    const s = fold([
      { op: create('t0'), hlc: at(1) },
      { op: { kind: 'picture.update', id: ID, title: 'from n2' }, hlc: at(5, 'n2') },
      { op: { kind: 'picture.update', id: ID, desc: 'from n3' }, hlc: at(5, 'n3') },
    ]);
    expect([s.title?.value, s.desc?.value, s.category?.value]).toEqual(['from n2', 'from n3', 'c']);
  });

  it('gives the same field to the highest HLC, ties broken by node id', () => {
    const s = fold([
      { op: create('t0'), hlc: at(1) },
      { op: { kind: 'picture.update', id: ID, title: 'b' }, hlc: at(5, 'nb') },
      { op: { kind: 'picture.update', id: ID, title: 'a' }, hlc: at(5, 'na') },
    ]);
    expect(s.title?.value).toBe('b');
  });

  it('lets a delete hide earlier edits and a later edit bring the picture back', () => {
    const deleted = fold([
      { op: create('t0'), hlc: at(1) },
      { op: { kind: 'picture.update', id: ID, title: 'edit' }, hlc: at(4, 'n2') },
      { op: { kind: 'picture.delete', id: ID }, hlc: at(5, 'n3') },
    ]);
    expect(isAlive(deleted)).toBe(false);
    const revived = applyPictureOp(
      deleted,
      { kind: 'picture.update', id: ID, title: 'late' },
      at(6, 'n2'),
    );
    expect(isAlive(revived)).toBe(true);
    expect(revived.title?.value).toBe('late');
  });

  it('restores a deleted picture with the fields it had when the restore is after the delete', () => {
    const deleted = fold([
      { op: create('t0'), hlc: at(1) },
      { op: { kind: 'picture.update', id: ID, title: 'kept' }, hlc: at(2) },
      { op: { kind: 'picture.delete', id: ID }, hlc: at(5, 'n3') },
    ]);
    const restored = applyPictureOp(deleted, { kind: 'picture.restore', id: ID }, at(6, 'n2'));
    expect(isAlive(restored)).toBe(true);
    expect(restored.title?.value).toBe('kept');
    // A delete ordered after the restore (concurrent, stamped later) wins.
    const again = applyPictureOp(restored, { kind: 'picture.delete', id: ID }, at(7, 'n1'));
    expect(isAlive(again)).toBe(false);
  });

  it('keeps the first uploader as owner when the same bytes are uploaded twice', () => {
    const s = fold([
      { op: create('second', 'bob'), hlc: at(9, 'n2') },
      { op: create('first', 'ann'), hlc: at(3, 'n1') },
    ]);
    expect(s.info?.owner).toBe('ann');
    expect(s.title?.value).toBe('second');
  });

  it('is not visible before its create arrives', () => {
    const s = fold([{ op: { kind: 'picture.update', id: ID, title: 'early' }, hlc: at(5) }]);
    expect(isAlive(s)).toBe(false);
    expect(isAlive(applyPictureOp(s, create('t'), at(1)))).toBe(true);
  });

  // The property the replication layer relies on: delivery order and duplicates do not matter.
  it('converges for any delivery order and any duplication', () => {
    const field = fc.option(fc.string({ maxLength: 3 }), { nil: undefined });
    const opArb: fc.Arbitrary<PictureOp> = fc.oneof(
      fc
        .record({ title: fc.string({ maxLength: 3 }), owner: fc.constantFrom('ann', 'bob') })
        .map((r) => create(r.title, r.owner)),
      fc.record({ title: field, category: field, desc: field }).map((r) => {
        const op: {
          kind: 'picture.update';
          id: string;
          title?: string;
          category?: string;
          desc?: string;
        } = {
          kind: 'picture.update',
          id: ID,
        };
        if (r.title !== undefined) op.title = r.title;
        if (r.category !== undefined) op.category = r.category;
        if (r.desc !== undefined) op.desc = r.desc;
        return op;
      }),
      fc.constant<PictureOp>({ kind: 'picture.delete', id: ID }),
      fc.constant<PictureOp>({ kind: 'picture.restore', id: ID }),
    );
    const eventsArb = fc
      .uniqueArray(
        fc.record({
          wall: fc.integer({ min: 1, max: 20 }),
          node: fc.constantFrom('n1', 'n2', 'n3'),
        }),
        { selector: (e) => `${e.wall}/${e.node}`, minLength: 1, maxLength: 12 },
      )
      .chain((stamps) =>
        fc.tuple(...stamps.map((s) => opArb.map((op) => ({ op, hlc: at(s.wall, s.node) })))),
      );
    fc.assert(
      fc.property(
        eventsArb.chain((events) =>
          fc.tuple(
            fc.constant(events),
            fc.shuffledSubarray([...events, ...events], { minLength: events.length * 2 }),
          ),
        ),
        ([events, redelivered]) => {
          expect(fold(redelivered)).toEqual(fold(events));
        },
      ),
    );
  });
});
