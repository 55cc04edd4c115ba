/**
 * The viewer: one picture on a dark stage, previous/next by arrow keys, the on-screen arrows
 * or a swipe, zoom by wheel, pinch or double click, the full-resolution original on demand,
 * neighbours preloaded. Beside it the picture's info (with the node it came from), download,
 * in-place editing and delete for its owner or an admin. Esc goes back to the gallery it was
 * opened from, at the same place. Its URL (`/p/<id>?category=…&q=…`) names the picture and
 * the gallery's filter. It follows the live feed: edited at any node, the picture is fetched
 * again (an open edit form keeps its draft); deleted, the page says so and leads to the trash.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, fileUrl, thumbUrl } from '../api/client';
import { library } from '../api/library';
import type { Picture } from '../api/types';
import { useAuth } from '../auth';
import { ConfirmDialog, ErrorNote, Spinner, messageOf } from '../components/common';
import {
  AlbumIcon,
  CloseIcon,
  DownloadIcon,
  EditIcon,
  NextIcon,
  OriginalIcon,
  PrevIcon,
  ShareIcon,
  TrashIcon,
} from '../components/icons';
import { ChangedMeanwhile, SaveOverridden, type LastSave } from '../components/EditNotes';
import { EditForm, Facts, downloadName } from '../components/PictureInfo';
import { PictureGone } from '../components/PictureGone';
import { ZoomStage } from '../components/ZoomStage';
import { AddToAlbumDialog, ShareDialog } from '../components/LibraryDialogs';
import { useRetentionDays } from '../components/SelectionBar';
import { contextOf, forget, galleryHref, pictureHref, recall, remember } from '../gallery-memory';
import { appendPage } from '../lib/gallery-list';
import { aspectOf } from '../lib/justify';
import { canChange } from '../lib/permissions';
import { Link, navigate, useLocation } from '../router';
import { GALLERY_SORT } from './useGalleryList';
import { useLivePicture } from './useLivePicture';

const PAGE = 48;
/** Zoomed in this far, the large preview (1600 px) runs out of detail: load the original. */
const ORIGINAL_AT_SCALE = 2;

