/** A large file of a synced folder from the first peer that has it (FolderPull). */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { PullCounters } from './folder-pull.js';
import type { FolderSyncDeps } from './folder-sync.js';
import { matchesIndexed, type Wanted } from './folder-write.js';
import { diskState } from './disk-state.js';
import { regularFileInside } from './inside-folder.js';
import { fetchLarge } from './large-transfer.js';

/**
 * How a large file's fetch ended: `fetched` (in `tmp`, verified), `lacked` (every peer answered
 * that it does not hold the content; vacuously so without peers), or `failed` (some peer could
 * not be asked, or sent other bytes).
 */
export type LargeFetchOutcome = 'fetched' | 'lacked' | 'failed';

/**
 * A large file from a peer into `tmp`: only the blocks that neither an earlier attempt's temp
 * file nor the older version at the target already hold (large-transfer.ts).
 */
export async function fetchLargeFromPeers(
  deps: FolderSyncDeps,
  counters: PullCounters,
  wanted: Wanted,
  tmp: string,
): Promise<LargeFetchOutcome> {
  const { row, target, hash } = wanted;
  // The older version on disk seeds the temp file, if it is still what was indexed.
  const real = row.localHash !== null ? regularFileInside(deps.config.root, row.path) : null;
  const old = real !== null ? await diskState(real) : null;
  const seed = old?.isFile() === true && matchesIndexed(row, old) ? target : null;
  const file = { folder: deps.config.id, hash, size: row.size };
  let lackedBy = 0;
  const sources = deps.sources();
  for (const peer of sources) {
    const resuming = existsSync(tmp);
    try {
      const result = await fetchLarge(peer, file, tmp, seed);
      counters.fetchedBytes += result.fetchedBytes;
      if (result.done) {
        counters.fetchedFiles++;
        if (result.firstFetchedAt > 0) {
          deps.log.info(
            {
              folder: deps.config.id,
              hash,
              peer: peer.baseUrl,
              fetched: result.fetchedBytes,
              reused: row.size - result.fetchedBytes,
              resumedAt: resuming ? result.firstFetchedAt : undefined,
            },
            resuming ? 'folder fetch resumed and done' : 'folder fetch done: changed blocks only',
          );
        }
        return 'fetched';
      }
      if (result.lacked) lackedBy++;
      await rm(tmp, { force: true });
    } catch (error) {
      deps.log.warn(
        { folder: deps.config.id, peer: peer.baseUrl, err: (error as Error).message },
        'folder fetch failed',
      );
    }
  }
  return lackedBy === sources.length ? 'lacked' : 'failed';
}
