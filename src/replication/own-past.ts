/**
 * This node's own lost past, as one peer shows it (PeerLink, at each hello): the peer's vector
 * entry for this node against the op clock. A node put back to an older copy of its data keeps
 * its id, and its peers hold operations of it that its log lacks ("A node put back to an older
 * copy of its data", docs/architecture.md).
 */
import type { Logger } from 'pino';
import type { ChangeLog } from '../oplog/change-log.js';
import { local } from './peer-failures.js';

export class OwnPast {
  /** The most of our own operations this peer was seen to hold. */
  private seenAtPeer = 0;

  constructor(
    private readonly changes: ChangeLog,
    private readonly log: Logger,
  ) {}

  /**
   * The peer holds our own operations up to `atPeer`. More than our clock ever gave: our data
   * is older than what we had sent (restored from a backup or a snapshot, or a disk that lost
   * its last writes). Left so, our next operations took numbers the peers hold already and
   * were refused everywhere, and the operations we lost never came back: the clock moves past
   * them (ChangeLog.ownPastAt) and the pull takes them back. Said once, as an error: what was
   * made here since the restore and before this may have been refused (conflicts). Returns
   * whether the link is to pull them back.
   */
  async seenAt(
    atPeer: number,
    peer: { readonly name: string | null; readonly url: string },
  ): Promise<boolean> {
    if (atPeer <= this.seenAtPeer || !Number.isSafeInteger(atPeer)) return false;
    const had = await local(this.changes.ownPastAt(atPeer));
    // Only once it is known (a database that failed to answer is asked at the next hello).
    this.seenAtPeer = atPeer;
    if (had === null) return false;
    this.log.error(
      { peer: peer.name, url: peer.url, ownSeq: had, atPeer },
      `this node's data is older than what it had sent: the peer holds its operations up to ` +
        `#${atPeer}, its own log ends at #${had} (restored from a backup or a snapshot?). ` +
        `It takes them back from its peers and numbers its next operations after them`,
    );
    return true;
  }
}
