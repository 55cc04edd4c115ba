import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { appendPage, compareNewest, foldChanges, mergeFirstPage, reconcile } from './gallery-list';

interface P {
  id: string;
  createdAt: string;
  updatedAt: string;
  category: string;
}

const at = (minute: number) => new Date(Date.UTC(2026, 10, 30, 10, minute)).toISOString();
const p = (id: string, minute: number, category = 'x', edited = minute): P => ({
  id,
  createdAt: at(minute),
  updatedAt: at(edited),
  category,
});
const ids = (items: readonly P[]) => items.map((i) => i.id).join('');
const all = { complete: true, matches: () => true };

describe('foldChanges', () => {
  const list = [p('d', 40), p('c', 30), p('b', 20)];

  test('a new picture goes to its place; the others keep their objects', () => {
    const next = foldChanges(list, [{ id: 'e', picture: p('e', 50) }], all);
    expect(ids(next)).toBe('edcb');
    expect(next[1]).toBe(list[0]);
    expect(ids(foldChanges(list, [{ id: 'x', picture: p('x', 35) }], all))).toBe('dxcb');
  });

  test('an edit replaces the tile in place; an unchanged answer changes nothing', () => {
    const edited = p('c', 30, 'y', 45);
    const next = foldChanges(list, [{ id: 'c', picture: edited }], all);
    expect(next[1]).toBe(edited);
    expect(foldChanges(list, [{ id: 'c', picture: p('c', 30) }], all)).toBe(list);
  });

  test('a deleted picture, or one that left the filter, is removed', () => {
    expect(ids(foldChanges(list, [{ id: 'c', picture: null }], all))).toBe('db');
    const cats = { complete: true, matches: (x: P) => x.category === 'x' };
    expect(ids(foldChanges(list, [{ id: 'd', picture: p('d', 40, 'y', 41) }], cats))).toBe('cb');
    expect(ids(foldChanges(list, [{ id: 'n', picture: p('n', 60, 'y') }], cats))).toBe('dcb');
  });

  test('an older picture is left to paging while there are more pages', () => {
    const old = { id: 'a', picture: p('a', 10) };
    expect(ids(foldChanges(list, [old], { complete: false, matches: () => true }))).toBe('dcb');
    expect(ids(foldChanges(list, [old], all))).toBe('dcba');
  });

  test('folding keeps the server’s order and no picture twice', () => {
    const change = fc.record({
      id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
      minute: fc.integer({ min: 0, max: 59 }),
      gone: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(change, { maxLength: 20 }), (changes) => {
        // Creation times are fixed per id, as on the server.
        const minuteOf = (id: string) => id.charCodeAt(0);
        const result = foldChanges(
          list.map((x) => ({ ...x, createdAt: at(minuteOf(x.id) % 60) })),
          changes.map((c) => ({
            id: c.id,
            picture: c.gone ? null : p(c.id, minuteOf(c.id) % 60, 'x', c.minute),
          })),
          all,
        );
        expect(new Set(result.map((r) => r.id)).size).toBe(result.length);
        const sorted = [...result].sort(compareNewest);
        expect(ids(result)).toBe(ids(sorted));
      }),
    );
  });
});

test('appendPage drops pictures already shown', () => {
  expect(ids(appendPage([p('c', 3), p('b', 2)], [p('b', 2), p('a', 1)]))).toBe('cba');
});

test('reconcile keeps the objects of unchanged pictures', () => {
  const old = [p('c', 3), p('b', 2)];
  const fresh = [p('d', 4), p('c', 3), p('b', 2, 'x', 5)];
  const result = reconcile(old, fresh);
  expect(result[0]).toBe(fresh[0]);
  expect(result[1]).toBe(old[0]);
  expect(result[2]).toBe(fresh[2]);
});

describe('mergeFirstPage', () => {
  const shown = [p('f', 60), p('e', 50), p('d', 40), p('c', 30), p('b', 20), p('a', 10)];

  test('the first page decides its range; what lies below stays', () => {
    // New g, e edited, f deleted; the page ends at d.
    const page = [p('g', 70), p('e', 50, 'x', 55), p('d', 40)];
    const merged = mergeFirstPage(shown, page, false);
    expect(ids(merged)).toBe('gedcba');
    expect(merged[1]).toBe(page[1]);
    expect(merged[2]).toBe(shown[2]);
    expect(merged[3]).toBe(shown[3]);
  });

  test('a complete page is the whole list', () => {
    expect(ids(mergeFirstPage(shown, [p('e', 50), p('a', 10)], true))).toBe('ea');
    expect(mergeFirstPage(shown, [], false)).toEqual([]);
  });
});
