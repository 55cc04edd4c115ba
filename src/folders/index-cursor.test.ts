import { describe, expect, it } from 'vitest';
import type { ScanRow } from './folder-index.repository.js';
import { IndexCursor, type FolderIndexReader } from './index-cursor.js';
import { compareUtf8 } from './paths.js';

/** An index in memory that counts the rows it hands out (what a page costs to read). */
function countingIndex(paths: string[]): FolderIndexReader & { rowsRead: number } {
  const rows = [...paths].sort(compareUtf8).map((path) => ({ path }) as ScanRow);
  return {
    rowsRead: 0,
    page(_folder, after, limit, before) {
      const page = rows
        .filter((r) => compareUtf8(r.path, after) > 0)
        .filter((r) => before === undefined || compareUtf8(r.path, before) < 0)
        .slice(0, limit);
      this.rowsRead += page.length;
      return page;
    },
  };
}

describe('index cursor', () => {
  const paths = [
    'd1',
    'd1.txt',
    ...Array.from({ length: 100 }, (_, i) => `d1/f${i}`),
    'd1/sub/x',
    'd10/a',
    'd1-x/a',
    ...Array.from({ length: 3000 }, (_, i) => `d2/f${i}`),
  ];

  it('below a directory, reads only the rows below it, not a page of the ones after it', () => {
    const index = countingIndex(paths);
    const cursor = new IndexCursor(index, 'f', 1000, 'd1/');
    const seen: string[] = [];
    for (let row = cursor.peek(); row !== undefined; row = cursor.peek()) {
      seen.push(row.path);
      cursor.next();
    }
    expect(seen).toHaveLength(101);
    expect(seen.every((p) => p.startsWith('d1/'))).toBe(true);
    // Before the bound, the first page was 1000 rows: d1's and then d1-x's, d10's, d2's.
    expect(index.rowsRead).toBe(101);
  });

  it('over the whole folder, pages through every row in order', () => {
    const index = countingIndex(paths);
    const cursor = new IndexCursor(index, 'f', 1000);
    let n = 0;
    let last = '';
    for (let row = cursor.peek(); row !== undefined; row = cursor.peek()) {
      expect(compareUtf8(row.path, last)).toBeGreaterThan(0);
      last = row.path;
      n++;
      cursor.next();
    }
    expect(n).toBe(paths.length);
  });
});
