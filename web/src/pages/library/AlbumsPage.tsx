/** Every album as a card (its cover, name, how many pictures), and a new album. */
import { useEffect, useState, type SyntheticEvent } from 'react';
import { thumbUrl } from '../../api/client';
import { library, type Album } from '../../api/library';
import { useAuth } from '../../auth';
import { EmptyState, ErrorNote, messageOf, Spinner } from '../../components/common';
import { AlbumIcon, PlusIcon } from '../../components/icons';
import { Modal } from '../../components/LibraryDialogs';
import { paths } from '../../lib/routes';
import { Link, navigate } from '../../router';

export function AlbumsPage() {
  const { handleError } = useAuth();
  const [albums, setAlbums] = useState<Album[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);

  const load = () => {
    setError(null);
    library.albums().then(setAlbums, (e: unknown) => {
      handleError(e);
      setError(messageOf(e));
    });
  };
  useEffect(load, [handleError]);

  return (
    <div className="albums-page">
      <div className="title-row">
        <h1>Albums</h1>
        <button
          type="button"
          className="btn btn-primary btn-small"
          onClick={() => {
            setCreating(true);
          }}
        >
          <PlusIcon /> New album
        </button>
      </div>
      {error && <ErrorNote error={error} onRetry={load} />}
      {albums === null ? (
        !error && <Spinner label="Loading albums…" />
      ) : albums.length === 0 ? (
        <EmptyState title="No albums yet" icon={<AlbumIcon />}>
          <p className="muted">
            Make one here, or select pictures in the gallery and choose “Add to album”.
          </p>
        </EmptyState>
      ) : (
        <ul className="album-grid" aria-label="Albums">
          {albums.map((a) => (
            <li key={a.id}>
              <Link to={paths.album(a.id)} className="album-card" data-testid="album-card">
                <span className="album-cover">
                  {a.coverId ? (
                    <img src={thumbUrl(a.coverId)} alt="" loading="lazy" decoding="async" />
                  ) : (
                    <AlbumIcon />
                  )}
                </span>
                <span className="album-name">{a.name}</span>
                <span className="muted small">
                  {a.count} {a.count === 1 ? 'picture' : 'pictures'} · {a.owner}
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}
      <NewAlbumDialog
        open={creating}
        onClose={() => {
          setCreating(false);
        }}
        onCreated={(album) => {
          setCreating(false);
          navigate(paths.album(album.id));
        }}
      />
    </div>
  );
}

export function NewAlbumDialog({
  open,
  onClose,
  onCreated,
}: {
  open: boolean;
  onClose: () => void;
  onCreated: (album: Album) => void;
}) {
  const [name, setName] = useState('');
  const [desc, setDesc] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: SyntheticEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onCreated(await library.createAlbum(name.trim(), desc));
      setName('');
      setDesc('');
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal open={open} title="New album" onClose={onClose}>
      <form onSubmit={(e) => void submit(e)}>
        <div className="dialog-body">
          <label className="field">
            <span>Name</span>
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
          <label className="field">
            <span>Description</span>
            <textarea
              name="album-desc"
              value={desc}
              maxLength={5000}
              rows={3}
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
        </div>
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            Create
          </button>
        </div>
      </form>
    </Modal>
  );
}
