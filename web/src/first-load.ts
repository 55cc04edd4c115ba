/**
 * A page's first load, timed against the live feed. A page asks for its data when it mounts,
 * and again each time the feed (re)connects (`onConnected`), as what changed before was not
 * heard. Opened by its link, the app's feed is still connecting as the page mounts: both
 * would then ask, a moment apart, for the same thing (two list requests, a deleted picture's
 * link two 404s). So while the feed is connecting, the first load is left to the feed's
 * connecting, waiting at most CONNECT_GRACE_MS (a node that does not answer it must not keep
 * the page empty); a feed that fails meanwhile, or is live or offline already, loads at once.
 */
import { useEffect, useRef, useState } from 'react';
import { useLiveUpdates, type LiveHandlers, type LiveState } from './live';

/** How long the first load waits for a connecting live feed before it goes ahead anyway. */
export const CONNECT_GRACE_MS = 3_000;

/** One page's first load: when it is due, and whether it is still waiting for the feed. */
export interface FirstLoad {
  /** A first load is due (mounted, or what is shown changed), `state` the feed's now. */
  readonly begin: (state: LiveState, load: () => void) => void;
  /** The feed's state changed: no longer connecting, a load still waiting goes now. */
  readonly changed: (state: LiveState) => void;
  /** The feed connected, and the page's `onConnected` loads: no need to. */
  readonly connected: () => void;
  /** The page is gone, or something else is due: forget what waits. */
  readonly end: () => void;
}

export function firstLoad(graceMs = CONNECT_GRACE_MS): FirstLoad {
  let waiting: (() => void) | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const end = () => {
    clearTimeout(timer);
    waiting = null;
  };
  const go = () => {
    const load = waiting;
    end();
    load?.();
  };
  return {
    begin: (state, load) => {
      end();
      if (state !== 'connecting') {
        load();
        return;
      }
      waiting = load;
      timer = setTimeout(go, graceMs);
    },
    // Failed (its connecting, later, asks again) or connected before the page subscribed
    // (so it will not say so to this page): the page has waited for nothing.
    changed: (state) => {
      if (state !== 'connecting') go();
    },
    connected: end,
    end,
  };
}

/**
 * Subscribes to the live feed as `useLiveUpdates` does and says how it is; runs `load` when
 * the page mounts and whenever `load` changes (what is shown changed), at once unless the feed
 * is connecting (see the top of this file). `onConnected` must load what the page shows: on
 * the feed's first connecting it is the page's first load.
 */
export function useFirstLoad(
  load: () => void,
  handlers: LiveHandlers & { readonly onConnected: () => void },
): LiveState {
  const [gate] = useState(() => firstLoad());
  const live = useLiveUpdates({
    ...handlers,
    onConnected: () => {
      gate.connected();
      handlers.onConnected();
    },
  });
  // Only a change of `load` begins again, not one of the feed's state.
  const liveNow = useRef(live);
  liveNow.current = live;
  useEffect(() => {
    gate.begin(liveNow.current, load);
    return gate.end;
  }, [gate, load]);
  useEffect(() => {
    gate.changed(live);
  }, [gate, live]);
  return live;
}
