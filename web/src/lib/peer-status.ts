/**
 * How the Cluster page shows a peer, in words a family admin reads: the link's state as the
 * node reports it, corrected by time. A node marks a peer down only when an exchange fails, and
 * an exchange with a peer that hangs (a frozen machine, a half-open connection) fails only at
 * its time limit (15 s, after up to one sync interval of 5 s): meanwhile the link still says
 * "up" while its last contact grows. A peer not heard from for SILENT_MS is shown as not
 * answering, whatever the link says.
 */
import type { Peer } from '../api/types';
import { formatAgo } from './format';

/** Longer than a sync interval (5 s) and an exchange's time limit (15 s) together. */
export const SILENT_MS = 20_000;

export type PeerTone = 'up' | 'silent' | 'down' | 'unknown';

export interface PeerShown {
  /** The badge: "up", "not answering", "down", "not reached yet". */
  readonly label: string;
  readonly tone: PeerTone;
  /** A sentence under the facts, or null when all is well. */
  readonly note: string | null;
  /** The node's own error text, for a "Details" line (technical; null when none). */
  readonly detail: string | null;
}

export function peerShown(peer: Peer, now: number): PeerShown {
  const detail = peer.error ?? null;
  const seen = peer.lastSeen === null ? Number.NaN : Date.parse(peer.lastSeen);
  const since = Number.isNaN(seen) ? null : formatAgo(peer.lastSeen, now);
  const catchUp = 'What is added meanwhile reaches it when it answers again.';
  if (peer.state === 'unknown') {
    return { label: 'not reached yet', tone: 'unknown', note: null, detail };
  }
  if (peer.state === 'down') {
    return {
      label: 'down',
      tone: 'down',
      note:
        since === null
          ? `Not reached since this node started. ${catchUp}`
          : `Not answering; last heard from ${since}. ${catchUp}`,
      detail,
    };
  }
  if (since !== null && now - seen > SILENT_MS) {
    return {
      label: 'not answering',
      tone: 'silent',
      note: `Not heard from since ${since}. ${catchUp}`,
      detail,
    };
  }
  return { label: 'up', tone: 'up', note: null, detail };
}