export function PicturePage({ id }: { id: string }) {
  const { auth, handleError } = useAuth();
  const { search } = useLocation();
  const { category, q, album } = contextOf(search);
  const back = galleryHref(category, q, album);
  const [items, setItems] = useState(() => recall(back)?.items ?? []);
  /** Why an action failed. */
  const [error, setError] = useState<string | null>(null);
  /** While editing: the picture as the form started from (its draft is the form's own). */
  const [editBase, setEditBase] = useState<Picture | null>(null);
  const editing = editBase !== null;
  /** What the last save here sent, to say if another node's edit replaced some of it. */
  const [lastSave, setLastSave] = useState<LastSave | null>(null);
  /** The Edit button, which gets the focus back when the form closes (Esc, Cancel, Save). */
  const editButton = useRef<HTMLButtonElement>(null);
  const [refocusEdit, setRefocusEdit] = useState(false);
  const closeEdit = useCallback(() => {
    setEditBase(null);
    setRefocusEdit(true);
  }, []);
  useEffect(() => {
    if (editing || !refocusEdit) return;
    editButton.current?.focus();
    setRefocusEdit(false);
  }, [editing, refocusEdit]);
  const [confirming, setConfirming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [original, setOriginal] = useState(false);
  const [sharing, setSharing] = useState<'album' | 'share' | null>(null);

  // Fetched at once, then again when the live feed names it and when the feed (re)connects.
  // Gone (404): no form or dialog stays open on it.
  const { picture, saved, gone, loadError, connections } = useLivePicture(
    id,
    () => items.find((p) => p.id === id) ?? null,
    () => {
      setEditBase(null);
      setConfirming(false);
      setSharing(null);
    },
  );

  // Opened by a link or a reload, not from the gallery: fetch the gallery's first page for
  // the neighbours. Near the end of what is loaded, fetch the next page. In the gallery's own
  // order (date taken, GALLERY_SORT): its cursors are only valid for the sort that made them,
  // and a viewer opened by a link walks the pictures as the gallery shows them.
  const index = items.findIndex((p) => p.id === id);
  useEffect(() => {
    const memory = recall(back);
    const near = memory && index !== -1 && index >= memory.items.length - 3;
    if (memory && memory.items.length > 0 && !(near && memory.nextCursor !== null)) return;
    let cancelled = false;
    const cursor = memory?.items.length ? memory.nextCursor : null;
    (album
      ? library.albumPictures(album, cursor)
      : api.pictures({ category, q, limit: PAGE, cursor, sort: GALLERY_SORT })
    ).then(
      (page) => {
        const before = recall(back)?.items ?? [];
        const merged = appendPage(before, page.items);
        remember(back, { items: merged, nextCursor: page.nextCursor });
        if (!cancelled) setItems(merged);
      },
      (e: unknown) => {
        handleError(e);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [back, category, q, album, index, handleError]);

  const prev = index > 0 ? items[index - 1] : undefined;
  const next = index !== -1 ? items[index + 1] : undefined;

  // Neighbours' previews start loading now, so the next step shows at once.
  useEffect(() => {
    for (const p of [next, prev]) if (p) new Image().src = thumbUrl(p.id, 'large');
  }, [next, prev]);

  const go = useCallback(
    (to: Picture | undefined) => {
      if (to) navigate(pictureHref(to.id, category, q, album), { replace: true });
    },
    [category, q, album],
  );
  const close = useCallback(() => {
    remember(back, { lastViewed: id });
    navigate(back);
  }, [back, id]);

  // Keys: arrows walk, Escape closes (the edit form and the dialog handle their own Escape).
  useEffect(() => {
    if (editing || confirming || sharing) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
      const target = event.target as HTMLElement | null;
      if (target?.closest('input, textarea, select')) return;
      if (event.key === 'Escape') close();
      else if (event.key === 'ArrowLeft') go(prev);
      else if (event.key === 'ArrowRight') go(next);
      else return;
      event.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => {
      window.removeEventListener('keydown', onKey);
    };
  }, [editing, confirming, sharing, close, go, prev, next]);

  const user = auth.status === 'signed-in' ? auth.user : null;
  const mayChange = picture !== null && canChange(user, picture);
  const days = useRetentionDays(confirming);
  const position = useMemo(
    () => (index === -1 ? null : `${index + 1} of ${items.length}${hasMore(back) ? '+' : ''}`),
    [index, items.length, back],
  );

  const remove = async () => {
    setDeleting(true);
    try {
      await api.deletePicture(id);
      forget(id);
      const after = next ?? prev;
      if (after) navigate(pictureHref(after.id, category, q, album), { replace: true });
      else navigate(back);
    } catch (e) {
      handleError(e);
      setError(messageOf(e));
      setDeleting(false);
      setConfirming(false);
    }
  };

  if (gone) {
    return (
      <PictureGone
        picture={picture}
        mayRestore={picture ? mayChange : user?.role === 'admin'}
        back={back}
      />
    );
  }

  if (!picture) {
    return loadError ? (
      <div className="empty">
        <h1>Picture not available</h1>
        <p className="muted">{loadError}</p>
        <Link to={back} className="btn">
          Back to the gallery
        </Link>
      </div>
    ) : (
      <Spinner label="Loading the picture…" />
    );
  }

  return (
    <article className="viewer" aria-label={picture.title}>
      <div className="viewer-main">
        <header className="viewer-bar">
          <Link
            to={back}
            className="btn btn-ghost btn-icon viewer-close"
            aria-label="Back to the gallery"
            title="Back to the gallery (Esc)"
            onClick={() => remember(back, { lastViewed: id })}
          >
            <CloseIcon />
          </Link>
          {position && <span className="viewer-position">{position}</span>}
          <span className="viewer-tools">
            <button
              type="button"
              className={original ? 'btn btn-ghost btn-small on' : 'btn btn-ghost btn-small'}
              aria-pressed={original}
              onClick={() => {
                setOriginal(true);
              }}
              title="Show the full-resolution original"
            >
              <OriginalIcon /> <span className="label">Original</span>
            </button>
            <a
              className="btn btn-ghost btn-icon"
              href={fileUrl(picture.id)}
              download={downloadName(picture)}
              aria-label="Download"
              title="Download"
            >
              <DownloadIcon />
            </a>
          </span>
        </header>
        <ZoomStage
          key={picture.id}
          src={original ? fileUrl(picture.id) : thumbUrl(picture.id, 'large')}
          alt={picture.title}
          aspect={aspectOf(picture.width, picture.height)}
          reconnected={connections}
          onSwipe={(direction) => {
            go(direction === 'next' ? next : prev);
          }}
          onZoomChange={(scale) => {
            if (scale >= ORIGINAL_AT_SCALE) setOriginal(true);
          }}
        >
          {prev && (
            <button
              type="button"
              className="viewer-nav viewer-prev"
              aria-label="Previous picture"
              onClick={() => {
                go(prev);
              }}
            >
              <PrevIcon />
            </button>
          )}
          {next && (
            <button
              type="button"
              className="viewer-nav viewer-next"
              aria-label="Next picture"
              onClick={() => {
                go(next);
              }}
            >
              <NextIcon />
            </button>
          )}
        </ZoomStage>
      </div>
      <aside className="picture-info">
        {error && <ErrorNote error={error} />}
        {editBase ? (
          <>
            <ChangedMeanwhile base={editBase} picture={picture} />
            <EditForm
              picture={editBase}
              current={picture}
              onCancel={closeEdit}
              onSaved={(p, sent) => {
                saved(p);
                setLastSave({ pictureId: p.id, sent });
                closeEdit();
              }}
            />
          </>
        ) : (
          <>
            <SaveOverridden
              last={lastSave}
              picture={picture}
              onDismiss={() => {
                setLastSave(null);
              }}
            />
            <h1 className="picture-title">{picture.title}</h1>
            {picture.category && <span className="badge">{picture.category}</span>}
            {picture.desc ? (
              <p className="picture-desc">{picture.desc}</p>
            ) : (
              <p className="muted">No description.</p>
            )}
            <div className="actions">
              {mayChange && (
                <button
                  ref={editButton}
                  type="button"
                  className="btn"
                  onClick={() => {
                    setLastSave(null);
                    setEditBase(picture);
                  }}
                >
                  <EditIcon /> Edit
                </button>
              )}
              <a className="btn" href={fileUrl(picture.id)} download={downloadName(picture)}>
                <DownloadIcon /> Download
              </a>
              <button
                type="button"
                className="btn"
                onClick={() => {
                  setSharing('album');
                }}
              >
                <AlbumIcon /> Add to album
              </button>
              {mayChange && (
                <button
                  type="button"
                  className="btn"
                  onClick={() => {
                    setSharing('share');
                  }}
                >
                  <ShareIcon /> Share
                </button>
              )}
              {mayChange && (
                <button
                  type="button"
                  className="btn btn-danger-ghost"
                  onClick={() => {
                    setConfirming(true);
                  }}
                >
                  <TrashIcon /> Delete
                </button>
              )}
            </div>
          </>
        )}
        <Facts picture={picture} />
      </aside>
      <AddToAlbumDialog
        open={sharing === 'album'}
        ids={[picture.id]}
        onClose={() => {
          setSharing(null);
        }}
        onDone={() => {
          setSharing(null);
        }}
      />
      <ShareDialog
        open={sharing === 'share'}
        target="picture"
        targetId={picture.id}
        onClose={() => {
          setSharing(null);
        }}
      />
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
          “{picture.title}” goes to the trash{days === null ? '' : ` for ${days} days`}, at every
          node, and can be restored from there.
        </p>
      </ConfirmDialog>
    </article>
  );
}

function hasMore(key: string): boolean {
  return (recall(key)?.nextCursor ?? null) !== null;
}
