/**
 * The gallery's list: the first page (at once from what was remembered for this filter), the
 * next pages by cursor, and live changes from `/api/stream` folded in (the pictures it names,
 * asked for in one request). The first page is asked for again each time the live feed connects
 * (what changed before was not heard), and answers are applied in the order they were asked
 * (`inOrder`).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../api/client';
import type { Picture } from '../api/types';
import { useAuth } from '../auth';
import { messageOf } from '../components/common';
import { galleryHref, recall, remember } from '../gallery-memory';
import { useFirstLoad } from '../hooks';
import {
  appendPage,
  foldChanges,
  mergeFirstPage,
  reconcile,
  type Change,
} from '../lib/gallery-list';
import { inOrder } from '../lib/in-order';

const PAGE = 48;
/**
 * The gallery's order (date taken, else added). The viewer walks the same list and pages on
 * with the gallery's cursors, which the server accepts only with the sort that made them.
 */
export const GALLERY_SORT = 'taken';
const MAX_REFRESH = 200;

export interface ListState {
  readonly items: readonly Picture[];
  readonly nextCursor: string | null;
  readonly loading: boolean;
  readonly error: string | null;
  /** The first page has arrived (before that: skeleton tiles). */
  readonly loaded: boolean;
}

const initial: ListState = {
  items: [],
  nextCursor: null,
  loading: true,
  error: null,
  loaded: false,
};

export function useGalleryList(category: string, q: string) {
  const { handleError } = useAuth();
  const key = galleryHref(category, q);
  const [list, setList] = useState<ListState>(() => fromMemory(key));
  const generation = useRef(0);
  const ordered = useRef(inOrder()).current;
  const latest = useRef(list);
  latest.current = list;

  /**
   * Loads from the start again, `keep`ing at least as many pictures as are shown (up to 200);
   * pictures that did not change keep their objects (their tiles are not redrawn), and a list
   * longer than that keeps what lies below the refreshed range, and its cursor.
   */
  const reload = useCallback(
    async (keep: number) => {
      const mine = ++generation.current;
      setList((s) => ({ ...s, loading: true, error: null }));
      try {
        const limit = Math.min(MAX_REFRESH, Math.max(PAGE, keep));
        await ordered(api.pictures({ category, q, limit, sort: GALLERY_SORT }), (page) => {
          if (mine !== generation.current) return;
          const complete = page.nextCursor === null;
          setList((s) => {
            // Under a search the order is not the date order mergeFirstPage relies on.
            const beyond = !complete && !q && s.items.length > page.items.length;
            return {
              items: beyond
                ? mergeFirstPage(s.items, page.items, false)
                : reconcile(s.items, page.items),
              nextCursor: beyond ? s.nextCursor : page.nextCursor,
              loading: false,
              error: null,
              loaded: true,
            };
          });
        });
      } catch (error) {
        if (mine !== generation.current) return;
        handleError(error);
        setList((s) => ({ ...s, loading: false, loaded: true, error: messageOf(error) }));
      }
    },
    [category, q, handleError, ordered],
  );

  // A new filter: what was remembered for it at once, then the server's first page (waiting
  // for a connecting live feed, whose connecting asks for it: useFirstLoad).
  const shownKey = useRef(key);
  useEffect(() => {
    if (shownKey.current !== key) {
      shownKey.current = key;
      setList(fromMemory(key));
    }
  }, [key]);
  const first = useCallback(() => void reload(recall(key)?.items.length ?? PAGE), [key, reload]);

  const loadMore = useCallback(async () => {
    const { loading, nextCursor } = latest.current;
    if (loading || nextCursor === null) return;
    const mine = ++generation.current;
    setList((s) => ({ ...s, loading: true, error: null }));
    try {
      const page = await api.pictures({
        category,
        q,
        limit: PAGE,
        cursor: nextCursor,
        sort: GALLERY_SORT,
      });
      if (mine !== generation.current) return;
      setList((s) => ({
        items: appendPage(s.items, page.items),
        nextCursor: page.nextCursor,
        loading: false,
        error: null,
        loaded: true,
      }));
    } catch (error) {
      if (mine !== generation.current) return;
      handleError(error);
      setList((s) => ({ ...s, loading: false, error: messageOf(error) }));
    }
  }, [category, q, handleError]);

  // Live: fetch just the pictures that changed and fold them in. A search cannot be matched
  // here (the server's full-text index decides), so a search reloads what it shows instead.
  const onLive = useCallback(
    async (ids: string[]) => {
      if (q || ids.length === 0 || ids.length > MAX_REFRESH) {
        await reload(latest.current.items.length);
        return;
      }
      // One request for them all; an id it says is missing was deleted (or is not visible).
      const changes = api.lookup(ids).then(
        ({ items, missing }): Change<Picture>[] => [
          ...items.map((picture) => ({ id: picture.id, picture })),
          ...missing.map((id) => ({ id, picture: null })),
        ],
        (error: unknown): Change<Picture>[] => {
          handleError(error);
          return [];
        },
      );
      await ordered(changes, (known) => {
        setList((s) => ({
          ...s,
          items: foldChanges(s.items, known, {
            complete: s.nextCursor === null,
            matches: (p) => !category || p.category === category,
          }),
        }));
      });
    },
    [q, category, reload, handleError, ordered],
  );
  const live = useFirstLoad(first, {
    onPictures: (ids) => {
      void onLive(ids);
    },
    onConnected: () => {
      void reload(latest.current.items.length);
    },
  });

  // Remember what is shown, for the viewer and for coming back to it.
  useEffect(() => {
    remember(key, { items: list.items, nextCursor: list.nextCursor });
  }, [key, list.items, list.nextCursor]);

  return { list, setList, reload, loadMore, live };
}

function fromMemory(key: string): ListState {
  const memory = recall(key);
  if (!memory || memory.items.length === 0) return initial;
  return {
    items: memory.items,
    nextCursor: memory.nextCursor,
    loading: false,
    error: null,
    loaded: true,
  };
}
