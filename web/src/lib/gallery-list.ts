/**
 * The gallery's list under live changes. `/api/stream` names the pictures that changed; the
 * gallery fetches each one and folds the answers in here, so a change inserts, replaces or
 * removes one tile and every other tile keeps its object (React keeps its DOM and image).
 * Order is the server's: newest first by upload time, ties by id (`ORDER BY created_at DESC,
 * id DESC`), which is also what its cursor follows.
 */

export interface Listed {
  readonly id: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Negative when `a` comes first. */
export function compareNewest(a: Listed, b: Listed): number {
  const byTime = Date.parse(b.createdAt) - Date.parse(a.createdAt);
  if (byTime !== 0) return byTime;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export interface Change<T> {
  readonly id: string;
  /** The picture now, or null when it is gone (deleted, or no longer readable). */
  readonly picture: T | null;
}

export interface FoldOptions<T> {
  /** Whether the list holds every picture (no next page): then anything new may go last. */
  readonly complete: boolean;
  /** Whether a picture belongs in this (filtered) list. */
  readonly matches: (picture: T) => boolean;
}

/**
 * `items` with `changes` applied. A new picture is inserted at its place, unless it would go
 * after the last loaded one of an incomplete list (paging brings it there, and inserting it
 * now would make the next page repeat it). Returns `items` itself when nothing changed.
 */
export function foldChanges<T extends Listed>(
  items: readonly T[],
  changes: readonly Change<T>[],
  { complete, matches }: FoldOptions<T>,
): readonly T[] {
  const next = [...items];
  let changed = false;
  for (const { id, picture } of changes) {
    const at = next.findIndex((p) => p.id === id);
    if (picture === null || !matches(picture)) {
      if (at !== -1) {
        next.splice(at, 1);
        changed = true;
      }
      continue;
    }
    const old = next[at];
    if (old !== undefined) {
      if (old.updatedAt === picture.updatedAt && old.createdAt === picture.createdAt) continue;
      next[at] = picture;
      changed = true;
      continue;
    }
    const place = next.findIndex((p) => compareNewest(picture, p) < 0);
    if (place !== -1) next.splice(place, 0, picture);
    else if (complete) next.push(picture);
    else continue;
    changed = true;
  }
  return changed ? next : items;
}

/** `items` followed by `more`, without any picture twice (a page may repeat one after a live insert). */
export function appendPage<T extends Listed>(items: readonly T[], more: readonly T[]): T[] {
  const seen = new Set(items.map((p) => p.id));
  return [...items, ...more.filter((p) => !seen.has(p.id))];
}

/**
 * A freshly fetched list with the objects of `old` kept for the pictures that did not change,
 * so that a refresh re-renders only the tiles that did.
 */
export function reconcile<T extends Listed>(old: readonly T[], fresh: readonly T[]): T[] {
  const known = new Map(old.map((p) => [p.id, p]));
  return fresh.map((p) => {
    const before = known.get(p.id);
    return before?.updatedAt === p.updatedAt ? before : p;
  });
}

/**
 * `items` refreshed by a fresh first page: within the range the page covers (down to its last
 * picture) the page is the truth — new pictures inserted, edited ones replaced, missing ones
 * removed; below it, `items` stay as they are (already paged, perhaps thousands). Unchanged
 * pictures keep their objects. With `pageComplete` (the page is the whole list) it replaces all.
 */
export function mergeFirstPage<T extends Listed>(
  items: readonly T[],
  page: readonly T[],
  pageComplete: boolean,
): T[] {
  const last = page.at(-1);
  if (pageComplete || last === undefined) return reconcile(items, page);
  const below = items.filter((p) => compareNewest(p, last) > 0);
  const fresh = new Set(page.map((p) => p.id));
  return [...reconcile(items, page), ...below.filter((p) => !fresh.has(p.id))];
}
