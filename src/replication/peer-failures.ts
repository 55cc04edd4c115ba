/**
 * What a failed exchange with a peer was (PeerLink): the peer refused this node's requests
 * (401, and which setting to fix), the peer itself answered with an error, or this node's own
 * side failed (`local`, `LocalFailure`). The link keeps the peer up or marks it down by these.
 */
import { PeerError } from './peer-client.js';

export type Refusal = 'key' | 'clock' | 'other';

export const REFUSAL_HINTS: Record<Refusal, string> = {
  key: 'the two nodes have different cluster keys: give both the same --cluster-key',
  clock: "the two machines' clocks are too far apart: set both by NTP",
  other: 'see the peer’s log for why it refused',
};

/** Why a peer refused a request with 401 (its message says), or null for any other failure. */
export function refusalOf(error: unknown): Refusal | null {
  if (!(error instanceof PeerError) || error.status !== 401) return null;
  if (error.message.includes('bad signature')) return 'key';
  if (error.message.includes('replay window')) return 'clock';
  return 'other';
}

/**
 * Whether the peer itself answered the request that failed (an HTTP error of its own, a
 * malformed answer). 502, 503 and 504 are a gateway's or a node's way of saying it cannot
 * serve (a scaled site's load balancer with no process behind it): the peer counts as down, so
 * that another route to it is tried (Replicator.noteInbound).
 */
export function answered(error: unknown): boolean {
  return (
    error instanceof PeerError &&
    error.status !== null &&
    error.status !== 502 &&
    error.status !== 503 &&
    error.status !== 504
  );
}

/**
 * A failure of this node's own side of an exchange (see PeerLink.markStalled), wrapping its
 * cause.
 */
export class LocalFailure extends Error {
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/** `work`, its failure marked as this node's own. */
export async function local<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw new LocalFailure(error);
  }
}
