/**
 * The trash: pictures deleted at any node, kept for the retention, most recently deleted
 * first, a page at a time ("Load more"). Their owner or an admin may restore one (it comes back
 * at every node) or delete it for good now, once they confirm, or select several (a checkbox
 * each, "Select all") and do either to them (`TrashBatch`); "Empty trash" empties everything
 * the person may, all pages, and says how many that is before.
 */
import { useCallback, useEffect, useState } from 'react';
import { library, trashThumbUrl, type TrashItem } from '../../api/library';
import { useAuth } from '../../auth';
import { ConfirmDialog, EmptyState, ErrorNote, messageOf, Spinner } from '../../components/common';
import { RestoreIcon, TrashIcon } from '../../components/icons';
import { formatDate, formatDay, formatSize } from '../../lib/format';
import { canChange } from '../../lib/permissions';
import { TrashBatch } from './TrashBatch';

export function TrashPage() {
  const { auth, handleError } = useAuth();
  const user = auth.status === 'signed-in' ? auth.user : null;
  const [items, setItems] = useState<TrashItem[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [counts, setCounts] = useState({ total: 0, yours: 0 });
  const [loadingMore, setLoadingMore] = useState(false);
  const [days, setDays] = useState(30);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [confirm, setConfirm] = useState(false);
  /** The picture "Delete for good" asks about. */
  const [purging, setPurging] = useState<TrashItem | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  /** Ids of the selected pictures (those no longer listed are ignored). */
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());

  const load = useCallback(async () => {
    try {
      const trash = await library.trash();
      setItems(trash.items);
      setNextCursor(trash.nextCursor);
      setCounts({ total: trash.total, yours: trash.yours });
      setDays(trash.retentionDays);
      setError(null);
    } catch (e) {
      handleError(e);
      setError(messageOf(e));
    }
  }, [handleError]);
  useEffect(() => {
    void load();
  }, [load]);

  const more = async () => {
    if (nextCursor === null) return;
    setLoadingMore(true);
    try {
      const trash = await library.trash(nextCursor);
      // A picture may have moved between pages (deleted again meanwhile): shown once.
      setItems((shown) => {
        const ids = new Set((shown ?? []).map((t) => t.id));
        return [...(shown ?? []), ...trash.items.filter((t) => !ids.has(t.id))];
      });
      setNextCursor(trash.nextCursor);
      setCounts({ total: trash.total, yours: trash.yours });
    } catch (e) {
      handleError(e);
      setError(messageOf(e));
    } finally {
      setLoadingMore(false);
    }
  };

  const act = async <T,>(
    id: string,
    run: () => Promise<T>,
    done: string | ((result: T) => string),
  ) => {
    setBusy(id);
    try {
      const result = await run();
      setNote(typeof done === 'string' ? done : done(result));
      await load();
    } catch (e) {
      handleError(e);
      setError(messageOf(e));
    } finally {
      setBusy(null);
    }
  };

  const changeable = (items ?? []).filter((t) => canChange(user, t));
  const chosen = changeable.filter((t) => selected.has(t.id));
  const toggle = (id: string, on: boolean) => {
    setSelected((s) => {
      const next = new Set(s);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  };

  return (
    <div className="trash-page">
      <div className="title-row">
        <h1>Trash</h1>
        {counts.yours > 0 && (
          <button
            type="button"
            className="btn btn-small btn-danger-ghost"
            onClick={() => {
              setConfirm(true);
            }}
          >
            <TrashIcon /> Empty trash
          </button>
        )}
      </div>
      <p className="muted">
        Deleted pictures stay here for {days} days at every node, then they are gone for good.
        {counts.total > 0 &&
          ` ${counts.total} in the trash${user?.role !== 'admin' && counts.yours < counts.total ? `, ${counts.yours} of them yours` : ''}.`}
      </p>
      {note && (
        <p className="note" role="status">
          {note}
        </p>
      )}
      {error && <ErrorNote error={error} onRetry={() => void load()} />}
      <TrashBatch
        chosen={chosen}
        selectable={changeable.length}
        disabled={busy !== null}
        onSelectAll={(all) => {
          setSelected(new Set(all ? changeable.map((t) => t.id) : []));
        }}
        onStart={() => {
          setBusy('selection');
          setNote(null);
          setError(null);
        }}
        onFinished={(done, failed) => {
          setSelected(new Set());
          // After the reload, which clears the error of an earlier load.
          void load().finally(() => {
            setNote(done);
            if (failed) setError(failed);
            setBusy(null);
          });
        }}
      />
      {items === null ? (
        !error && <Spinner />
      ) : items.length === 0 ? (
        <EmptyState title="The trash is empty" icon={<TrashIcon />} />
      ) : (
        <ul className="trash-list" aria-label="Deleted pictures">
          {items.map((t) => (
            <li key={t.id} className="trash-item card" data-testid="trash-item">
              {canChange(user, t) && (
                <input
                  type="checkbox"
                  className="trash-check"
                  aria-label={`Select ${t.title || 'Untitled'}`}
                  checked={selected.has(t.id)}
                  disabled={busy !== null}
                  onChange={(e) => {
                    toggle(t.id, e.target.checked);
                  }}
                />
              )}
              <TrashThumb item={t} />
              <span className="trash-text">
                <span className="trash-title">{t.title || 'Untitled'}</span>
                <span className="muted small">
                  {t.owner} · {formatSize(t.size)} · deleted {formatDate(t.deletedAt)}
                </span>
                <span className="muted small">Gone for good after {formatDay(t.purgeAt)}</span>
              </span>
              {canChange(user, t) && (
                <span className="trash-actions">
                  <button
                    type="button"
                    className="btn btn-small"
                    aria-label={`Restore ${t.title}`}
                    disabled={busy !== null}
                    onClick={() =>
                      void act(
                        t.id,
                        () => library.restore(t.id),
                        `“${t.title}” is back in the gallery.`,
                      )
                    }
                  >
                    <RestoreIcon /> Restore
                  </button>
                  <button
                    type="button"
                    className="btn btn-small btn-danger-ghost"
                    aria-label={`Delete ${t.title} for good`}
                    disabled={busy !== null}
                    onClick={() => {
                      setPurging(t);
                    }}
                  >
                    Delete for good
                  </button>
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
      {nextCursor !== null && (
        <div className="more">
          <button type="button" className="btn" disabled={loadingMore} onClick={() => void more()}>
            {loadingMore ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
      <ConfirmDialog
        open={confirm}
        title={`Empty the trash (${counts.yours})?`}
        confirmLabel="Empty trash"
        danger
        onConfirm={() => {
          setConfirm(false);
          // The empty state below says the trash is empty; this says what went.
          void act(
            '*',
            () => library.emptyTrash(),
            ({ purged }) => `${purged} ${purged === 1 ? 'picture' : 'pictures'} removed for good.`,
          );
        }}
        onCancel={() => {
          setConfirm(false);
        }}
      >
        <p>
          {user?.role === 'admin'
            ? 'Everyone’s deleted pictures are removed for good at every node, not only yours.'
            : counts.yours < counts.total
              ? `Your ${counts.yours} deleted ${counts.yours === 1 ? 'picture is' : 'pictures are'} removed for good at every node; the ${counts.total - counts.yours} of other people stay.`
              : 'These pictures are removed for good at every node.'}{' '}
          This cannot be undone.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={purging !== null}
        title={`Delete “${purging?.title || 'Untitled'}” for good?`}
        confirmLabel="Delete for good"
        danger
        onConfirm={() => {
          const t = purging;
          setPurging(null);
          if (t) void act(t.id, () => library.purge(t.id), `“${t.title}” is gone for good.`);
        }}
        onCancel={() => {
          setPurging(null);
        }}
      >
        <p>It is removed at every node and can no longer be restored. This cannot be undone.</p>
      </ConfirmDialog>
    </div>
  );
}

/** The kept small thumbnail, or a striped shape of the picture's proportions without one. */
function TrashThumb({ item }: { item: TrashItem }) {
  const [failed, setFailed] = useState(false);
  const shape = { aspectRatio: `${item.width} / ${item.height}` };
  if (failed) return <span className="trash-shape" style={shape} aria-hidden="true" />;
  return (
    <img
      className="trash-shape"
      style={shape}
      src={trashThumbUrl(item.id)}
      alt=""
      loading="lazy"
      onError={() => {
        setFailed(true);
      }}
    />
  );
}
