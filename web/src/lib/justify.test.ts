import { describe, expect, test } from 'vitest';
import { aspectOf, justify, rowOptionsFor, type Box } from './justify';

describe('justify', () => {
  const aspects = [1.5, 0.75, 1, 1.78, 0.67, 1.33, 2, 1, 0.8, 1.5];
  const rows = justify(aspects, { width: 1000, rowHeight: 200, spacing: 4 });

  test('every box keeps its picture’s aspect ratio', () => {
    rows.boxes.forEach((box, i) => {
      expect(box.width / box.height).toBeCloseTo(aspects[i] ?? 0, 1);
    });
  });

  test('boxes of a row share a height and fill the width, except the last row', () => {
    const byTop = new Map<number, Box[]>();
    for (const b of rows.boxes)
      byTop.set(Math.round(b.top), [...(byTop.get(Math.round(b.top)) ?? []), b]);
    const tops = [...byTop.keys()].sort((a, b) => a - b);
    expect(tops.length).toBeGreaterThan(1);
    for (const top of tops.slice(0, -1)) {
      const row = byTop.get(top) ?? [];
      const heights = new Set(row.map((b) => Math.round(b.height)));
      expect(heights.size).toBe(1);
      const right = Math.max(...row.map((b) => b.left + b.width));
      expect(right).toBeGreaterThan(990);
      expect(right).toBeLessThanOrEqual(1001);
    }
    expect(rows.height).toBeGreaterThan(tops.at(-1) ?? 0);
  });

  test('nothing to lay out, or no width yet', () => {
    expect(justify([], { width: 1000, rowHeight: 200, spacing: 4 })).toEqual({
      boxes: [],
      height: 0,
    });
    expect(justify([1], { width: 0, rowHeight: 200, spacing: 4 }).boxes).toEqual([]);
  });

  test('aspectOf guards unknown sizes and crops extremes', () => {
    expect(aspectOf(400, 300)).toBeCloseTo(4 / 3);
    expect(aspectOf(0, 0)).toBe(1);
    expect(aspectOf(10_000, 100)).toBe(4);
  });
});

test('on a phone, rows of portraits still fill the width', () => {
  const aspects = [0.75, 0.67, 0.75, 1.5, 0.75, 0.75, 2, 0.67, 1, 0.75];
  const { boxes } = justify(aspects, rowOptionsFor(366));
  const ends = new Map<number, number>();
  for (const b of boxes) {
    const top = Math.round(b.top);
    ends.set(top, Math.max(ends.get(top) ?? 0, b.left + b.width));
  }
  const rows = [...ends.values()];
  for (const end of rows.slice(0, -1)) expect(end).toBeCloseTo(366, 0);
});
