import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  appendPage,
  compareNewest,
  foldChanges,
  mergeFirstPage,
  reconcile,
  sortKey,
} from './gallery-list';

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

describe('the order by date taken', () => {
  const pic = (id: string, createdAt: string, takenAt?: string | null) => ({
    id,
    createdAt,
    updatedAt: createdAt,
    takenAt,
  });

  test('a date taken orders by its local time, whatever the offset; else the upload time', () => {
    const items = [
      pic('a', '2026-11-30T10:00:00.000Z', '2019-07-14T18:30:05+02:00'),
      pic('b', '2026-11-30T10:01:00.000Z', null),
      pic('c', '2026-11-30T10:02:00.000Z', '2019-07-14T18:30:06-08:00'),
      pic('d', '2026-11-30T09:00:00.000Z', '2023-01-01T00:00:00'),
    ];
    expect([...items].sort(compareNewest).map((p) => p.id)).toEqual(['b', 'd', 'c', 'a']);
    expect(sortKey(items[0] ?? pic('x', ''))).toBe(Date.parse('2019-07-14T18:30:05Z'));
  });

  test('a picture whose date taken becomes known moves to its place', () => {
    const items = [
      pic('b', '2026-11-30T10:01:00.000Z'),
      pic('a', '2026-11-30T10:00:00.000Z'),
      pic('d', '2020-01-01T00:00:00.000Z'),
    ];
    const next = foldChanges(
      items,
      [{ id: 'b', picture: pic('b', '2026-11-30T10:01:00.000Z', '2010-05-05T05:05:05') }],
      { complete: true, matches: () => true },
    );
    expect(next.map((p) => p.id)).toEqual(['a', 'd', 'b']);
  });
});
