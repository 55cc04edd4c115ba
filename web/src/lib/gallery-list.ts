/**
 * The gallery's list under live changes. `/api/stream` names the pictures that changed; the
 * gallery fetches each one and folds the answers in here, so a change inserts, replaces or
 * removes one tile and every other tile keeps its object (React keeps its DOM and image).
 * Order is the server's (`GET /api/pictures?sort=taken`): newest first by date taken — the
 * camera's local time read as if it were UTC — or, when the file does not say, by upload time;
 * ties by id. That is also what its cursor follows.
 */

export interface Listed {
  readonly id: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly takenAt?: string | null | undefined;
}

const LOCAL_PART = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)/;

/** The server's sort key: the local time taken, read as UTC, else the upload time (ms). */
export function sortKey(p: Listed): number {
  const local = p.takenAt ? LOCAL_PART.exec(p.takenAt) : null;
  const taken = local?.[1] ? Date.parse(`${local[1]}Z`) : Number.NaN;
  return Number.isFinite(taken) ? taken : Date.parse(p.createdAt);
}

/** Negative when `a` comes first. */
export function compareNewest(a: Listed, b: Listed): number {
  const byTime = sortKey(b) - sortKey(a);
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
      const sameKey = sortKey(old) === sortKey(picture);
      if (old.updatedAt === picture.updatedAt && sameKey && old.takenAt === picture.takenAt) {
        continue;
      }
      changed = true;
      if (sameKey) {
        next[at] = picture;
        continue;
      }
      // Its date taken became known (facts derived after it was listed): it moves.
      next.splice(at, 1);
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
    return before?.updatedAt === p.updatedAt && before.takenAt === p.takenAt ? before : p;
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
