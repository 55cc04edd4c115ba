/**
 * Multi-select rules: a click on a tile's check toggles it and becomes the anchor; a
 * shift-click selects everything between the anchor and the clicked picture, in the order the
 * gallery shows them (as in Google Photos and Immich: a range only adds).
 */

export interface Selection {
  readonly ids: ReadonlySet<string>;
  /** The last picture toggled on its own: one end of the next shift-click range. */
  readonly anchor: string | null;
}

export const emptySelection: Selection = { ids: new Set(), anchor: null };

export function toggle(selection: Selection, id: string): Selection {
  const ids = new Set(selection.ids);
  if (ids.has(id)) ids.delete(id);
  else ids.add(id);
  return { ids, anchor: id };
}

/**
 * Adds every picture from the anchor to `id` (both included) in `order`. Without an anchor
 * still in the list, it is a plain toggle. The anchor stays, so a second shift-click re-ranges
 * from the same place.
 */
export function selectRange(selection: Selection, order: readonly string[], id: string): Selection {
  const from = selection.anchor === null ? -1 : order.indexOf(selection.anchor);
  const to = order.indexOf(id);
  if (from === -1 || to === -1) return toggle(selection, id);
  const ids = new Set(selection.ids);
  for (let i = Math.min(from, to); i <= Math.max(from, to); i++) {
    const each = order[i];
    if (each !== undefined) ids.add(each);
  }
  return { ids, anchor: selection.anchor };
}

/** Drops ids no longer shown (deleted here or elsewhere). */
export function keepOnly(selection: Selection, shown: ReadonlySet<string>): Selection {
  const ids = new Set([...selection.ids].filter((id) => shown.has(id)));
  if (ids.size === selection.ids.size) return selection;
  const anchor = selection.anchor !== null && shown.has(selection.anchor) ? selection.anchor : null;
  return { ids, anchor };
}
