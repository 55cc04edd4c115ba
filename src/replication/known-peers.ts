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
 * The peers as this process knows them, one entry per site: `links` (the leader's, from its
 * Replicator once they run; until then, and in a process that does not lead, the configured
 * peers) and the peers table. A process starts its links only once it listens and has swept the
 * trash and (on a scaled site) checked the store's bytes, and until then its links were all it
 * counted. An event created then included its own site alone: a process that had just taken a
 * scaled site's lead (the scaled fault tier, seed 214266755), or any node just started (the
 * fault tier, seed 51929635). A link not yet identified counts as unknown (creation waits for
 * it) only when no site of the table has its URL.
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
  const unknown = new Map<string, KnownPeer>();
  for (const peer of links) {
    if (peer.id === null && !urls.has(peer.url)) unknown.set(peer.url, peer);
  }
  return [...byId.values(), ...unknown.values()];
}

/**
 * The peers this process was configured with (`--peer`), as not yet identified, but for its own
 * URL (the same list is often given to every node): until its links run (a process that does
 * not lead, or a node that has not started them yet), they make an event's creation wait until
 * the peers table names them, as the links do. Without them an event created then left out the
 * sites not reached yet (the scaled fault tier, seed 322353309).
 */
export function configuredPeers(urls: readonly string[], self: string | null): KnownPeer[] {
  const own = self === null ? null : originOf(self);
  return urls.flatMap((url) => {
    const origin = originOf(url);
    return origin === null || origin === own ? [] : [{ id: null, name: null, url: origin }];
  });
}

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}
