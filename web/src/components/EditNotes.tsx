/**
 * What the picture page says when edits at two nodes meet: while the form is open, what another
 * node changed meanwhile (every field, not just the title); after a save, which of the fields
 * just saved another node's edit replaced (each field keeps the later edit, so "SIM one" saved
 * here can be followed within a second by "SIM two" from there, and before this the page just
 * showed the other title).
 */
import type { Picture } from '../api/types';
import { changedFields, describeFields, overridden, type TextFields } from '../lib/edit-merge';

export interface LastSave {
  readonly pictureId: string;
  readonly sent: Partial<TextFields>;
}

export function ChangedMeanwhile({ base, picture }: { base: Picture; picture: Picture }) {
  if (picture.updatedAt === base.updatedAt) return null;
  const fields = changedFields(base, picture);
  return (
    <p className="note" role="status">
      This picture was changed at another node meanwhile
      {fields.length > 0 ? `: ${describeFields(fields, picture)}` : ''}. The fields you did not
      touch show it; Save changes only the ones you edit here.
    </p>
  );
}

/** Shown until dismissed, the form opened again, or another picture viewed. */
export function SaveOverridden({
  last,
  picture,
  onDismiss,
}: {
  last: LastSave | null;
  picture: Picture;
  onDismiss: () => void;
}) {
  if (!last || last.pictureId !== picture.id) return null;
  const fields = overridden(last.sent, picture);
  if (fields.length === 0) return null;
  return (
    <div className="note" role="status">
      <span>
        An edit made at another node replaced what you saved: {describeFields(fields, picture)}.
      </span>
      <button type="button" className="btn btn-small btn-ghost" onClick={onDismiss}>
        OK
      </button>
    </div>
  );
}
