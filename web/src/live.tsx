/**
 * The live feed: one `GET /api/stream` (server-sent events) per signed-in app session, opened
 * by the shell (`LiveFeedProvider` in App.tsx) and closed at sign-out, so that moving between
 * pages keeps the same connection. Pages subscribe with `useLiveUpdates` to the kinds of
 * change they care about and unsubscribe when they unmount.
 */
import {
  createContext,
  useContext,
  useEffect,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from 'react';

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
   * Each time the feed (re)connects while subscribed: what changed before that, while the
   * page loaded or the connection was down, was never heard, so a caller asks again then. A
   * page that subscribes while the feed is already connected is not called: what it loads
   * then is followed from there on. Called before the feed's state says live. While the feed
   * is connecting, a page's first load is this one (useFirstLoad in first-load.ts).
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

/** The app's one connection to `/api/stream`, shared by the pages that subscribe. */
export interface LiveFeed {
  readonly state: () => LiveState;
  /** Calls `onChange` whenever `state()` changes; returns the way to stop. */
  readonly watch: (onChange: () => void) => () => void;
  /** Hands each change to `handlers` until the returned function is called. */
  readonly subscribe: (handlers: LiveHandlers) => () => void;
  /** Opens the connection (again, after `stop`). */
  readonly start: () => void;
  /** Closes it; subscribers stay, to hear the next `start`. */
  readonly stop: () => void;
}

/**
 * A feed, not yet connected. Bursts (an upload of ten files) are coalesced into one call of
 * each handler. A feed silent for LIVE_SILENCE_MS (not even a ping) is shown as offline and
 * opened anew; `onConnected` runs each time it opens, as after EventSource's own reconnecting
 * (the server's `retry: 2000`).
 */
export function createLiveFeed(): LiveFeed {
  const subscribers = new Set<LiveHandlers>();
  const watchers = new Set<() => void>();
  let state: LiveState = 'connecting';
  let source: EventSource | null = null;
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const stops: (() => void)[] = [];

  const setState = (next: LiveState) => {
    if (next === state) return;
    state = next;
    for (const watcher of [...watchers]) watcher();
  };
  const each = (call: (handlers: LiveHandlers) => void) => {
    for (const handlers of [...subscribers]) call(handlers);
  };
  /** Each event's ids gathered for 150 ms, then handed over at once. */
  const coalesced = (hand: (ids: string[]) => void) => {
    const pending = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    stops.push(() => {
      clearTimeout(timer);
      pending.clear();
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
    each((h) => h.onPictures?.(ids));
  });
  const onAlbums = coalesced((ids) => {
    each((h) => h.onAlbums?.(ids));
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
      // Subscribers are told before watchers see it live: a page whose first load waits for
      // this (useFirstLoad) then knows, seeing it live, that its `onConnected` did the load.
      each((h) => h.onConnected?.());
      setState('live');
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

  return {
    state: () => state,
    watch: (onChange) => {
      watchers.add(onChange);
      return () => {
        watchers.delete(onChange);
      };
    },
    subscribe: (handlers) => {
      subscribers.add(handlers);
      return () => {
        subscribers.delete(handlers);
      };
    },
    start: () => {
      if (source) return;
      if (typeof EventSource === 'undefined') {
        setState('offline');
        return;
      }
      setState('connecting');
      connect();
    },
    stop: () => {
      clearTimeout(watchdog);
      for (const stop of stops) stop();
      source?.close();
      source = null;
      setState('connecting');
    },
  };
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

const LiveContext = createContext<LiveFeed | null>(null);

/** The shell's feed: connected while `enabled` (signed in), closed when it no longer is. */
export function LiveFeedProvider({ enabled, children }: { enabled: boolean; children: ReactNode }) {
  const [feed] = useState(createLiveFeed);
  useEffect(() => {
    if (!enabled) return;
    feed.start();
    return () => {
      feed.stop();
    };
  }, [feed, enabled]);
  return <LiveContext.Provider value={enabled ? feed : null}>{children}</LiveContext.Provider>;
}

const never = () => () => {};
const offline = (): LiveState => 'offline';

/**
 * Subscribes to the shell's live feed while mounted (see LiveHandlers) and says how it is.
 * Outside a signed-in shell there is no feed: nothing is heard and it says offline.
 */
export function useLiveUpdates(handlers: LiveHandlers): LiveState {
  const feed = useContext(LiveContext);
  const latest = useRef(handlers);
  latest.current = handlers;
  useEffect(() => {
    if (!feed) return;
    return feed.subscribe({
      onPictures: (ids) => latest.current.onPictures?.(ids),
      onAlbums: (ids) => latest.current.onAlbums?.(ids),
      onConnected: () => latest.current.onConnected?.(),
    });
  }, [feed]);
  return useSyncExternalStore(feed?.watch ?? never, feed?.state ?? offline);
}
