/**
 * The bar shown while pictures are selected: how many, download them as one zip, set their
 * category, delete them. Each change is one request per picture with the existing endpoints, a
 * few at a time, with a progress bar and, at the end, one sentence for what failed. The zip is
 * streamed by the node: a plain link for up to 200 pictures (the browser writes it to disk as
 * it comes), a POST read into memory beyond. Deleted pictures go to the trash, and the delete
 * dialog says for how long. Sharing, the category and deleting are offered for the pictures the
 * person may change (their own, or any for an admin; the server refuses the rest): with others'
 * pictures among the selection, those are left as they are and the dialog says so.
 */
import { useEffect, useState } from 'react';
import { api, jsonRequest, zipUrl, ZIP_LINK_MAX } from '../api/client';
import type { Picture } from '../api/types';
import { failureSummary, runBulk, type BulkResult } from '../lib/bulk';
import { ConfirmDialog, ProgressBar } from './common';
import { AlbumIcon, CloseIcon, DownloadIcon, ShareIcon, TagIcon, TrashIcon } from './icons';
import { AddToAlbumDialog, ShareDialog } from './LibraryDialogs';

type Busy = { readonly verb: string; readonly finished: number; readonly total: number } | null;

export function SelectionBar({
  ids,
  changeable,
  onClear,
  onDeleted,
  onUpdated,
  onError,
}: {
  ids: readonly string[];
  /** The selected pictures this person may change (share, set the category, delete). */
  changeable: readonly string[];
  onClear: () => void;
  onDeleted: (ids: string[]) => void;
  onUpdated: (pictures: Picture[]) => void;
  onError: (error: unknown) => void;
}) {
  const [dialog, setDialog] = useState<'delete' | 'category' | 'album' | 'share' | null>(null);
  const [category, setCategory] = useState('');
  const [busy, setBusy] = useState<Busy>(null);
  /** What went wrong (an alert). */
  const [summary, setSummary] = useState<string | null>(null);
  /** What went right (a status, not styled as an error). */
  const [done, setDone] = useState<string | null>(null);
  const days = useRetentionDays(dialog === 'delete');
  const clearOutcome = () => {
    setSummary(null);
    setDone(null);
  };

  const run = async (
    verb: string,
    action: (id: string) => Promise<unknown>,
  ): Promise<BulkResult> => {
    setDialog(null);
    clearOutcome();
    setBusy({ verb, finished: 0, total: changeable.length });
    const result = await runBulk(changeable, action, {
      onProgress: (finished, total) => {
        setBusy({ verb, finished, total });
      },
    });
    setBusy(null);
    setSummary(failureSummary(result, verb));
    return result;
  };

  const remove = async () => {
    const result = await run('deleted', (id) =>
      api.deletePicture(id).catch((e: unknown) => {
        onError(e);
        throw e;
      }),
    );
    onDeleted(result.done);
  };

  const setAll = async () => {
    const value = category.trim();
    const updated: Picture[] = [];
    await run('changed', async (id) => {
      try {
        updated.push(await api.updatePicture(id, { category: value }));
      } catch (e) {
        onError(e);
        throw e;
      }
    });
    onUpdated(updated);
  };

  const download = async () => {
    clearOutcome();
    if (ids.length <= ZIP_LINK_MAX) {
      saveAs(zipUrl(ids), '');
      return;
    }
    setBusy({ verb: 'zipped', finished: 0, total: ids.length });
    try {
      const res = await fetch('/api/pictures/zip', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ids }),
      });
      if (!res.ok) throw new Error(`The zip could not be made (${res.status}).`);
      const url = URL.createObjectURL(await res.blob());
      saveAs(url, 'pictures.zip');
      setTimeout(() => {
        URL.revokeObjectURL(url);
      }, 60_000);
    } catch (e) {
      onError(e);
      setSummary(e instanceof Error ? e.message : 'The zip could not be made.');
    } finally {
      setBusy(null);
    }
  };

  const count = ids.length;
  const mine = changeable.length;
  const plural = mine === 1 ? 'picture' : 'pictures';
  const they = mine === 1 ? 'It goes' : 'They go';
  /** Said in the dialogs when some of the selection is someone else's. */
  const othersNote =
    mine < count ? (
      <p className="muted">
        {count - mine} of the {count} selected {count - mine === 1 ? 'is' : 'are'} someone else’s
        and {count - mine === 1 ? 'stays' : 'stay'} as {count - mine === 1 ? 'it is' : 'they are'}.
      </p>
    ) : null;
  return (
    <div className="selection-bar" role="toolbar" aria-label="Selected pictures">
      <button
        type="button"
        className="btn btn-ghost btn-icon"
        onClick={onClear}
        aria-label="Clear the selection"
        disabled={busy !== null}
      >
        <CloseIcon />
      </button>
      <span className="selection-count" aria-live="polite">
        {count} selected
      </span>
      {busy ? (
        <span className="selection-progress">
          <ProgressBar value={busy.finished / busy.total} label="Progress" />
          <span className="muted">
            {busy.finished} / {busy.total}
          </span>
        </span>
      ) : summary ? (
        <span className="selection-summary" role="alert">
          {summary}
        </span>
      ) : (
        done && (
          <span className="selection-done" role="status">
            {done}
          </span>
        )
      )}
      <span className="selection-actions">
        <button
          type="button"
          className="btn btn-small"
          aria-label="Download"
          disabled={busy !== null || count === 0}
          onClick={() => void download()}
        >
          <DownloadIcon /> <span className="label">Download</span>
        </button>
        <button
          type="button"
          className="btn btn-small"
          aria-label="Add to album"
          disabled={busy !== null || count === 0}
          onClick={() => {
            clearOutcome();
            setDialog('album');
          }}
        >
          <AlbumIcon /> <span className="label">Add to album</span>
        </button>
        {count === 1 && mine === 1 && (
          <button
            type="button"
            className="btn btn-small"
            aria-label="Share"
            disabled={busy !== null}
            onClick={() => {
              setDialog('share');
            }}
          >
            <ShareIcon /> <span className="label">Share</span>
          </button>
        )}
        {mine > 0 && (
          <>
            <button
              type="button"
              className="btn btn-small"
              aria-label="Set category"
              disabled={busy !== null}
              onClick={() => {
                setDialog('category');
              }}
            >
              <TagIcon /> <span className="label">Set category</span>
            </button>
            <button
              type="button"
              className="btn btn-small btn-danger-ghost"
              aria-label="Delete"
              disabled={busy !== null}
              onClick={() => {
                setDialog('delete');
              }}
            >
              <TrashIcon /> <span className="label">Delete</span>
            </button>
          </>
        )}
      </span>
      <AddToAlbumDialog
        open={dialog === 'album'}
        ids={ids}
        onClose={() => {
          setDialog(null);
        }}
        onDone={(album) => {
          setDialog(null);
          setDone(`Added to “${album.name}”.`);
        }}
      />
      {count === 1 && mine === 1 && ids[0] !== undefined && (
        <ShareDialog
          open={dialog === 'share'}
          target="picture"
          targetId={ids[0]}
          onClose={() => {
            setDialog(null);
          }}
        />
      )}
      <ConfirmDialog
        open={dialog === 'delete'}
        title={`Delete ${mine} ${plural}?`}
        confirmLabel="Delete"
        danger
        onConfirm={() => void remove()}
        onCancel={() => {
          setDialog(null);
        }}
      >
        <p>
          {they} to the trash{days === null ? '' : ` for ${days} days`}, at every node, and can be
          restored from there.
        </p>
        {othersNote}
      </ConfirmDialog>
      <ConfirmDialog
        open={dialog === 'category'}
        title={`Category for ${mine} ${plural}`}
        confirmLabel="Set category"
        onConfirm={() => void setAll()}
        onCancel={() => {
          setDialog(null);
        }}
      >
        <label className="field">
          <span>Category (empty for none)</span>
          <input
            name="bulk-category"
            value={category}
            maxLength={64}
            onChange={(e) => {
              setCategory(e.target.value);
            }}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                void setAll();
              }
            }}
          />
        </label>
        {othersNote}
      </ConfirmDialog>
    </div>
  );
}

let retention: Promise<number> | null = null;

/**
 * How many days a deleted picture stays in the trash (`retentionDays` of `GET /api/trash`),
 * asked once `active` and then kept for the page's life; null until known.
 */
export function useRetentionDays(active: boolean): number | null {
  const [days, setDays] = useState<number | null>(null);
  useEffect(() => {
    if (!active) return;
    let cancelled = false;
    retention ??= jsonRequest()<{ retentionDays: number }>('GET', '/api/trash?limit=1').then(
      (trash) => trash.retentionDays,
    );
    const asked = retention;
    asked.then(
      (value) => {
        if (!cancelled) setDays(value);
      },
      () => {
        // Said without the number; asked again next time.
        if (retention === asked) retention = null;
      },
    );
    return () => {
      cancelled = true;
    };
  }, [active]);
  return days;
}

/** Starts a download of `href` (same origin) without leaving the page. */
function saveAs(href: string, name: string): void {
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}
