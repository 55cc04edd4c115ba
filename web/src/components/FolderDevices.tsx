/**
 * The laptops that sync one folder (`mosaic sync`), with when each was last seen at this node,
 * and a way to remove one that is lost, sold or given away: it is refused at every node from
 * then on. The list holds only devices the viewer may remove (their own; an admin's: all).
 */
import { useState } from 'react';
import { api } from '../api/client';
import type { FolderDevice } from '../api/types';
import { useAuth } from '../auth';
import { formatAgo } from '../lib/format';
import { ConfirmDialog, ErrorNote, messageOf } from './common';

export function FolderDevices({
  folder,
  devices,
  now,
  onRemoved,
}: {
  folder: string;
  devices: readonly FolderDevice[];
  now: number;
  onRemoved: () => void;
}) {
  const { handleError } = useAuth();
  const [removing, setRemoving] = useState<FolderDevice | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const remove = async () => {
    if (removing === null) return;
    setBusy(true);
    try {
      await api.removeDevice(folder, removing.id);
      setRemoving(null);
      setError(null);
      onRemoved();
    } catch (e) {
      handleError(e);
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      {devices.length === 0 ? (
        <p className="muted small">No laptop syncs this folder (mosaic sync).</p>
      ) : (
        <ul className="folder-devices small" aria-label="Devices">
          {devices.map((d) => (
            <li key={d.id} data-testid="device">
              <span>
                <strong>{d.name}</strong> <span className="muted">({d.owner})</span>{' '}
                <span className="muted">
                  {d.lastSeen === null
                    ? 'syncs with another node'
                    : `seen here ${formatAgo(d.lastSeen, now)}`}
                </span>
              </span>
              <button
                type="button"
                className="btn btn-small"
                onClick={() => {
                  setRemoving(d);
                }}
                aria-label={`Remove ${d.name}`}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      {error && <ErrorNote error={error} />}
      <ConfirmDialog
        open={removing !== null}
        title={`Remove ${removing?.name ?? 'this device'}?`}
        confirmLabel="Remove"
        danger
        busy={busy}
        onConfirm={() => void remove()}
        onCancel={() => {
          setRemoving(null);
        }}
      >
        <p>
          It stops syncing “{folder}” at every node. What it already sent stays; what it has not
          sent yet never arrives. Its files stay on it.
        </p>
      </ConfirmDialog>
    </>
  );
}
