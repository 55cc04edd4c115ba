/**
 * Several pictures of the trash at once: "Select all" (those the person may change, as loaded),
 * then restore or delete for good the selection (after a confirmation). There is no batch route:
 * the one-picture routes are called one after another, and a partial failure says how many of
 * how many failed and why.
 */
import { useState } from 'react';
import { library, type TrashItem } from '../../api/library';
import { ConfirmDialog } from '../../components/common';
import { RestoreIcon } from '../../components/icons';
import { failureSummary, runBulk } from '../../lib/bulk';

const pictures = (n: number) => `${n} ${n === 1 ? 'picture' : 'pictures'}`;

export function TrashBatch({
  chosen,
  selectable,
  disabled,
  onSelectAll,
  onStart,
  onFinished,
}: {
  /** The selected pictures. */
  chosen: readonly TrashItem[];
  /** How many loaded pictures may be selected. */
  selectable: number;
  disabled: boolean;
  onSelectAll: (all: boolean) => void;
  onStart: () => void;
  /** What went (a note, or null) and what failed (or null); the page reloads. */
  onFinished: (note: string | null, error: string | null) => void;
}) {
  const [confirm, setConfirm] = useState(false);
  const [working, setWorking] = useState<string | null>(null);
  const count = chosen.length;
  const all = selectable > 0 && count === selectable;

  const run = async (
    action: (id: string) => Promise<unknown>,
    verb: string,
    done: (n: number) => string,
  ) => {
    const ids = chosen.map((t) => t.id);
    onStart();
    setWorking(`0 of ${ids.length}`);
    const result = await runBulk(ids, action, {
      concurrency: 1,
      onProgress: (finished, total) => {
        setWorking(`${finished} of ${total}`);
      },
    });
    setWorking(null);
    onFinished(
      result.done.length > 0 ? done(result.done.length) : null,
      failureSummary(result, verb),
    );
  };

  if (selectable === 0) return null;
  return (
    <div className="trash-batch" role="toolbar" aria-label="Selected pictures">
      <label className="trash-select-all">
        <input
          type="checkbox"
          checked={all}
          disabled={disabled}
          onChange={(e) => {
            onSelectAll(e.target.checked);
          }}
        />
        Select all
      </label>
      <span className="muted small" data-testid="trash-selected" role="status">
        {working !== null ? `Working… ${working}` : count > 0 ? `${count} selected` : ''}
      </span>
      {count > 0 && (
        <span className="trash-actions">
          <button
            type="button"
            className="btn btn-small"
            disabled={disabled}
            onClick={() =>
              void run(
                (id) => library.restore(id),
                'restored',
                (n) => `${pictures(n)} back in the gallery.`,
              )
            }
          >
            <RestoreIcon /> Restore {count}
          </button>
          <button
            type="button"
            className="btn btn-small btn-danger-ghost"
            disabled={disabled}
            onClick={() => {
              setConfirm(true);
            }}
          >
            Delete {count} for good
          </button>
        </span>
      )}
      <ConfirmDialog
        open={confirm}
        title={`Delete ${pictures(count)} for good?`}
        confirmLabel="Delete for good"
        danger
        onConfirm={() => {
          setConfirm(false);
          void run(
            (id) => library.purge(id),
            'deleted',
            (n) => `${pictures(n)} removed for good.`,
          );
        }}
        onCancel={() => {
          setConfirm(false);
        }}
      >
        <p>
          The selected pictures are removed at every node and can no longer be restored. This cannot
          be undone.
        </p>
      </ConfirmDialog>
    </div>
  );
}
