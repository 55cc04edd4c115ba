/**
 * The viewer: one picture on a dark stage, previous/next by arrow keys, the on-screen arrows
 * or a swipe, zoom by wheel, pinch or double click, the full-resolution original on demand,
 * neighbours preloaded. Beside it the picture's info (with the node it came from), download,
 * in-place editing and delete for its owner or an admin. Esc goes back to the gallery it was
 * opened from, at the same place. Its URL (`/p/<id>?category=…&q=…`) names the picture and
 * the gallery's filter. It follows the live feed: edited at any node, the picture is fetched
 * again (an open edit form keeps its draft); deleted, the page says so and leads to the trash.
 */
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { api, fileUrl, thumbUrl } from '../api/client';
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
import { contextOf, forget, galleryHref, pictureHref, remember } from '../gallery-memory';
import { aspectOf } from '../lib/justify';
import { canChange } from '../lib/permissions';
import { Link, navigate, useLocation } from '../router';
import { useLivePicture } from './useLivePicture';
import { useViewerNeighbours } from './useViewerNeighbours';

/** Zoomed in this far, the large preview (1600 px) runs out of detail: load the original. */
const ORIGINAL_AT_SCALE = 2;

export function PicturePage({ id }: { id: string }) {
  const { auth, handleError } = useAuth();
  const { search } = useLocation();
  const { category, q, album } = contextOf(search);
  const back = galleryHref(category, q, album);
  const { prev, next, more, position, listed } = useViewerNeighbours(
    id,
    back,
    { category, q, album },
    handleError,
  );
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
    () => listed,
    () => {
      setEditBase(null);
      setConfirming(false);
      setSharing(null);
    },
  );

  const go = useCallback(
    (to: Picture | undefined) => {
      if (to) navigate(pictureHref(to.id, category, q, album), { replace: true });
    },
    [category, q, album],
  );
  // A step past the end of what is loaded (a key, the arrow or a swipe while the next page
  // comes) is taken when it arrives, not dropped; a step elsewhere meanwhile cancels it.
  const [forwardFrom, setForwardFrom] = useState<string | null>(null);
  const forward = useCallback(() => {
    if (next) go(next);
    else if (more) setForwardFrom(id);
  }, [next, more, id, go]);
  useEffect(() => {
    if (forwardFrom === null) return;
    if (forwardFrom !== id) setForwardFrom(null);
    else if (next) {
      setForwardFrom(null);
      go(next);
    }
  }, [forwardFrom, id, next, go]);
  const close = useCallback(() => {
    remember(back, { lastViewed: id });
    navigate(back);
  }, [back, id]);

  // Keys: arrows walk, Escape closes (the edit form and the dialog handle their own Escape).
  // A layout effect: bound in the same commit that shows the picture, so a key pressed as soon
  // as it shows moves on from it (a passive effect, run after paint, left the last picture's
  // keys bound for a moment on a busy machine: the press went nowhere).
  useLayoutEffect(() => {
    if (editing || confirming || sharing) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
      const target = event.target as HTMLElement | null;
      if (target?.closest('input, textarea, select')) return;
      if (event.key === 'Escape') close();
      else if (event.key === 'ArrowLeft') go(prev);
      else if (event.key === 'ArrowRight') forward();
      else return;
      event.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => {
      window.removeEventListener('keydown', onKey);
    };
  }, [editing, confirming, sharing, close, go, prev, forward]);

  const user = auth.status === 'signed-in' ? auth.user : null;
  const mayChange = picture !== null && canChange(user, picture);
  const days = useRetentionDays(confirming);
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
            if (direction === 'next') forward();
            else go(prev);
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
          {(next ?? more) && (
            <button
              type="button"
              className="viewer-nav viewer-next"
              aria-label="Next picture"
              onClick={() => {
                forward();
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
