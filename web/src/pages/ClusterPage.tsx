/**
 * The cluster at a glance: this node and every peer, and every synced folder with the laptops
 * that sync it (`mosaic sync`; an admin sees everyone's, another account its own). When this
 * node stops answering, what is shown is marked as the last known, not left looking current.
 */
import { useCallback, useState } from 'react';
import { api } from '../api/client';
import type { ClusterView, Folder, FolderDevice } from '../api/types';
import { useAuth } from '../auth';
import { ErrorNote, Spinner, messageOf } from '../components/common';
import { useNow, usePolling } from '../hooks';
import { FolderDevices } from '../components/FolderDevices';
import { formatAgo, formatSize, formatTime } from '../lib/format';
import { peerShown } from '../lib/peer-status';

const POLL_MS = 3000;

export function ClusterPage() {
  const { auth, handleError } = useAuth();
  const admin = auth.status === 'signed-in' && auth.user.role === 'admin';
  const [cluster, setCluster] = useState<ClusterView | null>(null);
  const [folders, setFolders] = useState<Folder[] | null>(null);
  const [devices, setDevices] = useState<ReadonlyMap<string, FolderDevice[]>>(new Map());
  const [error, setError] = useState<string | null>(null);
  /** When the last full answer came (what is shown is from then). */
  const [shownAt, setShownAt] = useState<number | null>(null);
  const now = useNow(1000);

  const poll = useCallback(async () => {
    try {
      const [c, f] = await Promise.all([api.cluster(), api.folders()]);
      const d = await Promise.all(f.map((folder) => api.folderDevices(folder.id)));
      setCluster(c);
      setFolders(f);
      setDevices(new Map(f.map((folder, i) => [folder.id, d[i] ?? []])));
      setShownAt(Date.now());
      setError(null);
    } catch (e) {
      handleError(e);
      setError(messageOf(e));
    }
  }, [handleError]);
  usePolling(poll, POLL_MS);

  if (!cluster || !folders) return error ? <ErrorNote error={error} /> : <Spinner />;
  const peers = cluster.peers.map((p) => ({ peer: p, shown: peerShown(p, now) }));
  const up = peers.filter((p) => p.shown.tone === 'up').length;
  const stale = error !== null;

  return (
    <div className="cluster">
      <h1>Cluster</h1>
      <p className="muted lead">
        {cluster.peers.length === 0
          ? 'This node runs alone: it has no peers.'
          : `${up} of ${cluster.peers.length} peer${cluster.peers.length === 1 ? '' : 's'} reachable from ${cluster.self.name}.`}
      </p>
      {stale && (
        <div className="note note-error" role="alert">
          <span>
            This node ({cluster.self.name}) is not answering. What is shown below is from{' '}
            {shownAt === null ? 'before' : formatTime(new Date(shownAt).toISOString(), now)}, and is
            shown again as soon as it answers.
          </span>
        </div>
      )}
      <div className={stale ? 'stale' : undefined} aria-busy={stale}>
        <section aria-label="Nodes">
          <h2>Nodes</h2>
          <ul className="nodes">
            <li className="node-card node-self" data-testid="node">
              <div className="node-top">
                <span className="state state-up">this node</span>
                <strong className="node-name">{cluster.self.name}</strong>
              </div>
              <div className="muted small mono">{cluster.self.url ?? 'no public URL'}</div>
            </li>
            {peers.map(({ peer: p, shown }) => (
              <li key={p.url} className="node-card" data-testid="node">
                <div className="node-top">
                  <span className={`state state-${shown.tone}`}>{shown.label}</span>
                  <strong className="node-name">{p.name ?? 'unknown node'}</strong>
                </div>
                <div className="muted small mono">{p.url}</div>
                <dl className="node-facts">
                  <dt>Last contact</dt>
                  <dd>{formatAgo(p.lastSeen, now)}</dd>
                  <dt>Lag</dt>
                  <dd>
                    {p.lag.ops === 0 && p.lag.bytes === 0
                      ? 'in sync'
                      : `${p.lag.ops} ops · ${formatSize(p.lag.bytes)}`}
                  </dd>
                </dl>
                {shown.note && <p className="small node-note">{shown.note}</p>}
                {shown.detail && (
                  <details className="small muted">
                    <summary>Details</summary>
                    <span className="mono node-error">{shown.detail}</span>
                  </details>
                )}
              </li>
            ))}
          </ul>
        </section>
        <section aria-label="Folders">
          <h2>Synced folders</h2>
          {folders.length === 0 ? (
            <p className="muted">
              {admin
                ? 'This node syncs no folder. A folder is added when the node is started (mosaic node --folder DIR).'
                : 'No synced folder of this node is shared with you.'}
            </p>
          ) : (
            <ul className="nodes">
              {folders.map((f) => (
                <li key={f.id} className="node-card">
                  <div className="node-top">
                    <span className={`state folder-${f.state}`}>{f.state}</span>
                    <strong className="node-name">{f.id}</strong>
                  </div>
                  <div className="muted small mono">{f.path}</div>
                  <dl className="node-facts">
                    <dt>Files</dt>
                    <dd>
                      {f.files} · {formatSize(f.bytes)}
                    </dd>
                    <dt>To fetch</dt>
                    <dd>{f.needFiles === 0 ? 'nothing' : f.needFiles}</dd>
                    <dt>Conflicts</dt>
                    <dd className={f.conflicts > 0 ? 'warn' : undefined}>{f.conflicts}</dd>
                  </dl>
                  <FolderDevices
                    folder={f.id}
                    devices={devices.get(f.id) ?? []}
                    now={now}
                    onRemoved={() => void poll()}
                  />
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </div>
  );
}
