import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CELL_HEIGHT, CELL_WIDTH, montageLayout } from './montage-layout.js';

describe('montage layout', () => {
  it('places every photo in its own cell inside the canvas, in order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), (count) => {
        const layout = montageLayout(count);
        expect(layout.cells).toHaveLength(count);
        const seen = new Set<string>();
        for (const [i, cell] of layout.cells.entries()) {
          expect(cell.index).toBe(i);
          expect(cell.left + CELL_WIDTH).toBeLessThanOrEqual(layout.width);
          expect(cell.top + CELL_HEIGHT).toBeLessThanOrEqual(layout.height);
          seen.add(`${cell.left},${cell.top}`);
        }
        expect(seen.size).toBe(count);
        expect(montageLayout(count)).toEqual(layout); // deterministic
      }),
    );
  });

  it('is empty for no photos', () => {
    expect(montageLayout(0).cells).toEqual([]);
  });
});
