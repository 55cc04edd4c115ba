/**
 * One picture: the large view, its info (with the node it came from), download, in-place
 * editing of title, category and description, and delete after a confirmation.
 */
import { useEffect, useState, type SyntheticEvent } from 'react';
import { api, fileUrl, thumbUrl } from '../api/client';
import type { Picture } from '../api/types';
import { useAuth } from '../auth';
import { ConfirmDialog, ErrorNote, Spinner, messageOf } from '../components/common';
import { BackIcon, DownloadIcon, EditIcon, TrashIcon } from '../components/icons';
import { formatDate, formatSize } from '../lib/format';
import { paths } from '../lib/routes';
import { Link, navigate } from '../router';

export function PicturePage({ id }: { id: string }) {
  const { handleError } = useAuth();
  const [picture, setPicture] = useState<Picture | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [deleting, setDeleting] = useState(false);

  useEffect(() => {
    let cancelled = false;
    api.picture(id).then(
      (p) => {
        if (!cancelled) setPicture(p);
      },
      (e: unknown) => {
        handleError(e);
        if (!cancelled) setError(messageOf(e));
      },
    );
    return () => {
      cancelled = true;
    };
  }, [id, handleError]);

  // Escape goes back to the gallery (the edit form and the dialog handle their own Escape).
  useEffect(() => {
    if (editing || confirming) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape' && !event.defaultPrevented) navigate(paths.gallery);
    };
    window.addEventListener('keydown', onKey);
    return () => {
      window.removeEventListener('keydown', onKey);
    };
  }, [editing, confirming]);

  const remove = async () => {
    setDeleting(true);
    try {
      await api.deletePicture(id);
      navigate(paths.gallery);
    } catch (e) {
      handleError(e);
      setError(messageOf(e));
      setDeleting(false);
      setConfirming(false);
    }
  };

  if (!picture) {
    return error ? (
      <div className="empty">
        <h1>Picture not available</h1>
        <p className="muted">{error}</p>
        <Link to={paths.gallery} className="btn">
          Back to the gallery
        </Link>
      </div>
    ) : (
      <Spinner label="Loading the picture…" />
    );
  }

  return (
    <article className="picture">
      <div className="picture-stage">
        <Link to={paths.gallery} className="btn btn-ghost btn-small picture-back">
          <BackIcon /> Gallery
        </Link>
        <img
          src={thumbUrl(picture.id, 'large')}
          alt={picture.title}
          width={picture.width}
          height={picture.height}
        />
      </div>
      <aside className="picture-info">
        {error && <ErrorNote error={error} />}
        {editing ? (
          <EditForm
            picture={picture}
            onCancel={() => {
              setEditing(false);
            }}
            onSaved={(p) => {
              setPicture(p);
              setEditing(false);
            }}
          />
        ) : (
          <>
            <h1 className="picture-title">{picture.title}</h1>
            {picture.category && <span className="badge">{picture.category}</span>}
            {picture.desc ? (
              <p className="picture-desc">{picture.desc}</p>
            ) : (
              <p className="muted">No description.</p>
            )}
            <div className="actions">
              <button
                type="button"
                className="btn"
                onClick={() => {
                  setEditing(true);
                }}
              >
                <EditIcon /> Edit
              </button>
              <a className="btn" href={fileUrl(picture.id)} download={downloadName(picture)}>
                <DownloadIcon /> Download
              </a>
              <button
                type="button"
                className="btn btn-danger-ghost"
                onClick={() => {
                  setConfirming(true);
                }}
              >
                <TrashIcon /> Delete
              </button>
            </div>
          </>
        )}
        <dl className="facts">
          <dt>From node</dt>
          <dd data-testid="origin">{picture.origin}</dd>
          <dt>Uploaded by</dt>
          <dd>{picture.owner}</dd>
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
            {picture.width} × {picture.height} · {formatSize(picture.size)}
          </dd>
          <dt>Type</dt>
          <dd>{picture.contentType}</dd>
          <dt>Id</dt>
          <dd className="mono" title={picture.id}>
            {picture.id.slice(0, 16)}…
          </dd>
        </dl>
      </aside>
      <ConfirmDialog
        open={confirming}
        title="Delete this picture?"
        confirmLabel={deleting ? 'Deleting…' : 'Delete'}
        danger
        busy={deleting}
        onConfirm={() => void remove()}
        onCancel={() => {
          setConfirming(false);
        }}
      >
        <p>
          “{picture.title}” disappears from every node. Uploading the same file again brings it
          back.
        </p>
      </ConfirmDialog>
    </article>
  );
}

function EditForm({
  picture,
  onCancel,
  onSaved,
}: {
  picture: Picture;
  onCancel: () => void;
  onSaved: (p: Picture) => void;
}) {
  const { handleError } = useAuth();
  const [title, setTitle] = useState(picture.title);
  const [category, setCategory] = useState(picture.category);
  const [desc, setDesc] = useState(picture.desc);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const save = async (event: SyntheticEvent) => {
    event.preventDefault();
    const patch: { title?: string; category?: string; desc?: string } = {};
    if (title.trim() !== picture.title) patch.title = title.trim();
    if (category.trim() !== picture.category) patch.category = category.trim();
    if (desc !== picture.desc) patch.desc = desc;
    if (Object.keys(patch).length === 0) {
      onCancel();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSaved(await api.updatePicture(picture.id, patch));
    } catch (e) {
      handleError(e);
      setError(messageOf(e));
      setBusy(false);
    }
  };

  return (
    <form
      className="edit-form"
      onSubmit={(e) => void save(e)}
      onKeyDown={(e) => {
        if (e.key === 'Escape') onCancel();
      }}
    >
      <label className="field">
        <span>Title</span>
        <input
          name="title"
          value={title}
          required
          maxLength={200}
          autoFocus
          onChange={(e) => {
            setTitle(e.target.value);
          }}
        />
      </label>
      <label className="field">
        <span>Category</span>
        <input
          name="category"
          value={category}
          maxLength={64}
          onChange={(e) => {
            setCategory(e.target.value);
          }}
        />
      </label>
      <label className="field">
        <span>Description</span>
        <textarea
          name="desc"
          value={desc}
          rows={4}
          maxLength={5000}
          onChange={(e) => {
            setDesc(e.target.value);
          }}
        />
      </label>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save'}
        </button>
        <button type="button" className="btn btn-ghost" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function downloadName(p: Picture): string {
  const ext = p.contentType.split('/')[1]?.replace('jpeg', 'jpg') ?? 'bin';
  const base = p.title.replace(/[^\p{L}\p{N} ._-]+/gu, '').trim() || 'picture';
  return `${base}.${ext}`;
}
