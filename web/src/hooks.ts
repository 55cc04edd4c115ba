/** Small React hooks shared by the pages. */
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type RefObject } from 'react';
import { messageOf } from './components/common';

/** `value`, once it has not changed for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => {
      setSettled(value);
    }, ms);
    return () => {
      clearTimeout(timer);
    };
  }, [value, ms]);
  return settled;
}

/** The current time, refreshed every `ms` while `active`. */
export function useNow(ms: number, active = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => {
      setNow(Date.now());
    }, ms);
    return () => {
      clearInterval(timer);
    };
  }, [ms, active]);
  return now;
}

/**
 * Calls `poll` now and every `ms` after the previous call finished (never two at once),
 * while the component is mounted and `active`.
 */
export function usePolling(poll: () => Promise<void>, ms: number, active = true): void {
  const latest = useRef(poll);
  latest.current = poll;
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        await latest.current();
      } finally {
        if (!stopped) timer = setTimeout(() => void tick(), ms);
      }
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [ms, active]);
}

// The live feed is the shell's (live.tsx); its hooks are here too, where the pages look for hooks.
export { useFirstLoad } from './first-load';
export { LIVE_SILENCE_MS, useLiveUpdates, type LiveHandlers, type LiveState } from './live';

/** The width of an element, measured before the first paint and kept up to date. */
export function useWidth<T extends HTMLElement>(): [RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const observer = new ResizeObserver(() => {
      setWidth(el.clientWidth);
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
    };
  }, []);
  return [ref, width];
}

/**
 * What a component loads when it mounts, and again on `reload()`: `data` is null until the
 * first answer; `error` is the last failure's sentence, cleared by the next success (or by
 * `setError`, for a failure of an action beside it). `onError` is told of each failure first
 * (the app's sign-out on a 401).
 */
export function useLoaded<T>(load: () => Promise<T>, onError: (error: unknown) => void) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const latest = useRef(load);
  latest.current = load;
  const reload = useCallback(async () => {
    try {
      setData(await latest.current());
      setError(null);
    } catch (e) {
      onError(e);
      setError(messageOf(e));
    }
  }, [onError]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, error, setError, reload };
}

/**
 * An action on one item that asks first: `ask(item)` opens the confirmation (`pending` is the
 * item), `confirm()` runs `act(item)`, `busy` meanwhile, and closes it whatever the outcome;
 * `cancel()` closes it. A failure goes to `onFail`.
 */
export function useConfirmed<T>(act: (item: T) => Promise<void>, onFail: (error: unknown) => void) {
  const [pending, setPending] = useState<T | null>(null);
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    if (pending === null) return;
    setBusy(true);
    try {
      await act(pending);
    } catch (e) {
      onFail(e);
    } finally {
      setPending(null);
      setBusy(false);
    }
  };
  return {
    pending,
    busy,
    ask: (item: T) => {
      setPending(item);
    },
    confirm: () => void confirm(),
    cancel: () => {
      setPending(null);
    },
  };
}
