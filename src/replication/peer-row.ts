/**
 * A link's row in the peers table (PeerRepository), kept for the next start, for a scaled
 * site's other processes (known-peers.ts) and for people and tools: the peer's name, URL and
 * source, written at first contact and when they change; when it was last seen and how far it
 * acknowledged our operations, at most every RECORD_EVERY_MS and once more at stop.
 */
import type { Logger } from 'pino';
import type { PeerRepository, PeerSource } from './peer.repository.js';

/**
 * How often a link writes down when its peer was last seen and how far it acknowledged our
 * operations (PeerRepository.record). Both are for people and tools only; what the link does
 * comes from the peer's own answers (its version vector at each hello). Each write is a
 * committed transaction, on SQLite a flush of its log on the event loop: written at every
 * exchange they were 61 flushes of a node sending a 10 000-file folder (docs/benchmarks.md).
 */
export const RECORD_EVERY_MS = 30_000;

/** What the link knows of its peer at this moment. */
export interface PeerSeen {
  readonly nodeId: string | null;
  readonly name: string | null;
  readonly lastSeen: number | null;
  /** How far the peer holds our own operations (its vector's entry for this node). */
  readonly ackedSeq: number;
}

export class PeerRow {
  /** The peer's name, URL and source as last written to the peers table (by this link). */
  private recordedIdentity: string | null = null;
  /** When `lastSeen` and the acknowledged sequence were last written (see RECORD_EVERY_MS). */
  private recordedAt = 0;
  private recording: Promise<void> | null = null;

  constructor(
    private readonly peers: PeerRepository,
    private readonly log: Logger,
    /** The link's view of its peer, read as each write is made. */
    private readonly seen: () => PeerSeen,
  ) {}

  /** After each hello: the peer's name, URL and source. */
  async identify(nodeId: string, name: string, url: string, source: PeerSource): Promise<void> {
    // Written when new or changed only: the other processes of a scaled site read the table
    // (known-peers.ts); a hello every sync interval changes nothing there.
    const identity = JSON.stringify([nodeId, name, url, source]);
    if (identity === this.recordedIdentity) return;
    try {
      await this.peers.upsert({ nodeId, name, url, source, lastSeen: this.seen().lastSeen });
    } catch (err) {
      // This node's failure (its disk full, its database away), not the peer's: the exchange
      // goes on, and the next hello writes the row. Before, it failed the hello, and the link
      // took the peer for down at every retry.
      this.log.warn(
        { err, peer: name },
        'could not record the peer; trying again at its next hello',
      );
      return;
    }
    this.recordedIdentity = identity;
    this.recordedAt = this.seen().lastSeen ?? 0;
  }

  /** The peer answered at `lastSeen`: written when RECORD_EVERY_MS passed since the last write. */
  seenAt(lastSeen: number): void {
    if (lastSeen - this.recordedAt >= RECORD_EVERY_MS) this.record();
  }

  /** Waits for the write under way, then writes what is not written yet (shutdown). */
  async flush(): Promise<void> {
    await this.recording;
    const { lastSeen } = this.seen();
    if (lastSeen !== null && lastSeen > this.recordedAt) this.record();
    await this.recording;
  }

  /** Writes `lastSeen` and the acknowledged sequence, one write at a time; failures logged. */
  private record(): void {
    const { nodeId, lastSeen, ackedSeq } = this.seen();
    // Not before the hello wrote the peer's row (an update would find nothing).
    if (nodeId === null || this.recordedIdentity === null) return;
    if (lastSeen === null || this.recording !== null) return;
    this.recordedAt = lastSeen;
    const seen = { lastSeen, ackedSeq };
    this.recording = this.peers
      .record(nodeId, seen)
      .catch((err: unknown) => {
        this.log.warn({ err, peer: this.seen().name }, 'could not record when the peer was seen');
      })
      .finally(() => {
        this.recording = null;
      });
  }
}
