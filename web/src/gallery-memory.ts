/**
 * What the gallery showed, kept while the viewer is open: the viewer walks the same (filtered)
 * list for previous/next, and Esc brings the gallery back with that list and at the same
 * scroll place instead of loading it again from the top. One per browser tab, like the
 * router's history: it lives as long as the page.
 */
import type { Picture } from './api/types';

export interface GalleryMemory {
  items: readonly Picture[];
  nextCursor: string | null;
  scrollY: number;
  /** The picture the viewer showed last: the gallery brings it into view on return. */
  lastViewed: string | null;
}

const memories = new Map<string, GalleryMemory>();

/**
 * The gallery's address for a filter: also the key of its memory. With `album`, the album's
 * page instead (a picture opened there walks the album and Esc goes back to it).
 */
export function galleryHref(category: string, q: string, album = ''): string {
  if (album) return `/a/${encodeURIComponent(album)}`;
  const params = new URLSearchParams();
  if (category) params.set('category', category);
  if (q) params.set('q', q);
  const query = params.toString();
  return query ? `/?${query}` : '/';
}

/** The filter (or album) a picture was opened from, carried in the picture's URL. */
export function contextOf(search: URLSearchParams): { category: string; q: string; album: string } {
  return {
    category: search.get('category') ?? '',
    q: search.get('q') ?? '',
    album: search.get('album') ?? '',
  };
}

/** `/p/<id>` with the gallery's filter (or album), so a reload keeps the same neighbours. */
export function pictureHref(id: string, category: string, q: string, album = ''): string {
  const query = album ? `?album=${encodeURIComponent(album)}` : galleryHref(category, q).slice(1);
  return `/p/${encodeURIComponent(id)}${query}`;
}

export function recall(key: string): GalleryMemory | undefined {
  return memories.get(key);
}

export function remember(key: string, memory: Partial<GalleryMemory>): GalleryMemory {
  const next: GalleryMemory = {
    items: [],
    nextCursor: null,
    scrollY: 0,
    lastViewed: null,
    ...memories.get(key),
    ...memory,
  };
  memories.set(key, next);
  return next;
}

/** A picture deleted from the viewer leaves every remembered list. */
export function forget(id: string): void {
  for (const memory of memories.values()) memory.items = memory.items.filter((p) => p.id !== id);
}

/** A picture edited in the viewer is shown edited on return. */
export function replace(picture: Picture): void {
  for (const memory of memories.values())
    memory.items = memory.items.map((p) => (p.id === picture.id ? picture : p));
}
