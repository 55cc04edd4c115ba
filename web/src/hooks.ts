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

export type LiveState = 'connecting' | 'live' | 'offline';

export interface LiveHandlers {
  /** The ids of pictures changed at any node (created, edited, deleted, restored, visible). */
  readonly onPictures?: (ids: string[]) => void;
  /**
   * The ids of albums changed at any node: their own fields or members, or any picture they
   * hold (edited, deleted, restored, or made visible by its bytes arriving).
   */
  readonly onAlbums?: (ids: string[]) => void;
  /**
   * Each time the feed (re)connects: what changed before that, while the page loaded or the
   * connection was down, was never heard, so a caller asks again then.
   */
  readonly onConnected?: () => void;
}

/**
 * How long the live feed may be silent before it counts as down: a little over two of the
 * server's heartbeats (`event: ping` every 25 s, HEARTBEAT_MS in
 * src/http/routes/stream.routes.ts; this code cannot import it, so keep the two in step). A
 * node that is frozen or cut off without the connection breaking sends nothing, and
 * EventSource never reports an error for that.
 */
export const LIVE_SILENCE_MS = 60_000;

/**
 * Listens to `GET /api/stream` (server-sent events) and hands each kind of change to its
 * handler; bursts (an upload of ten files) are coalesced into one call of each. A feed silent
 * for LIVE_SILENCE_MS (not even a ping) is shown as offline and opened anew; `onConnected`
 * runs each time it opens, as after EventSource's own reconnecting.
 */
export function useLiveUpdates(handlers: LiveHandlers): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  const latest = useRef(handlers);
  latest.current = handlers;
  useEffect(() => {
    if (typeof EventSource === 'undefined') {
      setState('offline');
      return;
    }
    let source: EventSource | null = null;
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const stops: (() => void)[] = [];
    /** Each event's ids gathered for 150 ms, then handed over at once. */
    const coalesced = (hand: (ids: string[]) => void) => {
      const pending = new Set<string>();
      let timer: ReturnType<typeof setTimeout> | undefined;
      stops.push(() => {
        clearTimeout(timer);
      });
      return (message: MessageEvent<string>) => {
        heard();
        for (const id of idsOf(message.data)) pending.add(id);
        clearTimeout(timer);
        timer = setTimeout(() => {
          const ids = [...pending];
          pending.clear();
          hand(ids);
        }, 150);
      };
    };
    const onPictures = coalesced((ids) => {
      latest.current.onPictures?.(ids);
    });
    const onAlbums = coalesced((ids) => {
      latest.current.onAlbums?.(ids);
    });
    /** Something came (or a connection is being tried): the silence starts again from now. */
    function heard() {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        // Silent too long: the node is not answering. Say so, and try a fresh connection
        // (the old one may hang on forever); this timer then waits for that one too.
        setState('offline');
        connect();
      }, LIVE_SILENCE_MS);
    }
    function connect() {
      source?.close();
      const next = new EventSource('/api/stream');
      source = next;
      next.onopen = () => {
        heard();
        setState('live');
        latest.current.onConnected?.();
      };
      next.onerror = () => {
        // EventSource retries by itself; say so meanwhile.
        setState('offline');
      };
      next.addEventListener('ping', heard);
      next.addEventListener('pictures', onPictures);
      next.addEventListener('albums', onAlbums);
      heard();
    }
    connect();
    return () => {
      clearTimeout(watchdog);
      for (const stop of stops) stop();
      source?.close();
    };
  }, []);
  return state;
}

function idsOf(data: string): string[] {
  try {
    const value: unknown = JSON.parse(data);
    if (typeof value === 'object' && value !== null && 'ids' in value && Array.isArray(value.ids))
      return value.ids.filter((id): id is string => typeof id === 'string');
  } catch {
    // not JSON: no ids
  }
  return [];
}

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
