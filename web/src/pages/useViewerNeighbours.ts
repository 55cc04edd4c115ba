/**
 * The viewer's neighbours: the list the gallery showed (its memory, kept per filter or album),
 * walked for previous and next. Opened by a link or a reload instead, the gallery's pages are
 * fetched in its own order (date taken, GALLERY_SORT: its cursors are only valid for the sort
 * that made them) until the picture is among them, at most SEEK_PAGES pages of up to 200;
 * beyond them the picture shows without neighbours. Near the end of what is loaded, the next
 * page. Also preloads the neighbours' previews, so that the next step shows at once.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { api, thumbUrl } from '../api/client';
import { library } from '../api/library';
import type { Picture } from '../api/types';
import { recall, remember } from '../gallery-memory';
import { appendPage } from '../lib/gallery-list';
import { GALLERY_SORT } from './useGalleryList';

/** The page the viewer asks for when the picture is in sight (the gallery's own page). */
const PAGE = 48;
/** A larger page while the picture is not yet in the list (the API's largest). */
const SEEK_PAGE = 200;
/** How many pages a link or a reload looks through for its picture: 2 000 pictures. */
export const SEEK_PAGES = 10;

export interface ViewerNeighbours {
  readonly prev: Picture | undefined;
  readonly next: Picture | undefined;
  /** The list goes on past what is loaded: a step past its end waits for the next page. */
  readonly more: boolean;
  /** "5 of 48+", or null when the picture is not in the list. */
  readonly position: string | null;
  /** The picture as the list has it (shown while the picture itself is fetched). */
  readonly listed: Picture | null;
}

export function useViewerNeighbours(
  id: string,
  back: string,
  filter: { category: string; q: string; album: string },
  onError: (error: unknown) => void,
): ViewerNeighbours {
  const { category, q, album } = filter;
  // The list with the filter or album it is of: another one's is never walked.
  const [list, setList] = useState(() => ({ back, items: recall(back)?.items ?? [] }));
  const items = list.back === back ? list.items : (recall(back)?.items ?? []);
  const index = items.findIndex((p) => p.id === id);
  /** Pages fetched for a picture not in the list yet (reset when it is found or another is shown). */
  const seeks = useRef({ id, pages: 0 });
  /** The list shown now: a failure to fetch another's page is not said. */
  const shown = useRef(back);
  shown.current = back;
  /** The page being fetched (list and cursor): asked for once however often the effect runs. */
  const fetching = useRef<string | null>(null);
  if (seeks.current.id !== id || index !== -1) seeks.current = { id, pages: 0 };

  useEffect(() => {
    const memory = recall(back);
    const loaded = memory?.items.length ?? 0;
    let wanted: boolean;
    if (!memory || loaded === 0) wanted = true;
    else if (memory.nextCursor === null) wanted = false;
    else if (index === -1) wanted = seeks.current.pages < SEEK_PAGES;
    else wanted = index >= loaded - 3;
    const cursor = loaded > 0 ? (memory?.nextCursor ?? null) : null;
    const asked = `${back} ${cursor ?? ''}`;
    if (!wanted || fetching.current === asked) return;
    fetching.current = asked;
    const seeking = index === -1 && loaded > 0;
    if (seeking) seeks.current.pages++;
    const limit = seeking ? SEEK_PAGE : PAGE;
    (album
      ? library.albumPictures(album, cursor)
      : api.pictures({ category, q, limit, cursor, sort: GALLERY_SORT })
    )
      .finally(() => {
        if (fetching.current === asked) fetching.current = null;
      })
      .then(
        (page) => {
          const merged = appendPage(recall(back)?.items ?? [], page.items);
          remember(back, { items: merged, nextCursor: page.nextCursor });
          // Shown even if the picture changed meanwhile (a walk goes on while a page comes):
          // dropped, the list would stop at the page before while the memory has the next.
          setList({ back, items: merged });
        },
        (e: unknown) => {
          if (shown.current === back) onError(e);
        },
      );
  }, [back, category, q, album, index, items.length, onError]);

  const prev = index > 0 ? items[index - 1] : undefined;
  const next = index !== -1 ? items[index + 1] : undefined;
  useEffect(() => {
    for (const p of [next, prev]) if (p) new Image().src = thumbUrl(p.id, 'large');
  }, [next, prev]);

  const more = (recall(back)?.nextCursor ?? null) !== null;
  const position = useMemo(
    () => (index === -1 ? null : `${index + 1} of ${items.length}${more ? '+' : ''}`),
    [index, items.length, more],
  );
  const listed = index === -1 ? null : (items[index] ?? null);
  return { prev, next, more: index !== -1 && more, position, listed };
}
