/**
 * Small files from peers for a pull round (FolderPull.applyFiles), many per request: split into
 * requests (`requestGroups`), each group's request sent while the group before is read
 * (prefetch.ts), each frame verified and written as it arrives (small-writes.ts). What every peer
 * refused in a batch is asked for once more one file at a time (`fetchOne`, FolderPull's
 * resumable route); the rest is stalled.
 */
import type { ContentSource } from './content-source.js';
import type { FolderFileRow } from './folder-index.repository.js';
import type { PullCounters } from './folder-pull.js';
import type { FolderSyncDeps } from './folder-sync.js';
import type { FolderWriter, Wanted } from './folder-write.js';
import { prefetch, requestGroups, wantedOf, type Prefetched } from './prefetch.js';
import { SmallWrites } from './small-writes.js';
import { span, timed } from './trace.js';
import type { UnobtainableCopies } from './unobtainable-copies.js';

/** Files a pull asks for one at a time after every peer refused them in a batch. */
const SINGLE_RETRIES = 32;

/** What SmallPull needs of its FolderPull. */
export interface SmallPullHost {
  readonly deps: Pick<FolderSyncDeps, 'sources' | 'log' | 'config'>;
  readonly folder: string;
  /** Puts each batch's flushed files at their paths (`placeLogged`), logged first (`logLinks`). */
  readonly writer: Pick<FolderWriter, 'logLinks' | 'placeLogged'>;
  /** Bytes and files fetched from peers. */
  readonly counters: PullCounters;
  readonly unobtainable: UnobtainableCopies;
  /** Runs `work` for `row`, its errors logged and the row stalled, not thrown. */
  guarded(row: FolderFileRow, work: () => Promise<void>): Promise<void>;
  /**
   * One file by the resumable route (peer-fetch.ts), placed; stalled with `noPeer` when no peer
   * could send it. Errors are logged, not thrown (FolderPull.guarded).
   */
  fetchOne(wanted: Wanted, noPeer: string): Promise<void>;
  /** The file stays needed, for `reason` (pull-stalls.ts). */
  stall(row: FolderFileRow, reason: string): void;
}

export class SmallPull {
  /** The files received, written, flushed in batches and linked (small-writes.ts). */
  private readonly smallWrites: SmallWrites;

  constructor(private readonly host: SmallPullHost) {
    const { deps, folder, writer, counters } = host;
    this.smallWrites = new SmallWrites({
      root: deps.config.root,
      aboutToPlace: (files) => {
        writer.logLinks(files);
      },
      placeAll: (files) => writer.placeLogged(files, (row, work) => host.guarded(row, work)),
      wrongContent: (wanted) => {
        deps.log.warn({ folder, path: wanted.row.path }, 'peer sent wrong content');
        host.stall(wanted.row, 'peer sent wrong content');
      },
      failed: (wanted, error) => {
        deps.log.warn(
          {
            folder,
            path: wanted.row.path,
            code: (error as NodeJS.ErrnoException).code,
            err: (error as Error).message,
          },
          'could not apply a change',
        );
      },
      written: (bytes) => {
        counters.fetchedBytes += bytes;
        counters.fetchedFiles++;
      },
    });
  }

  /**
   * Brings small files (distinct contents) from peers, group by group; returns once every file
   * written is flushed and linked (`smallWrites.settle`), before the caller records the round.
   */
  async fetch(small: readonly Wanted[]): Promise<void> {
    const groups = requestGroups(small);
    // The next group's request, sent once the current one's first frame is in (prefetch.ts).
    const ahead: { next: Prefetched | null } = { next: null };
    try {
      for (const [g, group] of groups.entries()) {
        const mine = ahead.next;
        ahead.next = null;
        const following = groups[g + 1];
        const sendNext =
          following === undefined
            ? null
            : (peer: ContentSource) => {
                ahead.next = prefetch(
                  peer,
                  this.host.folder,
                  wantedOf(following),
                  this.smallWrites.allocate,
                );
              };
        await timed('pull.fetchSmall', () => this.fetchGroup(group, mine, sendNext), group.length);
      }
    } finally {
      ahead.next?.cancel();
      // The last batches' flush and links, which ran behind the next requests (small-writes.ts).
      await timed('pull.settle', () => this.smallWrites.settle());
    }
  }

  /**
   * Small files from peers, many per request. Each frame is verified as it arrives and written
   * while the next ones come in; what one peer lacks is asked of the next. Returns with the last
   * files possibly not yet flushed and linked: the caller settles `smallWrites`. `ahead` is this
   * group's request already sent (used if its peer is still the first); `sendNext` sends the next
   * group's, called with the first peer once its first frame for this group is in.
   */
  private async fetchGroup(
    group: readonly Wanted[],
    ahead: Prefetched | null,
    sendNext: ((peer: ContentSource) => void) | null,
  ): Promise<void> {
    const { deps, folder } = this.host;
    const { smallWrites } = this;
    let pending = [...group];
    let answered = false;
    const sources = deps.sources();
    if (ahead !== null && ahead.peer !== sources[0]) {
      ahead.cancel();
      ahead = null;
    }
    /** Per content: how many peers answered that they lack it. */
    const lackedBy = new Map<string, number>();
    for (const peer of sources) {
      if (pending.length === 0) break;
      const byHash = new Map(pending.map((w) => [w.hash, w]));
      const lacking: Wanted[] = [];
      try {
        let endWait: (() => void) | null = span('pull.firstFrame', pending.length);
        const frames =
          ahead?.frames ?? peer.folderContents(folder, wantedOf(pending), smallWrites.allocate);
        ahead = null;
        for await (const frame of frames) {
          if (endWait !== null) {
            endWait();
            endWait = null;
            if (peer === sources[0]) sendNext?.(peer);
            sendNext = null;
          }
          answered = true;
          const wanted = byHash.get(frame.hash);
          if (!wanted) continue;
          byHash.delete(frame.hash);
          if (frame.data === null) {
            lackedBy.set(frame.hash, (lackedBy.get(frame.hash) ?? 0) + 1);
            lacking.push(wanted);
            continue;
          }
          // Written now, flushed and placed a few hundred at a time (small-writes.ts).
          await smallWrites.add(wanted, frame.data);
        }
      } catch (error) {
        deps.log.warn(
          { folder, peer: peer.baseUrl, err: (error as Error).message },
          'folder batch fetch failed',
        );
      }
      // What this peer sent before a failure is good: flushed and placed too, while the next
      // request is made and received (`settle` in `fetch`, before the round's records).
      // Whatever this peer did not send (lacking, or cut off) is asked of the next one.
      pending = [...lacking, ...byHash.values()];
    }
    ahead?.cancel();
    for (const wanted of pending) {
      // Every peer lacks it (a node without peers: vacuously; its author is then a laptop).
      // UnobtainableCopies decides whether that may ever retire it.
      if ((lackedBy.get(wanted.hash) ?? 0) === sources.length) {
        this.host.unobtainable.lackedByAll(wanted.row);
      }
    }
    // Asked in a batch and refused by every peer that answered: ask once more, one file at a
    // time by the resumable route (another way to the same content, a bounded few per pull).
    const retried = answered ? pending.slice(0, SINGLE_RETRIES) : [];
    if (retried.length > 0) await smallWrites.settle();
    for (const wanted of retried) {
      await this.host.fetchOne(wanted, 'no peer could send its content (batch and single request)');
    }
    for (const wanted of pending.slice(retried.length)) {
      this.host.stall(wanted.row, answered ? 'no peer has its content' : 'no peer answered');
    }
  }
}
