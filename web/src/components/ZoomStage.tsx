/**
 * The viewer's stage: the picture fitted to the space, zoomed by the wheel, a pinch or a
 * double click/tap (around the pointer), panned by dragging while zoomed, and swiped to the
 * previous or next picture with one finger while not zoomed. The maths is in lib/gestures.
 * A picture that failed to load (the node down, the network gone) says so with a Retry button
 * instead of the browser's broken-image icon, and is asked for again by itself when the
 * browser is back online or `reconnected` changes (the live feed connected again).
 */
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import {
  FIT,
  distance,
  fitInside,
  midpoint,
  pan,
  swipeDirection,
  wheelFactor,
  zoomAt,
  type Point,
  type Size,
  type View,
} from '../lib/gestures';

type Gesture =
  | { readonly kind: 'swipe'; readonly start: Point; readonly at: number; last: Point }
  | { readonly kind: 'pan'; last: Point }
  | { readonly kind: 'pinch'; readonly startDistance: number; readonly startView: View };

export function ZoomStage({
  src,
  alt,
  aspect,
  onSwipe,
  onZoomChange,
  reconnected = 0,
  children,
}: {
  src: string;
  alt: string;
  aspect: number;
  onSwipe: (direction: 'next' | 'prev') => void;
  /** Called with the scale when it changes (the viewer loads the original when zoomed in). */
  onZoomChange?: (scale: number) => void;
  /** Changes each time the live feed (re)connects: a picture that failed is tried again. */
  reconnected?: number;
  children?: ReactNode;
}) {
  const stage = useRef<HTMLDivElement>(null);
  const [view, setView] = useState<View>(FIT);
  const [drag, setDrag] = useState(0);
  const viewRef = useRef(view);
  viewRef.current = view;
  const swipeRef = useRef(onSwipe);
  swipeRef.current = onSwipe;
  const zoomRef = useRef(onZoomChange);
  zoomRef.current = onZoomChange;

  useEffect(() => {
    zoomRef.current?.(view.scale);
  }, [view.scale]);

  /** The picture did not load: no <img> then, the message and Retry instead. */
  const [failed, setFailed] = useState(false);
  /** Each retry mounts a fresh <img>, which asks the server again. */
  const [attempt, setAttempt] = useState(0);
  const retry = useCallback(() => {
    setFailed(false);
    setAttempt((n) => n + 1);
  }, []);
  const failedRef = useRef(failed);
  failedRef.current = failed;
  useEffect(() => {
    setFailed(false);
  }, [src]);
  useEffect(() => {
    if (failedRef.current) retry();
  }, [reconnected, retry]);
  useEffect(() => {
    const onOnline = () => {
      if (failedRef.current) retry();
    };
    window.addEventListener('online', onOnline);
    return () => {
      window.removeEventListener('online', onOnline);
    };
  }, [retry]);

  useEffect(() => {
    const el = stage.current;
    if (!el) return;
    const bounds = (): Size => {
      const rect = el.getBoundingClientRect();
      return fitInside(aspect, { width: rect.width, height: rect.height });
    };
    /** A client point relative to the stage's centre. */
    const local = (x: number, y: number): Point => {
      const rect = el.getBoundingClientRect();
      return { x: x - rect.left - rect.width / 2, y: y - rect.top - rect.height / 2 };
    };
    const update = (next: View) => {
      viewRef.current = next;
      setView(next);
    };

    const onWheel = (event: WheelEvent) => {
      event.preventDefault();
      update(
        zoomAt(
          viewRef.current,
          wheelFactor(event.deltaY),
          local(event.clientX, event.clientY),
          bounds(),
        ),
      );
    };
    const onDoubleClick = (event: MouseEvent) => {
      const at = local(event.clientX, event.clientY);
      update(viewRef.current.scale > 1 ? FIT : zoomAt(FIT, 2.5, at, bounds()));
    };

    // Mouse drag to pan while zoomed.
    let mouse: Point | null = null;
    const onMouseDown = (event: MouseEvent) => {
      if (event.button !== 0 || viewRef.current.scale === 1) return;
      event.preventDefault();
      mouse = { x: event.clientX, y: event.clientY };
    };
    const onMouseMove = (event: MouseEvent) => {
      if (!mouse) return;
      const dx = event.clientX - mouse.x;
      const dy = event.clientY - mouse.y;
      mouse = { x: event.clientX, y: event.clientY };
      update(pan(viewRef.current, dx, dy, bounds()));
    };
    const onMouseUp = () => {
      mouse = null;
    };

    // Touch: one finger swipes (fitted) or pans (zoomed), two fingers pinch; double tap zooms.
    let gesture: Gesture | null = null;
    let lastTap = 0;
    const point = (t: Touch): Point => ({ x: t.clientX, y: t.clientY });
    const onTouchStart = (event: TouchEvent) => {
      const [a, b] = [event.touches[0], event.touches[1]];
      if (a && b) {
        gesture = {
          kind: 'pinch',
          startDistance: distance(point(a), point(b)),
          startView: viewRef.current,
        };
      } else if (a) {
        gesture =
          viewRef.current.scale > 1
            ? { kind: 'pan', last: point(a) }
            : { kind: 'swipe', start: point(a), at: event.timeStamp, last: point(a) };
      }
    };
    const onTouchMove = (event: TouchEvent) => {
      const [a, b] = [event.touches[0], event.touches[1]];
      if (!gesture || !a) return;
      if (gesture.kind === 'pinch' && b) {
        event.preventDefault();
        const factor = distance(point(a), point(b)) / gesture.startDistance;
        const mid = midpoint(point(a), point(b));
        update(zoomAt(gesture.startView, factor, local(mid.x, mid.y), bounds()));
      } else if (gesture.kind === 'pan') {
        event.preventDefault();
        const p = point(a);
        update(pan(viewRef.current, p.x - gesture.last.x, p.y - gesture.last.y, bounds()));
        gesture.last = p;
      } else if (gesture.kind === 'swipe') {
        gesture.last = point(a);
        const dx = gesture.last.x - gesture.start.x;
        const dy = gesture.last.y - gesture.start.y;
        // Follow the finger sideways (not when scrolling down to the info).
        if (Math.abs(dx) > Math.abs(dy)) {
          event.preventDefault();
          setDrag(dx);
        }
      }
    };
    const onTouchEnd = (event: TouchEvent) => {
      const ended = gesture;
      if (event.touches.length > 0) {
        // A finger left a pinch: go on panning with the other one.
        const a = event.touches[0];
        gesture = a && viewRef.current.scale > 1 ? { kind: 'pan', last: point(a) } : null;
        return;
      }
      gesture = null;
      setDrag(0);
      if (ended?.kind !== 'swipe') return;
      const ms = event.timeStamp - ended.at;
      const direction = swipeDirection(ended.start, ended.last, ms);
      if (direction) {
        swipeRef.current(direction);
        return;
      }
      const moved = distance(ended.start, ended.last);
      if (moved < 10 && ms < 300) {
        if (event.timeStamp - lastTap < 300) {
          const at = local(ended.last.x, ended.last.y);
          update(viewRef.current.scale > 1 ? FIT : zoomAt(FIT, 2.5, at, bounds()));
          lastTap = 0;
        } else lastTap = event.timeStamp;
      }
    };

    el.addEventListener('wheel', onWheel, { passive: false });
    el.addEventListener('dblclick', onDoubleClick);
    el.addEventListener('mousedown', onMouseDown);
    window.addEventListener('mousemove', onMouseMove);
    window.addEventListener('mouseup', onMouseUp);
    el.addEventListener('touchstart', onTouchStart, { passive: true });
    el.addEventListener('touchmove', onTouchMove, { passive: false });
    el.addEventListener('touchend', onTouchEnd);
    el.addEventListener('touchcancel', onTouchEnd);
    return () => {
      el.removeEventListener('wheel', onWheel);
      el.removeEventListener('dblclick', onDoubleClick);
      el.removeEventListener('mousedown', onMouseDown);
      window.removeEventListener('mousemove', onMouseMove);
      window.removeEventListener('mouseup', onMouseUp);
      el.removeEventListener('touchstart', onTouchStart);
      el.removeEventListener('touchmove', onTouchMove);
      el.removeEventListener('touchend', onTouchEnd);
      el.removeEventListener('touchcancel', onTouchEnd);
    };
  }, [aspect]);

  const zoomed = view.scale > 1;
  return (
    <div
      ref={stage}
      className={zoomed ? 'stage stage-zoomed' : 'stage'}
      data-testid="stage"
      data-scale={view.scale.toFixed(2)}
    >
      {failed ? (
        <div className="stage-failed" role="alert">
          <p>This picture could not be loaded.</p>
          <button type="button" className="btn" onClick={retry}>
            Retry
          </button>
        </div>
      ) : (
        <img
          key={attempt}
          src={src}
          alt={alt}
          draggable={false}
          onError={() => {
            setFailed(true);
          }}
          style={{
            transform: `translate(${view.x + drag}px, ${view.y}px) scale(${view.scale})`,
            transition: drag !== 0 ? 'none' : undefined,
          }}
        />
      )}
      {children}
    </div>
  );
}
