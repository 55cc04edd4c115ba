/**
 * The viewer's gesture maths, as pure functions over plain numbers: when a touch is a swipe to
 * the next or previous picture, and how wheel and pinch zoom and pan move the picture so that
 * the point under the cursor (or between the fingers) stays put.
 */

export interface Point {
  readonly x: number;
  readonly y: number;
}

/** How the picture is shown: scaled by `scale` from its fitted size, then moved by (x, y). */
export interface View {
  readonly scale: number;
  readonly x: number;
  readonly y: number;
}

export const FIT: View = { scale: 1, x: 0, y: 0 };
export const MAX_SCALE = 8;

/** A swipe must travel this far sideways… */
const SWIPE_MIN_PX = 50;
/** …or this fast (px/ms) for at least a third of that… */
const SWIPE_MIN_SPEED = 0.4;
/** …and mostly sideways. */
const SWIPE_MAX_SLOPE = 0.7;

/**
 * A one-finger touch from `start` to `end` over `ms`: `next` when swiped to the left (the next
 * picture comes from the right), `prev` when swiped to the right, `null` when it was a tap, a
 * vertical move or too short.
 */
export function swipeDirection(start: Point, end: Point, ms: number): 'next' | 'prev' | null {
  const dx = end.x - start.x;
  const dy = end.y - start.y;
  const distance = Math.abs(dx);
  if (distance === 0 || Math.abs(dy) > distance * SWIPE_MAX_SLOPE) return null;
  const fast = ms > 0 && distance / ms >= SWIPE_MIN_SPEED && distance >= SWIPE_MIN_PX / 3;
  if (distance < SWIPE_MIN_PX && !fast) return null;
  return dx < 0 ? 'next' : 'prev';
}

export function distance(a: Point, b: Point): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

export function midpoint(a: Point, b: Point): Point {
  return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
}

/**
 * Scales the view by `factor` around `at` (relative to the stage's centre), keeping the
 * picture point under `at` where it is; the scale stays within [1, MAX_SCALE] and the picture
 * within the stage (`bounds`: the fitted picture's size).
 */
export function zoomAt(view: View, factor: number, at: Point, bounds: Size): View {
  const scale = clamp(view.scale * factor, 1, MAX_SCALE);
  const k = scale / view.scale;
  return clampPan({ scale, x: at.x - (at.x - view.x) * k, y: at.y - (at.y - view.y) * k }, bounds);
}

export interface Size {
  readonly width: number;
  readonly height: number;
}

/** Moves the view by (dx, dy), kept so that no empty band opens at an edge of the picture. */
export function pan(view: View, dx: number, dy: number, bounds: Size): View {
  return clampPan({ scale: view.scale, x: view.x + dx, y: view.y + dy }, bounds);
}

export function clampPan(view: View, bounds: Size): View {
  const maxX = (bounds.width * (view.scale - 1)) / 2;
  const maxY = (bounds.height * (view.scale - 1)) / 2;
  return { scale: view.scale, x: clamp(view.x, -maxX, maxX), y: clamp(view.y, -maxY, maxY) };
}

/** The zoom factor for one wheel event (`deltaY` in pixels): smooth, and symmetric in and out. */
export function wheelFactor(deltaY: number): number {
  return Math.exp(-clamp(deltaY, -100, 100) / 300);
}

/** The largest size with `aspect` that fits in `box`. */
export function fitInside(aspect: number, box: Size): Size {
  if (box.width <= 0 || box.height <= 0 || aspect <= 0) return { width: 0, height: 0 };
  return box.width / box.height > aspect
    ? { width: box.height * aspect, height: box.height }
    : { width: box.width, height: box.width / aspect };
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}
