/**
 * What the gallery offers beside its list, from the server rather than from the pictures loaded
 * so far: the year/month index of what the filter lists (`GET /api/timeline` with the same
 * category and search) and every category of the library with its count (`GET
 * /api/categories`). Both are asked again when the live feed says pictures changed or it
 * connects, and by `refresh`; an answer to an older question is dropped.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../api/client';
import type { CategoryCount, Timeline } from '../api/types';
import { useFirstLoad } from '../hooks';

export interface GalleryIndex {
  /** The months of what is listed; null until known (the gallery then uses what is loaded). */
  readonly months: Timeline | null;
  /** The library's categories by name; [] until known. */
  readonly categories: readonly CategoryCount[];
  /** Asks both again. */
  readonly refresh: () => void;
}

export function useGalleryIndex(category: string, q: string): GalleryIndex {
  const [months, setMonths] = useState<Timeline | null>(null);
  const [categories, setCategories] = useState<readonly CategoryCount[]>([]);
  const askedMonths = useRef(0);
  const askedCategories = useRef(0);

  const refreshMonths = useCallback(() => {
    const mine = ++askedMonths.current;
    void api.timeline({ category, q }).then((t) => {
      if (mine === askedMonths.current) setMonths(t);
    });
  }, [category, q]);

  const refreshCategories = useCallback(() => {
    const mine = ++askedCategories.current;
    api.categories().then(
      (found) => {
        if (mine === askedCategories.current) setCategories(sortedByName(found));
      },
      () => undefined, // the chips shown stay; the list's own request says what failed
    );
  }, []);

  // Another filter: its months (those of the previous one are not shown meanwhile). Each of the
  // two is first asked at once, or by the live feed's connecting while it is (useFirstLoad);
  // then again when the feed says pictures changed, or connects again.
  useEffect(() => {
    setMonths(null);
  }, [refreshMonths]);
  useFirstLoad(refreshMonths, { onPictures: refreshMonths, onConnected: refreshMonths });
  useFirstLoad(refreshCategories, {
    onPictures: refreshCategories,
    onConnected: refreshCategories,
  });

  const refresh = useCallback(() => {
    refreshMonths();
    refreshCategories();
  }, [refreshMonths, refreshCategories]);
  return { months, categories, refresh };
}

/** Chips read in alphabetical order (the server sends the fullest first). */
function sortedByName(categories: readonly CategoryCount[]): CategoryCount[] {
  return [...categories].sort((a, b) => a.name.localeCompare(b.name));
}
