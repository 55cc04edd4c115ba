/**
 * The device's pull: the folder's feed from the device's own cursor (device-feed.ts, at the
 * node), a page at a time, as a long poll while connected, so a change at the node arrives at
 * once; never the device's own operations back.
 *
 * Invariant: the cursor is saved in the transaction that applies the operations it covers.
 */
import type { ChangeLog } from '../oplog/change-log.js';
import type { MetaRepository } from '../storage/metadata/meta.repository.js';
import type { DeviceClient } from './device-client.js';
import type { DeviceCursor } from './device-schemas.js';

const PULL_BATCH = 1000;

export class DevicePull {
  /** Whether the feed was read to its end (set by each pull; cleared when the node is lost). */
  caughtUp = false;
  /** Operations received from the node, counted for the summary lines. */
  received = 0;
  /** The node's tag of contents it wants, as last seen ('' before the first pull). */
  private wantedSeen = '';

  constructor(
    private readonly client: DeviceClient,
    private readonly deviceId: string,
    private readonly changes: ChangeLog,
    private readonly meta: MetaRepository,
    private cursor: DeviceCursor,
    /** The node's tag of wanted contents changed: time to push (DevicePush.kick). */
    private readonly onWanted: () => void,
  ) {}

  /** Reads the node's feed until caught up; returns how many operations arrived. */
  async all(waitMs: number): Promise<number> {
    let total = 0;
    let wait = waitMs;
    for (;;) {
      const page = await this.client.pull(
        this.deviceId,
        this.cursor,
        PULL_BATCH,
        wait,
        this.wantedSeen,
      );
      if (page.wanted !== undefined && page.wanted !== this.wantedSeen) {
        // The node was left wanting contents: those this device holds go up (uploadWanted).
        this.wantedSeen = page.wanted;
        this.onWanted();
      }
      // All or nothing: the cursor must not move past an operation refused for now (a node
      // clock ahead of ours), or the device would never see it.
      await this.changes.receiveAll(page.ops, (trx) =>
        this.meta.set('device_cursor', JSON.stringify(page.cursor), trx),
      );
      this.cursor = page.cursor;
      total += page.ops.length;
      this.received += page.ops.length;
      if (!page.more) break;
      wait = 0;
    }
    this.caughtUp = true;
    return total;
  }
}
