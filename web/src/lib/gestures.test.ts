import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  FIT,
  MAX_SCALE,
  fitInside,
  pan,
  swipeDirection,
  wheelFactor,
  zoomAt,
  type View,
} from './gestures';

const bounds = { width: 400, height: 300 };

describe('swipeDirection', () => {
  test('a long sideways move goes to the next or previous picture', () => {
    expect(swipeDirection({ x: 300, y: 400 }, { x: 100, y: 420 }, 300)).toBe('next');
    expect(swipeDirection({ x: 100, y: 400 }, { x: 300, y: 380 }, 300)).toBe('prev');
  });

  test('a short quick flick counts, a short slow drag does not', () => {
    expect(swipeDirection({ x: 200, y: 0 }, { x: 170, y: 0 }, 50)).toBe('next');
    expect(swipeDirection({ x: 200, y: 0 }, { x: 170, y: 0 }, 400)).toBeNull();
  });

  test('taps and vertical moves are not swipes', () => {
    expect(swipeDirection({ x: 200, y: 0 }, { x: 200, y: 0 }, 80)).toBeNull();
    expect(swipeDirection({ x: 200, y: 0 }, { x: 140, y: 200 }, 200)).toBeNull();
  });
});

describe('zoom', () => {
  test('zooming at the centre scales without moving', () => {
    expect(zoomAt(FIT, 2, { x: 0, y: 0 }, bounds)).toEqual({ scale: 2, x: 0, y: 0 });
  });

  test('the point under the cursor stays under it', () => {
    const at = { x: 100, y: -50 };
    const view = zoomAt(FIT, 2, at, bounds);
    // The picture point under `at` before: (at - offset) / scale.
    expect((at.x - view.x) / view.scale).toBeCloseTo(at.x);
    expect((at.y - view.y) / view.scale).toBeCloseTo(at.y);
  });

  test('the scale stays between fitted and MAX_SCALE, and zooming out to fit recentres', () => {
    expect(zoomAt(FIT, 0.5, { x: 10, y: 10 }, bounds)).toEqual(FIT);
    expect(zoomAt({ scale: 6, x: 0, y: 0 }, 4, { x: 0, y: 0 }, bounds).scale).toBe(MAX_SCALE);
    expect(zoomAt({ scale: 3, x: 300, y: 200 }, 1 / 3, { x: 0, y: 0 }, bounds)).toEqual(FIT);
  });

  test('panning never opens an empty band at an edge', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: MAX_SCALE, noNaN: true }),
        fc.double({ min: -5000, max: 5000, noNaN: true }),
        fc.double({ min: -5000, max: 5000, noNaN: true }),
        (scale, dx, dy) => {
          const view: View = pan({ scale, x: 0, y: 0 }, dx, dy, bounds);
          expect(Math.abs(view.x)).toBeLessThanOrEqual((bounds.width * (scale - 1)) / 2 + 1e-9);
          expect(Math.abs(view.y)).toBeLessThanOrEqual((bounds.height * (scale - 1)) / 2 + 1e-9);
        },
      ),
    );
  });

  test('a wheel notch in then out comes back to the same scale', () => {
    expect(wheelFactor(-100) * wheelFactor(100)).toBeCloseTo(1);
    expect(wheelFactor(-100)).toBeGreaterThan(1);
  });

  test('fitInside keeps the aspect ratio within the box', () => {
    expect(fitInside(2, { width: 400, height: 400 })).toEqual({ width: 400, height: 200 });
    expect(fitInside(0.5, { width: 400, height: 400 })).toEqual({ width: 200, height: 400 });
  });
});
