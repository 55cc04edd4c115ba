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
