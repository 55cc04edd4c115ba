/**
 * The fault tier's checker restates the documented picture rules on its own (checker.ts,
 * expectedPictures). Held here against the implementation for any sequence of operations in
 * any order, so a checker that passes is the documented rules, not a copy of a bug.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeHlc } from '../../src/core/hlc.js';
import type { PictureCreate, PictureDelete, PictureUpdate } from '../../src/oplog/op.js';
import { applyPictureOp, emptyPicture, isAlive } from '../../src/pictures/picture.state.js';
import { expectedPictures } from './checker.js';

const ID = 'b'.repeat(64);
type Body = PictureCreate | PictureUpdate | PictureDelete;

const body: fc.Arbitrary<Body> = fc.oneof(
  fc.record({ title: fc.string({ maxLength: 3 }) }).map(({ title }): Body => ({
    kind: 'picture.create',
    id: ID,
    contentType: 'image/png',
    size: 1,
    width: 1,
    height: 1,
    owner: 'admin',
    originName: 'n1',
    createdAt: 1,
    title,
    category: 'c',
    desc: 'd',
  })),
  fc
    .record(
      {
        title: fc.string({ maxLength: 3 }),
        category: fc.string({ maxLength: 3 }),
        desc: fc.string({ maxLength: 3 }),
      },
      { requiredKeys: [] },
    )
    .map((fields): Body => ({ kind: 'picture.update', id: ID, ...fields })),
  fc.constant<Body>({ kind: 'picture.delete', id: ID }),
);

const ops = fc.uniqueArray(
  fc.record({
    body,
    wall: fc.integer({ min: 1, max: 50 }),
    node: fc.constantFrom('n1', 'n2', 'n3'),
  }),
  { maxLength: 12, selector: (o) => `${o.wall}-${o.node}` },
);

describe('the fault checker picture model', () => {
  it('gives what the implementation gives, for any operations in any order', () => {
    fc.assert(
      fc.property(ops, (list) => {
        const rows = list.map((o, seq) => ({
          origin: o.node,
          seq,
          hlc: encodeHlc({ wall: o.wall, counter: 0, node: o.node }),
          kind: o.body.kind,
          body: JSON.stringify(o.body),
        }));
        const state = list.reduce(
          (s, o, i) => applyPictureOp(s, o.body, rows[i]?.hlc ?? ''),
          emptyPicture(ID),
        );
        const expected = expectedPictures(rows).get(ID);
        if (!expected) return list.length === 0;
        expect(expected.alive).toBe(isAlive(state));
        if (expected.alive) {
          expect(expected.title).toBe(state.title?.value ?? '');
          expect(expected.category).toBe(state.category?.value ?? '');
          expect(expected.desc).toBe(state.desc?.value ?? '');
        }
        return true;
      }),
    );
  });
});
