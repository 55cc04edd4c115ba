/**
 * Dialogs of the library: add pictures to an album (an existing one or a new one), make or
 * edit an album, and make a share link for a picture or an album (optional expiry and password; the link is shown to
 * copy).
 */
import { useEffect, useState, type ReactNode } from 'react';
import { library, type Album, type Share } from '../api/library';
import { messageOf, useModal } from './common';
import { DialogActions, Field, FormOutcome, TextAreaField, useSubmit } from './form';
import { LinkBox } from './LinkBox';
import { useAuth } from '../auth';
import { formatDay } from '../lib/format';
import { canChange } from '../lib/permissions';

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
  const ref = useModal(open);
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

/**
 * Picks an album (or names a new one) and adds `ids` to it. Only albums the person may change
 * (their own, or any for an admin) are offered: another's was listed, preselected, and refused
 * by the server once Add was pressed.
 */
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
  const { auth } = useAuth();
  const user = auth.status === 'signed-in' ? auth.user : null;
  const [albums, setAlbums] = useState<Album[] | null>(null);
  const [choice, setChoice] = useState('');
  const [name, setName] = useState('');
  const form = useSubmit(async () => {
    const target =
      choice === 'new' || choice === '' ? await library.createAlbum(name.trim()) : null;
    const albumId = target?.id ?? choice;
    onDone(await library.changeAlbum(albumId, { add: [...ids] }));
  });
  const { fail, clear } = form;

  useEffect(() => {
    if (!open) return;
    clear();
    library.albums().then(
      (all) => {
        const mine = all.filter((album) => canChange(user, album));
        setAlbums(mine);
        setChoice((c) =>
          c === 'new' || mine.some((album) => album.id === c) ? c : (mine[0]?.id ?? 'new'),
        );
      },
      (e: unknown) => {
        fail(messageOf(e));
      },
    );
  }, [open, fail, clear, user]);

  const count = ids.length;
  return (
    <Modal
      open={open}
      title={`Add ${count} ${count === 1 ? 'picture' : 'pictures'} to an album`}
      onClose={onClose}
    >
      <form {...form.formProps}>
        <div className="dialog-body album-choices" role="radiogroup" aria-label="Album">
          {albums === null && !form.error && <p className="muted">Loading albums…</p>}
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
            <Field
              label="Name of the new album"
              name="album-name"
              value={name}
              maxLength={200}
              required
              onValue={setName}
            />
          )}
          <FormOutcome outcome={form.outcome} />
        </div>
        <DialogActions busy={form.busy} onCancel={onClose}>
          {form.busy ? 'Adding…' : 'Add'}
        </DialogActions>
      </form>
    </Modal>
  );
}

/**
 * An album's name and description, to make a new album or edit one: `save` sends them, the
 * saved album goes to `onSaved`. A new album's fields are emptied once it is made.
 */
export function AlbumDialog({
  open,
  title,
  initial,
  submitLabel,
  clearOnSave = false,
  save,
  onClose,
  onSaved,
}: {
  open: boolean;
  title: string;
  initial: { readonly name: string; readonly desc: string };
  submitLabel: string;
  clearOnSave?: boolean;
  save: (name: string, desc: string) => Promise<Album>;
  onClose: () => void;
  onSaved: (album: Album) => void;
}) {
  const [name, setName] = useState(initial.name);
  const [desc, setDesc] = useState(initial.desc);
  const form = useSubmit(async () => {
    onSaved(await save(name.trim(), desc));
    if (clearOnSave) {
      setName('');
      setDesc('');
    }
  });
  return (
    <Modal open={open} title={title} onClose={onClose}>
      <form {...form.formProps}>
        <div className="dialog-body">
          <Field
            label="Name"
            name="album-name"
            value={name}
            maxLength={200}
            required
            onValue={setName}
          />
          <TextAreaField
            label="Description"
            name="album-desc"
            value={desc}
            maxLength={5000}
            rows={3}
            onValue={setDesc}
          />
          <FormOutcome outcome={form.outcome} />
        </div>
        <DialogActions busy={form.busy} onCancel={onClose}>
          {submitLabel}
        </DialogActions>
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
  const [made, setMade] = useState<Share | null>(null);
  const form = useSubmit(async () => {
    const expiresInDays = days === '' ? undefined : Number(days);
    setMade(
      await library.createShare({
        target,
        targetId,
        ...(expiresInDays === undefined ? {} : { expiresInDays }),
        ...(password === '' ? {} : { password }),
      }),
    );
  });
  const { clear } = form;

  useEffect(() => {
    if (open) {
      setMade(null);
      clear();
    }
  }, [open, clear]);

  const url = made ? `${window.location.origin}${made.path}` : '';
  return (
    <Modal open={open} title={`Share this ${target}`} onClose={onClose}>
      {made ? (
        <div className="dialog-body">
          <p className="muted">
            Anyone with this link can see {target === 'album' ? 'the album' : 'the picture'}
            {made.hasPassword ? ' after typing its password' : ''}, at every node, until you revoke
            it
            {made.expiresAt ? ` or it expires on ${formatDay(made.expiresAt)}` : ''}.
          </p>
          <LinkBox id="share-link" label="Link" url={url} />
          <div className="dialog-actions">
            <button type="button" className="btn btn-primary" onClick={onClose}>
              Done
            </button>
          </div>
        </div>
      ) : (
        <form {...form.formProps}>
          <div className="dialog-body">
            <Field
              label="Expires after (days, empty for never)"
              name="share-days"
              type="number"
              min={1}
              max={3650}
              value={days}
              onValue={setDays}
            />
            <Field
              label="Password (optional)"
              name="share-password"
              type="password"
              autoComplete="new-password"
              value={password}
              onValue={setPassword}
            />
            <FormOutcome outcome={form.outcome} />
          </div>
          <DialogActions busy={form.busy} onCancel={onClose}>
            {form.busy ? 'Making…' : 'Make link'}
          </DialogActions>
        </form>
      )}
    </Modal>
  );
}
