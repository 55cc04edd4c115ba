import type { MetadataStore } from '../storage/metadata/dialect.js';

export type PeerSource = 'static' | 'discovered' | 'inbound';

export interface PeerRecord {
  readonly nodeId: string;
  readonly name: string;
  readonly url: string;
  readonly source: PeerSource;
  readonly ackedSeq: number;
  readonly lastSeen: number | null;
}

/** Peers this site has talked to, and how far each has acknowledged our own operations. */
export class PeerRepository {
  constructor(private readonly store: MetadataStore) {}

  async all(): Promise<PeerRecord[]> {
    return this.store.db
      .selectFrom('peers')
      .select([
        'node_id as nodeId',
        'name',
        'url',
        'source',
        'acked_seq as ackedSeq',
        'last_seen as lastSeen',
      ])
      .execute();
  }

  /** Whether `nodeId` is a peer this site knows. */
  async has(nodeId: string): Promise<boolean> {
    const row = await this.store.db
      .selectFrom('peers')
      .select('node_id')
      .where('node_id', '=', nodeId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async upsert(peer: Omit<PeerRecord, 'ackedSeq'>): Promise<void> {
    const row = { name: peer.name, url: peer.url, source: peer.source, last_seen: peer.lastSeen };
    await this.store.db
      .insertInto('peers')
      .values({ node_id: peer.nodeId, ...row })
      .onConflict((oc) => oc.column('node_id').doUpdateSet(row))
      .execute();
  }

  /**
   * When the peer was last heard from, and how far it has acknowledged our own operations
   * (never moved back), in one statement: a link records them now and then, not at every
   * exchange (peer-row.ts, RECORD_EVERY_MS).
   */
  async record(nodeId: string, seen: { lastSeen: number; ackedSeq: number }): Promise<void> {
    await this.store.db
      .updateTable('peers')
      .set((eb) => ({
        last_seen: seen.lastSeen,
        acked_seq: eb
          .case()
          .when('acked_seq', '<', seen.ackedSeq)
          .then(seen.ackedSeq)
          .else(eb.ref('acked_seq'))
          .end(),
      }))
      .where('node_id', '=', nodeId)
      .execute();
  }
}
