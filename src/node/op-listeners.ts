/**
 * Where a process's committed operations go, wired once at start: the other processes of the
 * site (the teller), the peers (the replicator pushes them), the bytes they name (blob sync),
 * the trash, the live feed, and the folder a peer's file change is in (its pull runs sooner).
 * Operations refused as they arrived are logged.
 */
import type { Logger } from 'pino';
import type { FolderSync } from '../folders/folder-sync.js';
import type { LiveFeed } from '../http/live-feed.js';
import type { ChangeLog } from '../oplog/change-log.js';
import type { TrashService } from '../pictures/trash.service.js';
import type { BlobSync } from '../replication/blob-sync.js';
import type { Replicator } from '../replication/replicator.js';
import type { SiteTeller } from './site.js';

export function routeCommittedOps(
  changes: ChangeLog,
  to: {
    readonly selfId: string;
    readonly teller: SiteTeller;
    readonly replicator: Replicator | null;
    readonly blobSync: BlobSync;
    readonly trash: TrashService;
    readonly live: LiveFeed;
    readonly folders: ReadonlyMap<string, FolderSync>;
    readonly log: Logger;
  },
): void {
  changes.onRejected((rejected) => {
    to.log.warn({ rejected: rejected.slice(0, 10), count: rejected.length }, 'operations refused');
  });
  changes.onOps((ops) => {
    to.teller.committed(ops);
    to.replicator?.onOps(ops);
    to.blobSync.handleOps(ops);
    to.trash.onOps(ops);
    to.live.onOps(ops);
    for (const op of ops) {
      if (op.body.kind === 'file.put' && op.origin !== to.selfId) {
        to.folders.get(op.body.folder)?.onRemoteChange();
      }
    }
  });
}
