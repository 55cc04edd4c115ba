/**
 * One picture as the viewer shows it, kept current: fetched at once, then again when the live
 * feed names it (edited, deleted or restored at any node) and whenever the feed (re)connects,
 * as changes meanwhile were not heard. While the feed is still connecting (the app was just
 * opened on this picture), the first fetch is the one its connecting makes, not one before it
 * too (a deleted picture's link gave two 404s): see useFirstLoad. Only the latest fetch's
 * answer is shown. A 404 means it is gone (deleted at some node): `gone` is set, the gallery's
 * memory forgets it, and `onGone` lets the page close what was open on it.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, api } from '../api/client';
import type { Picture } from '../api/types';
import { useAuth } from '../auth';
import { messageOf } from '../components/common';
import { forget, replace } from '../gallery-memory';
import { useFirstLoad } from '../hooks';

export function useLivePicture(
  id: string,
  initial: () => Picture | null,
  onGone: () => void,
): {
  picture: Picture | null;
  /** Shows the picture as an edit saved it (a fetch under way may answer with the one before). */
  saved: (picture: Picture) => void;
  gone: boolean;
  /** Why the picture could not be fetched (shown while there is none to show). */
  loadError: string | null;
  /** How many times the live feed has connected (a failed image is tried again then). */
  connections: number;
} {
  const { handleError } = useAuth();
  const [picture, setPicture] = useState<Picture | null>(initial);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [gone, setGone] = useState(false);
  const [connections, setConnections] = useState(0);
  const goneRef = useRef(onGone);
  goneRef.current = onGone;

  /** Counts the fetches: only the latest one's answer is shown. */
  const asked = useRef(0);
  const load = useCallback(async () => {
    const mine = ++asked.current;
    try {
      const p = await api.picture(id);
      if (mine !== asked.current) return;
      setPicture(p);
      setGone(false);
      setLoadError(null);
      replace(p);
    } catch (e) {
      handleError(e);
      if (mine !== asked.current) return;
      if (e instanceof ApiError && e.status === 404) {
        setGone(true);
        goneRef.current();
        forget(id);
      } else {
        setLoadError(messageOf(e));
      }
    }
  }, [id, handleError]);
  // The first fetch waits for a connecting feed, whose connecting fetches (useFirstLoad).
  const first = useCallback(() => void load(), [load]);
  useFirstLoad(first, {
    onPictures: (ids) => {
      if (ids.includes(id)) void load();
    },
    onConnected: () => {
      setConnections((n) => n + 1);
      void load();
    },
  });
  // Another picture, or none: an answer still to come about the last one is not shown.
  useEffect(
    () => () => {
      asked.current++;
    },
    [load],
  );
  const saved = useCallback((p: Picture) => {
    asked.current++;
    setPicture(p);
    replace(p);
  }, []);
  return { picture, saved, gone, loadError, connections };
}
