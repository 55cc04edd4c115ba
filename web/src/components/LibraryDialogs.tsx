/**
 * Dialogs of the library: add pictures to an album (an existing one or a new one), and make a
 * share link for a picture or an album (optional expiry and password; the link is shown to
 * copy).
 */
import { useEffect, useRef, useState, type SyntheticEvent, type ReactNode } from 'react';
import { library, type Album, type Share } from '../api/library';
import { messageOf } from './common';

/** A modal on the native <dialog>, open while `open` (Esc and the backdrop close it). */
export function Modal({
  open,
  title,
  onClose,
  children,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-label={title}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2>{title}</h2>
      {open && children}
    </dialog>
  );
}

/** Picks an album (or names a new one) and adds `ids` to it. */
export function AddToAlbumDialog({
  open,
  ids,
  onClose,
  onDone,
}: {
  open: boolean;
  ids: readonly string[];
  onClose: () => void;
  onDone: (album: Album) => void;
}) {
  const [albums, setAlbums] = useState<Album[] | null>(null);
  const [choice, setChoice] = useState('');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!open) return;
    setError(null);
    library.albums().then(
      (all) => {
        setAlbums(all);
        setChoice((c) => c || (all[0]?.id ?? 'new'));
      },
      (e: unknown) => {
        setError(messageOf(e));
      },
    );
  }, [open]);

  const submit = async (event: SyntheticEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const target =
        choice === 'new' || choice === '' ? await library.createAlbum(name.trim()) : null;
      const albumId = target?.id ?? choice;
      const album = await library.changeAlbum(albumId, { add: [...ids] });
      onDone(album);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  const count = ids.length;
  return (
    <Modal
      open={open}
      title={`Add ${count} ${count === 1 ? 'picture' : 'pictures'} to an album`}
      onClose={onClose}
    >
      <form onSubmit={(e) => void submit(e)}>
        <div className="dialog-body album-choices" role="radiogroup" aria-label="Album">
          {albums === null && !error && <p className="muted">Loading albums…</p>}
          {albums?.map((a) => (
            <label key={a.id} className="album-choice">
              <input
                type="radio"
                name="album"
                value={a.id}
                checked={choice === a.id}
                onChange={() => {
                  setChoice(a.id);
                }}
              />
              <span>{a.name}</span>
              <span className="muted small">{a.count}</span>
            </label>
          ))}
          <label className="album-choice">
            <input
              type="radio"
              name="album"
              value="new"
              checked={choice === 'new'}
              onChange={() => {
                setChoice('new');
              }}
            />
            <span>New album</span>
          </label>
          {choice === 'new' && (
            <label className="field">
              <span>Name of the new album</span>
              <input
                name="album-name"
                value={name}
                maxLength={200}
                required
                onChange={(e) => {
                  setName(e.target.value);
                }}
              />
            </label>
          )}
          {error && (
            <p className="form-error" role="alert">
              {error}
            </p>
          )}
        </div>
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Adding…' : 'Add'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Makes a share link for one picture or one album and shows it. */
export function ShareDialog({
  open,
  target,
  targetId,
  onClose,
}: {
  open: boolean;
  target: 'picture' | 'album';
  targetId: string;
  onClose: () => void;
}) {
  const [days, setDays] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [made, setMade] = useState<Share | null>(null);
  const [copied, setCopied] = useState(false);

  useEffect(() => {
    if (open) {
      setMade(null);
      setError(null);
      setCopied(false);
    }
  }, [open]);

  const submit = async (event: SyntheticEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const expiresInDays = days === '' ? undefined : Number(days);
      setMade(
        await library.createShare({
          target,
          targetId,
          ...(expiresInDays === undefined ? {} : { expiresInDays }),
          ...(password === '' ? {} : { password }),
        }),
      );
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  const url = made ? `${window.location.origin}${made.path}` : '';
  return (
    <Modal open={open} title={`Share this ${target}`} onClose={onClose}>
      {made ? (
        <div className="dialog-body">
          <p className="muted">
            Anyone with this link can see {target === 'album' ? 'the album' : 'the picture'}
            {made.hasPassword ? ' after typing its password' : ''}, at every node, until you revoke
            it
            {made.expiresAt
              ? ` or it expires on ${new Date(made.expiresAt).toLocaleDateString()}`
              : ''}
            .
          </p>
          <label className="field">
            <span>Link</span>
            <input
              name="share-link"
              readOnly
              value={url}
              onFocus={(e) => {
                e.target.select();
              }}
            />
          </label>
          <div className="dialog-actions">
            <button
              type="button"
              className="btn"
              onClick={() => {
                void navigator.clipboard.writeText(url).then(() => {
                  setCopied(true);
                });
              }}
            >
              {copied ? 'Copied' : 'Copy link'}
            </button>
            <button type="button" className="btn btn-primary" onClick={onClose}>
              Done
            </button>
          </div>
        </div>
      ) : (
        <form onSubmit={(e) => void submit(e)}>
          <div className="dialog-body">
            <label className="field">
              <span>Expires after (days, empty for never)</span>
              <input
                name="share-days"
                type="number"
                min={1}
                max={3650}
                value={days}
                onChange={(e) => {
                  setDays(e.target.value);
                }}
              />
            </label>
            <label className="field">
              <span>Password (optional)</span>
              <input
                name="share-password"
                type="password"
                autoComplete="new-password"
                value={password}
                onChange={(e) => {
                  setPassword(e.target.value);
                }}
              />
            </label>
            {error && (
              <p className="form-error" role="alert">
                {error}
              </p>
            )}
          </div>
          <div className="dialog-actions">
            <button type="button" className="btn" onClick={onClose} disabled={busy}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {busy ? 'Making…' : 'Make link'}
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}
