/**
 * One album: its name, description and pictures in the gallery's justified timeline. Its
 * owner or an admin may rename it, share it, delete it, take pictures out or pick the cover
 * (the actions are hidden from anyone else, as the server refuses them). It is fetched again
 * when the live feed says it changed, so a change made at another node shows without a reload.
 */
import { useCallback, useMemo, useState } from 'react';
import { ApiError } from '../../api/client';
import { library, type Album } from '../../api/library';
import type { Picture } from '../../api/types';
import { useAuth } from '../../auth';
import { ConfirmDialog, EmptyState, ErrorNote, messageOf, Spinner } from '../../components/common';
import { AlbumIcon, CloseIcon, EditIcon, ShareIcon, TrashIcon } from '../../components/icons';
import { AlbumDialog, ShareDialog } from '../../components/LibraryDialogs';
import { Timeline, type TileActions } from '../../components/Timeline';
import { galleryHref, remember } from '../../gallery-memory';
import { useFirstLoad, usePolling, useWidth } from '../../hooks';
import { canChange } from '../../lib/permissions';
import { paths } from '../../lib/routes';
import { emptySelection, selectRange, toggle, type Selection } from '../../lib/selection';
import { Link, navigate } from '../../router';

/** How often the album is asked for again while the live feed is down (else it says when). */
const REFRESH_MS = 3000;

