import type { Db } from '../db/database.js';

export type PeerSource = 'static' | 'discovered' | 'inbound';

export interface PeerRecord {
  readonly nodeId: string;
  readonly name: string;
  readonly url: string;
  readonly source: PeerSource;
  readonly ackedSeq: number;
  readonly lastSeen: number | null;
}

/** Peers this node has talked to, and how far each has acknowledged our own operations. */
export class PeerRepository {
  private readonly allStmt;
  private readonly upsertStmt;
  private readonly ackStmt;
  private readonly seenStmt;

  constructor(db: Db) {
    this.allStmt = db.prepare(
      'SELECT node_id AS nodeId, name, url, source, acked_seq AS ackedSeq, last_seen AS lastSeen FROM peers',
    );
    this.upsertStmt = db.prepare(`
      INSERT INTO peers (node_id, name, url, source, last_seen) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (node_id) DO UPDATE SET name = excluded.name, url = excluded.url,
        source = excluded.source, last_seen = excluded.last_seen`);
    this.ackStmt = db.prepare('UPDATE peers SET acked_seq = MAX(acked_seq, ?) WHERE node_id = ?');
    this.seenStmt = db.prepare('UPDATE peers SET last_seen = ? WHERE node_id = ?');
  }

  all(): PeerRecord[] {
    return this.allStmt.all() as PeerRecord[];
  }

  upsert(peer: Omit<PeerRecord, 'ackedSeq'>): void {
    this.upsertStmt.run(peer.nodeId, peer.name, peer.url, peer.source, peer.lastSeen);
  }

  ack(nodeId: string, seq: number): void {
    this.ackStmt.run(seq, nodeId);
  }

  seen(nodeId: string, at: number): void {
    this.seenStmt.run(at, nodeId);
  }
}
