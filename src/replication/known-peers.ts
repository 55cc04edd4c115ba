/**
 * The peers of the site as recorded in the peers table, refreshed every few seconds: what a
 * process of a scaled site that does not lead it (and so keeps no peer links) knows of them,
 * e.g. to coordinate a group event with the other sites.
 */
import type { Logger } from 'pino';
import type { PeerRepository } from './peer.repository.js';

const REFRESH_MS = 2000;

export interface KnownPeer {
  readonly id: string | null;
  readonly name: string | null;
  readonly url: string;
}

export class KnownPeers {
  private list: KnownPeer[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly peers: PeerRepository,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => {
        this.log.warn({ err }, 'could not read the peers table');
      });
    }, REFRESH_MS);
    this.timer.unref();
  }

  private async refresh(): Promise<void> {
    this.list = (await this.peers.all()).map((p) => ({ id: p.nodeId, name: p.name, url: p.url }));
  }

  members(): readonly KnownPeer[] {
    return this.list;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * The peers as this process knows them, one entry per site: the leader's links (with `links`
 * from its Replicator) and the peers table. The table counts even while leading: a process that
 * has just taken the lead starts its links only after checking the store's bytes (seconds on a
 * large bucket), and until then its links were all it counted (an event created then included
 * its own site alone: the scaled fault tier, seed 214266755). A link not yet identified counts
 * as unknown only when no site of the table has its URL.
 */
export function mergeMembers(
  links: readonly KnownPeer[],
  table: readonly KnownPeer[],
): KnownPeer[] {
  const byId = new Map<string, KnownPeer>();
  const urls = new Set<string>();
  for (const peer of [...links, ...table]) {
    if (peer.id === null) continue;
    urls.add(peer.url);
    const seen = byId.get(peer.id);
    // The first entry with a name wins (a link that has not said its name yet does not).
    if (seen === undefined || (seen.name === null && peer.name !== null)) byId.set(peer.id, peer);
  }
  const unknown = links.filter((peer) => peer.id === null && !urls.has(peer.url));
  return [...byId.values(), ...unknown];
}
