/** Every album as a card (its cover, name, how many pictures), and a new album. */
import { useEffect, useState } from 'react';
import { thumbUrl } from '../../api/client';
import { library, type Album } from '../../api/library';
import { useAuth } from '../../auth';
import { EmptyState, ErrorNote, messageOf, Spinner } from '../../components/common';
import { AlbumIcon, PlusIcon } from '../../components/icons';
import { AlbumDialog } from '../../components/LibraryDialogs';
import { paths } from '../../lib/routes';
import { Link, navigate } from '../../router';

const NO_ALBUM = { name: '', desc: '' };

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
      <AlbumDialog
        open={creating}
        title="New album"
        initial={NO_ALBUM}
        submitLabel="Create"
        clearOnSave
        save={(name, desc) => library.createAlbum(name, desc)}
        onClose={() => {
          setCreating(false);
        }}
        onSaved={(album) => {
          setCreating(false);
          navigate(paths.album(album.id));
        }}
      />
    </div>
  );
}