export function AlbumPage({ id }: { id: string }) {
  const { auth, handleError } = useAuth();
  const user = auth.status === 'signed-in' ? auth.user : null;
  const [album, setAlbum] = useState<Album | null>(null);
  const [items, setItems] = useState<Picture[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [shown, setShown] = useState(1);
  const [error, setError] = useState<string | null>(null);
  const [gone, setGone] = useState(false);
  const [dialog, setDialog] = useState<'edit' | 'share' | 'delete' | null>(null);
  const [selection, setSelection] = useState<Selection>(emptySelection);

  /** The album and as many pages of its pictures as are shown. */
  const load = useCallback(async () => {
    try {
      const next = await library.album(id);
      let all: Picture[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < shown; page++) {
        const got = await library.albumPictures(id, cursor);
        all = [...all, ...got.items];
        cursor = got.nextCursor;
        if (cursor === null) break;
      }
      setAlbum(next);
      setItems(all);
      setNextCursor(cursor);
      // What the viewer walks when a picture is opened here (Esc comes back to this page).
      remember(galleryHref('', '', id), { items: all, nextCursor: cursor });
      setError(null);
    } catch (e) {
      handleError(e);
      if (e instanceof ApiError && e.status === 404) setGone(true);
      else setError(messageOf(e));
    }
  }, [id, shown, handleError]);
  // Loaded at once (or, while the live feed is connecting, as it connects: useFirstLoad) and
  // whenever what is shown changes ("Load more"); then again when the feed names this album
  // (its fields or members changed, or a picture it holds was edited, deleted, or made visible
  // by its bytes arriving), and when it reconnects. Polled only while the feed is down.
  const first = useCallback(() => void load(), [load]);
  const live = useFirstLoad(first, {
    onAlbums: (albums) => {
      if (!gone && albums.includes(id)) void load();
    },
    onConnected: () => {
      if (!gone) void load();
    },
  });
  usePolling(load, REFRESH_MS, !gone && live === 'offline');

  const order = useMemo(() => (items ?? []).map((p) => p.id), [items]);
  const actions: TileActions = useMemo(
    () => ({
      onSelect: (pictureId, range) => {
        setSelection((s) => (range ? selectRange(s, order, pictureId) : toggle(s, pictureId)));
      },
      onOpen: (pictureId) => {
        remember(galleryHref('', '', id), { lastViewed: pictureId });
      },
    }),
    [order, id],
  );

  if (gone) {
    return (
      <EmptyState title="This album is gone" icon={<AlbumIcon />}>
        <p className="muted">It was deleted, or never existed here.</p>
        <Link to={paths.albums} className="btn btn-primary">
          All albums
        </Link>
      </EmptyState>
    );
  }
  if (!album || !items) return error ? <ErrorNote error={error} /> : <Spinner />;

  const editable = canChange(user, album);
  const selected = [...selection.ids];
  const change = async (run: () => Promise<unknown>) => {
    try {
      await run();
      setSelection(emptySelection);
      await load();
    } catch (e) {
      handleError(e);
      setError(messageOf(e));
    }
  };

  return (
    <div className="album-page">
      {editable && selected.length > 0 && (
        <div className="selection-bar" role="toolbar" aria-label="Selected pictures">
          <button
            type="button"
            className="btn btn-ghost btn-icon"
            onClick={() => {
              setSelection(emptySelection);
            }}
            aria-label="Clear the selection"
          >
            <CloseIcon />
          </button>
          <span className="selection-count">{selected.length} selected</span>
          <span className="selection-actions">
            {selected.length === 1 && selected[0] !== undefined && (
              <button
                type="button"
                className="btn btn-small"
                onClick={() =>
                  void change(() => library.updateAlbum(id, { cover: selected[0] ?? '' }))
                }
              >
                Make cover
              </button>
            )}
            <button
              type="button"
              className="btn btn-small btn-danger-ghost"
              onClick={() => void change(() => library.changeAlbum(id, { remove: selected }))}
            >
              Remove from album
            </button>
          </span>
        </div>
      )}
      <div className="album-head">
        <Link to={paths.albums} className="muted small">
          ← Albums
        </Link>
        <div className="title-row">
          <h1>{album.name}</h1>
          {editable && (
            <span className="album-actions">
              <button
                type="button"
                className="btn btn-small"
                onClick={() => {
                  setDialog('share');
                }}
              >
                <ShareIcon /> <span className="label">Share</span>
              </button>
              <button
                type="button"
                className="btn btn-small"
                onClick={() => {
                  setDialog('edit');
                }}
              >
                <EditIcon /> <span className="label">Edit</span>
              </button>
              <button
                type="button"
                className="btn btn-small btn-danger-ghost"
                aria-label="Delete album"
                onClick={() => {
                  setDialog('delete');
                }}
              >
                <TrashIcon /> <span className="label">Delete</span>
              </button>
            </span>
          )}
        </div>
        {album.desc && <p className="album-desc">{album.desc}</p>}
        <p className="muted small" data-testid="album-count">
          {album.count} {album.count === 1 ? 'picture' : 'pictures'} · by {album.owner}
        </p>
      </div>
      {error && <ErrorNote error={error} onRetry={() => void load()} />}
      <div className="timeline-wrap">
        {items.length === 0 ? (
          <EmptyState title="No pictures in this album" icon={<AlbumIcon />}>
            <p className="muted">Select pictures in the gallery and choose “Add to album”.</p>
            <Link to={paths.gallery} className="btn">
              Go to the gallery
            </Link>
          </EmptyState>
        ) : (
          <AlbumTimeline
            albumId={album.id}
            items={items}
            selected={editable ? selection.ids : NONE}
            actions={actions}
          />
        )}
      </div>
      {nextCursor !== null && (
        <div className="more">
          <button
            type="button"
            className="btn"
            onClick={() => {
              setShown((n) => n + 1);
            }}
          >
            Load more
          </button>
        </div>
      )}
      <AlbumDialog
        open={dialog === 'edit'}
        title="Edit album"
        initial={album}
        submitLabel="Save"
        save={(name, desc) => library.updateAlbum(album.id, { name, desc })}
        onClose={() => {
          setDialog(null);
        }}
        onSaved={(saved) => {
          setAlbum(saved);
          setDialog(null);
        }}
      />
      <ShareDialog
        open={dialog === 'share'}
        target="album"
        targetId={album.id}
        onClose={() => {
          setDialog(null);
        }}
      />
      <ConfirmDialog
        open={dialog === 'delete'}
        title={`Delete the album “${album.name}”?`}
        confirmLabel="Delete album"
        danger
        onConfirm={() =>
          void library.deleteAlbum(id).then(
            () => {
              navigate(paths.albums);
            },
            (e: unknown) => {
              setDialog(null);
              setError(messageOf(e));
            },
          )
        }
        onCancel={() => {
          setDialog(null);
        }}
      >
        <p>The album disappears at every node. Its pictures stay in the gallery.</p>
      </ConfirmDialog>
    </div>
  );
}

const NONE: ReadonlySet<string> = new Set();

/** The gallery's timeline, measured once it is on the page (it mounts with the pictures). */
function AlbumTimeline({
  albumId,
  items,
  selected,
  actions,
}: {
  albumId: string;
  items: readonly Picture[];
  selected: ReadonlySet<string>;
  actions: TileActions;
}) {
  const [ref, width] = useWidth<HTMLDivElement>();
  return (
    <div ref={ref}>
      <Timeline
        items={items}
        width={width}
        selected={selected}
        context={{ category: '', q: '', album: albumId }}
        actions={actions}
      />
    </div>
  );
}
