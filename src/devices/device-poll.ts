/**
 * The node's answer to a device's pull (DeviceService.pull): a page of the folder's feed
 * (device-feed.ts), or, when there is nothing new, a long poll that ends when a `file.put` is
 * logged, the folder's wanted tag changes, the device hangs up or loses access, the node stops,
 * or the time is up.
 */
import type { ChangeLog } from '../oplog/change-log.js';
import type { OpLogRepository } from '../oplog/oplog.repository.js';
import { DeviceFeed, type FeedPage } from './device-feed.js';
import type { DeviceCursor } from './device-schemas.js';

/** What the poll needs of a synced folder (DeviceFolder). */
export interface WantedTagged {
  /** Changes when contents may have joined the folder's stalled contents. */
  wantedTag(): string;
  /** Calls `listener` when `wantedTag` changes; returns the unsubscribe. */
  onWantedChange(listener: () => void): () => void;
}

export interface PullRequest {
  readonly cursor: DeviceCursor;
  readonly limit: number;
  readonly waitMs: number;
  readonly wantedSeen?: string | undefined;
}

export class DevicePoll {
  private readonly feed: DeviceFeed;
  private readonly waiters = new Set<() => void>();
  private closed = false;

  constructor(oplog: OpLogRepository, changes: ChangeLog) {
    this.feed = new DeviceFeed(oplog);
    changes.onOps((ops) => {
      if (ops.some((op) => op.body.kind === 'file.put')) this.wake();
    });
  }

  /**
   * The folder's operations the device has not seen. With `waitMs`, waits (long poll) until
   * there are some or the time is up, so a change here reaches a connected device at once.
   * With `wantedSeen` (the `wanted` tag of the device's last answer), the answer carries the
   * folder's tag of stalled contents and comes at once when it differs: the device then asks
   * which contents the node wants (`wanted`) and uploads those it holds, without waiting for
   * its next push. A device that sends no `wantedSeen` gets no tag (an older one would refuse
   * the field).
   */
  async next(
    folder: string,
    found: WantedTagged,
    deviceId: string,
    request: PullRequest,
    /** Aborted when the device hangs up or loses access: its wait ends at once. */
    gone: AbortSignal,
  ): Promise<FeedPage & { wanted?: string }> {
    const { cursor, limit, waitMs, wantedSeen } = request;
    const deadline = Date.now() + waitMs;
    for (;;) {
      const page = await this.feed.read(folder, deviceId, cursor, limit);
      const wanted = wantedSeen === undefined ? undefined : found.wantedTag();
      if (
        page.ops.length > 0 ||
        wanted !== wantedSeen ||
        this.closed ||
        gone.aborted ||
        Date.now() >= deadline
      ) {
        return wanted === undefined ? page : { ...page, wanted };
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          unsubscribe();
          gone.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
        this.waiters.add(done);
        const unsubscribe = found.onWantedChange(done);
        gone.addEventListener('abort', done);
      });
    }
  }

  /** Ends every long poll now: something may be new for each (or the node is stopping). */
  wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Ends every long poll, and answers the next ones at once (the node is stopping). */
  close(): void {
    this.closed = true;
    this.wake();
  }
}
