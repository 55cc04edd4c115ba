/** The viewer's side panel pieces: the picture's facts and the edit form. */
import { useEffect, useRef, useState } from 'react';
import { api } from '../api/client';
import type { Picture } from '../api/types';
import { useAuth } from '../auth';
import type { TextFields } from '../lib/edit-merge';
import { formatDate, formatSize, formatTaken } from '../lib/format';
import { Field, FormOutcome, TextAreaField, useSubmit } from './form';

/** What is known of the picture; the camera facts once the server reads EXIF (issue 15). */
export function Facts({ picture }: { picture: Picture }) {
  const camera = [picture.camera?.make, picture.camera?.model].filter(Boolean).join(' ');
  const exposure = exposureText(picture);
  return (
    <>
      <dl className="facts">
        {picture.takenAt && (
          <>
            <dt>Taken</dt>
            <dd>{formatTaken(picture.takenAt)}</dd>
          </>
        )}
        {camera && (
          <>
            <dt>Camera</dt>
            <dd>
              {camera}
              {picture.camera?.lens ? ` · ${picture.camera.lens}` : ''}
            </dd>
          </>
        )}
        {exposure && (
          <>
            <dt>Exposure</dt>
            <dd>{exposure}</dd>
          </>
        )}
        {picture.gps && (
          <>
            <dt>Place</dt>
            <dd>
              {picture.gps.latitude.toFixed(5)}, {picture.gps.longitude.toFixed(5)}
            </dd>
          </>
        )}
        <dt>Uploaded by</dt>
        <dd data-testid="owner">{picture.owner}</dd>
        <dt>Uploaded at</dt>
        <dd data-testid="origin">{picture.origin}</dd>
        <dt>Added</dt>
        <dd>{formatDate(picture.createdAt)}</dd>
        {Date.parse(picture.updatedAt) - Date.parse(picture.createdAt) > 1000 && (
          <>
            <dt>Edited</dt>
            <dd>{formatDate(picture.updatedAt)}</dd>
          </>
        )}
        <dt>Size</dt>
        <dd>
          {picture.width} × {picture.height} · {formatName(picture.contentType)} ·{' '}
          {formatSize(picture.size)}
        </dd>
      </dl>
      {/* For whoever looks after the library; the family need not read it. */}
      <details className="facts-more small muted">
        <summary>Technical details</summary>
        Type {picture.contentType} · Id <span className="mono">{picture.id}</span>
      </details>
    </>
  );
}

/** "JPEG", "PNG", "HEIC" for a picture's content type; the type itself when unknown. */
export function formatName(contentType: string): string {
  const sub = contentType.split('/')[1] ?? contentType;
  return sub === 'jpeg' ? 'JPEG' : sub.toUpperCase();
}

function exposureText(p: Picture): string {
  const e = p.exposure;
  if (!e) return '';
  const parts: string[] = [];
  if (e.exposureTime) {
    parts.push(
      e.exposureTime >= 1 ? `${e.exposureTime} s` : `1/${Math.round(1 / e.exposureTime)} s`,
    );
  }
  if (e.fNumber) parts.push(`ƒ/${e.fNumber}`);
  if (e.focalLength) parts.push(`${e.focalLength} mm`);
  if (e.iso) parts.push(`ISO ${e.iso}`);
  return parts.join(' · ');
}

/**
 * The edit form. `picture` is the picture as the form opened on it, `current` as it is now (an
 * edit at another node meanwhile): a field the person has not touched shows the current value,
 * and only the fields they changed are saved (each field is its own register at the server).
 */
export function EditForm({
  picture,
  current,
  onCancel,
  onSaved,
}: {
  picture: Picture;
  current: Picture;
  onCancel: () => void;
  onSaved: (p: Picture, sent: Partial<TextFields>) => void;
}) {
  const { handleError } = useAuth();
  const [draft, setDraft] = useState<Partial<TextFields>>({});
  const edit = (field: keyof TextFields) => (value: string) => {
    setDraft((d) => ({ ...d, [field]: value }));
  };
  const title = draft.title ?? current.title;
  const category = draft.category ?? current.category;
  const desc = draft.desc ?? current.desc;
  const open = useRef(true);
  useEffect(() => {
    open.current = true;
    return () => {
      open.current = false;
    };
  }, []);
  const form = useSubmit(
    async () => {
      // What the person typed, where it differs from the picture now.
      const patch: { title?: string; category?: string; desc?: string } = {};
      if (draft.title !== undefined && title.trim() !== current.title) patch.title = title.trim();
      if (draft.category !== undefined && category.trim() !== current.category) {
        patch.category = category.trim();
      }
      if (draft.desc !== undefined && desc !== current.desc) patch.desc = desc;
      if (Object.keys(patch).length === 0) {
        onCancel();
        return;
      }
      const updated = await api.updatePicture(picture.id, patch);
      // Cancelled meanwhile: the form is gone (another may be open); the live feed shows it.
      if (open.current) onSaved(updated, patch);
    },
    { onError: handleError },
  );
  const { busy } = form;

  return (
    <form
      className="edit-form"
      {...form.formProps}
      onKeyDown={(e) => {
        if (e.key === 'Escape') onCancel();
      }}
    >
      <Field
        label="Title"
        name="title"
        value={title}
        required
        maxLength={200}
        autoFocus
        onValue={edit('title')}
      />
      <Field
        label="Category"
        name="category"
        value={category}
        maxLength={64}
        onValue={edit('category')}
      />
      <TextAreaField
        label="Description"
        name="desc"
        value={desc}
        rows={4}
        maxLength={5000}
        onValue={edit('desc')}
      />
      <FormOutcome outcome={form.outcome} />
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save'}
        </button>
        {/* Usable while saving (a node that does not answer must not hold the form): it only
            closes the form, and a save under way may still land. */}
        <button type="button" className="btn btn-ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function downloadName(p: Picture): string {
  const ext = p.contentType.split('/')[1]?.replace('jpeg', 'jpg') ?? 'bin';
  const base = p.title.replace(/[^\p{L}\p{N} ._-]+/gu, '').trim() || 'picture';
  return `${base}.${ext}`;
}
