import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { emptySelection, keepOnly, selectRange, toggle } from './selection';

const order = ['a', 'b', 'c', 'd', 'e', 'f'];
const ids = (s: { ids: ReadonlySet<string> }) => [...s.ids].sort().join('');

describe('selection', () => {
  test('a click toggles and sets the anchor', () => {
    const one = toggle(emptySelection, 'b');
    expect(ids(one)).toBe('b');
    expect(one.anchor).toBe('b');
    expect(ids(toggle(one, 'b'))).toBe('');
  });

  test('shift-click selects the range from the anchor, either direction', () => {
    const s = toggle(emptySelection, 'b');
    expect(ids(selectRange(s, order, 'e'))).toBe('bcde');
    const back = toggle(emptySelection, 'e');
    expect(ids(selectRange(back, order, 'c'))).toBe('cde');
  });

  test('a range only adds, and keeps the anchor for the next one', () => {
    let s = toggle(toggle(emptySelection, 'f'), 'b');
    s = selectRange(s, order, 'd');
    expect(ids(s)).toBe('bcdf');
    s = selectRange(s, order, 'a');
    expect(ids(s)).toBe('abcdf');
    expect(s.anchor).toBe('b');
  });

  test('without an anchor, shift-click is a toggle', () => {
    expect(ids(selectRange(emptySelection, order, 'c'))).toBe('c');
  });

  test('a range holds exactly the pictures between its ends', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: order.length - 1 }),
        fc.integer({ min: 0, max: order.length - 1 }),
        (i, j) => {
          const s = selectRange(toggle(emptySelection, order[i] ?? ''), order, order[j] ?? '');
          expect(s.ids.size).toBe(Math.abs(i - j) + 1);
        },
      ),
    );
  });

  test('pictures that went away leave the selection', () => {
    const s = selectRange(toggle(emptySelection, 'a'), order, 'c');
    const kept = keepOnly(s, new Set(['b', 'c', 'd']));
    expect(ids(kept)).toBe('bc');
    expect(kept.anchor).toBeNull();
    expect(keepOnly(kept, new Set(['b', 'c']))).toBe(kept);
  });
});
