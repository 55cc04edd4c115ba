/**
 * A device (`mosaic sync DIR`): a small replica of one folder whose only peer is a node.
 *
 * It is built from the node's own parts: its SQLite database `DIR/.mosaic/device.db` (same
 * migrations; device-db.ts), an identity whose id is the device id (its origin in the op log)
 * and whose name is the device name, a ChangeLog, and a FolderSync over DIR — the same engine
 * and rules as between nodes (conflict copies, trash, ignore file, atomic apply, path safety).
 * What differs is the link:
 *
 * - push: its own `file.put` operations past what the node acknowledged, each batch after
 *   uploading the content the node lacks (small files framed, large ones streamed, resumable);
 * - pull: the folder's feed from the device's own cursor (device-feed.ts), as a long poll while
 *   connected, so a change at the node arrives at once; never its own operations back;
 * - content: fetched from the node through DeviceClient, as FolderSync fetches from a peer.
 *
 * Invariant: the cursor is saved in the transaction that applies the operations it covers.
 */
import type { Logger } from 'pino';
import type { FolderIndexRepository } from '../folders/folder-index.repository.js';
import { FolderSync } from '../folders/folder-sync.js';
import type { NodeIdentity } from '../node/identity.js';
import type { ChangeLog } from '../oplog/change-log.js';
import { openReplicaState } from '../oplog/replica-state.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { MetaRepository } from '../storage/metadata/meta.repository.js';
import type { OpLogRepository } from '../oplog/oplog.repository.js';
import { DeviceAccessError, DeviceAuthError, DeviceClient } from './device-client.js';
import { openDeviceDb, replicaExists } from './device-db.js';
import { DeviceUploads, type Totals } from './device-uploads.js';
import type { DeviceCursor } from './device-schemas.js';
import { namesakeWarning } from './namesakes.js';
import type { Reporter } from './reporter.js';
import { SyncTally } from './sync-tally.js';

export interface DeviceReplicaOptions {
  /** The local directory (absolute). */
  readonly dir: string;
  readonly server: string;
  readonly token: string;
  readonly folder: string;
  /**
   * The account the token belongs to: a new device's id is derived from it (core/device-id.ts).
   * Null when the node could not be asked (an existing replica started offline), which is
   * enough for a device that already has its id.
   */
  readonly username: string | null;
  readonly deviceName?: string | undefined;
  /** Whether a missing DIR may be made (never its parents); else it must exist. */
  readonly createDir?: boolean | undefined;
  /** Periodic rescan and retry. */
  readonly intervalMs: number;
  readonly log: Logger;
  readonly reporter: Reporter;
  /** Long poll length (the node caps it at 30 s). */
  readonly waitMs?: number;
}

const PUSH_BATCH = 1000;
const PULL_BATCH = 1000;
/** How long a start waits for the node's answer to its registration before it scans anyway. */
const EARLY_REGISTRATION_MS = 3_000;

export class DeviceReplica {
  private readonly oplog: OpLogRepository;
  private readonly changes: ChangeLog;
  private readonly index: FolderIndexRepository;
  readonly folder: FolderSync;
  private readonly client: DeviceClient;
  private readonly uploads: DeviceUploads;
  private cursor: DeviceCursor;
  private acked = 0;
  private caughtUp = false;
  /** The node's tag of contents it wants, as last seen ('' before the first pull). */
  private wantedSeen = '';
  private closed = false;
  private pushing: Promise<void> | null = null;
  private pushWanted = false;
  private pushFailed = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly sleepers = new Set<() => void>();
  private readonly sent: Totals = { ops: 0, files: 0, bytes: 0 };
  private receivedOps = 0;
  private readonly tally = new SyncTally();
  private reporting: Promise<void> | null = null;
  /** `once()` reports one line at its end, nothing in between. */
  private onceMode = false;
  private lastLabel: { hash: string; path: string } | null = null;
  /** Whether the other devices' names were looked at (warnOfNamesakes). */
  private namesakesLooked = false;

  /** Whether DIR already holds a device replica (synced before, with its id). */
  static exists(dir: string): Promise<boolean> {
    return replicaExists(dir);
  }

  /** Opens (creating on first run) the device's database in `DIR/.mosaic/`. */
  static async open(options: DeviceReplicaOptions): Promise<DeviceReplica> {
    const { store, meta, identity, cursor, nonce } = await openDeviceDb(options);
    try {
      return new DeviceReplica(store, meta, identity, cursor, nonce, options);
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  private constructor(
    private readonly store: MetadataStore,
    private readonly meta: MetaRepository,
    readonly identity: NodeIdentity,
    cursor: DeviceCursor,
    private readonly nonce: string | null,
    private readonly options: DeviceReplicaOptions,
  ) {
    this.cursor = cursor;
    const state = openReplicaState(store, identity.id);
    if (state.folders === null) throw new Error('A device replica is a SQLite file');
    this.oplog = state.oplog;
    this.index = state.folders;
    this.changes = state.changes;
    this.client = new DeviceClient(options.server, {
      token: options.token,
      folder: options.folder,
      progress: (direction, hash, done, total) => {
        options.reporter.progress(direction, this.pathOf(hash), done, total);
      },
    });
    this.folder = new FolderSync({
      config: { id: options.folder, root: options.dir },
      index: this.index,
      changes: this.changes,
      selfId: this.identity.id,
      selfName: this.identity.name,
      // No `nodeNames`: its node lacking a content is not the cluster lacking it, so a device
      // retires no conflict copy (unobtainable-copies.ts); the nodes do.
      sources: () => [this.client],
      log: options.log,
      holdUntilStarted: true,
      rescanIntervalMs: options.intervalMs,
    });
    this.uploads = new DeviceUploads(
      this.client,
      this.identity.id,
      this.folder,
      options.log,
      this.sent,
    );
    this.changes.onOps((ops) => {
      if (ops.some((op) => op.origin === this.identity.id)) this.kickPush();
      if (ops.some((op) => op.origin !== this.identity.id)) this.folder.onRemoteChange();
    });
  }

  /** A path with this content, to name a transfer on the progress bar (the last one is kept). */
  private pathOf(hash: string): string {
    if (this.lastLabel?.hash !== hash) {
      const path = this.index.copies.pathWithContent(this.options.folder, hash);
      this.lastLabel = { hash, path: path ?? hash.slice(0, 12) };
    }
    return this.lastLabel.path;
  }

  /** Tells the node about this device; learns how far its changes got there. */
  async register(): Promise<void> {
    const res = await this.client.register(this.identity.id, this.identity.name, this.nonce);
    this.acked = res.acked;
    // The node holds more of this device's changes than its clock gave: DIR/.mosaic is an older
    // copy (restored from a backup). Its next changes took numbers the node holds, and were
    // never sent (they are at or below `acked`): they are numbered after those now.
    const had = await this.changes.ownPastAt(res.acked);
    if (had !== null) {
      this.options.reporter.warn(
        `This device's state (${this.options.dir}/.mosaic) is older than what it had sent ` +
          `(the node holds its changes up to #${res.acked}, it had #${had}: restored from a ` +
          `backup?). Its next changes are numbered after those; files it changed meanwhile ` +
          `may come back as conflict copies.`,
        { server: this.options.server },
      );
    }
    await this.meta.set('device_server', this.options.server);
    await this.meta.set('device_folder', this.options.folder);
    if (!this.namesakesLooked) await this.warnOfNamesakes();
  }

  /** Says once if another device of the folder has this one's name (namesakes.ts). */
  private async warnOfNamesakes(): Promise<void> {
    const listed = await this.client.devices().catch(() => null);
    if (listed === null) return; // asked again at the next registration
    this.namesakesLooked = true;
    const warning = namesakeWarning(this.options.folder, this.identity, listed);
    if (warning !== null) this.options.reporter.warn(warning.message, warning.detail);
  }

  /**
   * One full sync, then returns whether the device is in sync: everything scanned and sent,
   * everything the node has received and on disk. Content the node does not hold yet (still
   * coming from another node) is waited for up to `patienceMs`.
   */
  async once(patienceMs = 60_000): Promise<boolean> {
    this.onceMode = true;
    await this.register();
    await this.folder.start();
    await this.folder.whenIdle();
    const deadline = Date.now() + patienceMs;
    for (;;) {
      await this.pushNow();
      await this.pullAll(0);
      this.folder.onRemoteChange();
      await this.folder.whenIdle();
      await this.pushNow();
      if ((await this.inSync()) || this.closed || Date.now() > deadline) break;
      await this.sleep(500);
    }
    const inSync = await this.inSync();
    this.report(inSync, true);
    return inSync;
  }

  /**
   * Syncs until closed: watcher and periodic rescans send local changes, a long poll brings the
   * node's. Rejects only when the node refuses the token or the folder; an unreachable node is
   * retried (and what changed meanwhile is sent when it is back).
   */
  async run(): Promise<void> {
    // Registered before the first scan when the node answers: a DIR/.mosaic restored from an
    // older copy then numbers the changes that scan finds after what the node holds (see
    // `register`); offline, the scan goes first and the registration follows in the loop.
    // A node that does not answer holds the scan back EARLY_REGISTRATION_MS at most.
    const early = this.register().then(
      () => true,
      (error: unknown) =>
        error instanceof DeviceAuthError || error instanceof DeviceAccessError ? error : false,
    );
    const first = await Promise.race([early, this.sleep(EARLY_REGISTRATION_MS).then(() => false)]);
    if (first instanceof Error) throw first;
    let registered = first;
    await this.folder.start();
    if (registered) this.kickPush();
    this.timer = setInterval(() => {
      this.kickPush();
    }, this.options.intervalMs);
    this.timer.unref();
    let failures = 0;
    while (!this.closed) {
      try {
        if (!registered) {
          await this.register();
          registered = true;
          this.kickPush();
        }
        const received = await this.pullAll(this.caughtUp ? (this.options.waitMs ?? 25_000) : 0);
        if (failures > 0) {
          this.options.reporter.warn('connected to the node again', {
            server: this.options.server,
          });
          this.kickPush();
        }
        failures = 0;
        if (received > 0) this.reportWhenSettled();
      } catch (error) {
        if (this.isClosed()) break;
        if (error instanceof DeviceAuthError || error instanceof DeviceAccessError) throw error;
        if (failures === 0) {
          this.options.reporter.warn('the node cannot be reached; retrying', {
            server: this.options.server,
            err: (error as Error).message,
          });
        }
        failures++;
        this.caughtUp = false;
        await this.sleep(Math.min(500 * failures, this.options.intervalMs));
      }
    }
  }

  /** Whether everything is sent, received and on disk, as of the last pull. */
  async inSync(): Promise<boolean> {
    return (
      this.caughtUp &&
      !this.pushFailed &&
      // A file still being written (scanner.ts, settleMs) is sent once it has settled.
      !this.folder.rescanDue &&
      this.acked >= (await this.oplog.lastSeq(this.identity.id)) &&
      this.index.needed(this.options.folder, 1).length === 0
    );
  }

  /** Read through a method: the loops' narrowing cannot see close() set it meanwhile. */
  private isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const wake of [...this.sleepers]) wake();
    await this.client.close();
    await this.folder.close();
    await this.pushing?.catch(() => undefined);
    await this.uploads.settled();
    await this.reporting;
    await this.store.close();
  }

  // ---- push -------------------------------------------------------------------------------

  private kickPush(): void {
    if (this.closed) return;
    this.pushWanted = true;
    this.pushing ??= this.pushLoop().finally(() => {
      this.pushing = null;
    });
  }

  /** Pushes now and waits; throws what the push met. */
  private async pushNow(): Promise<void> {
    await this.pushing;
    await this.pushAll();
  }

  private async pushLoop(): Promise<void> {
    while (this.pushWanted && !this.closed) {
      this.pushWanted = false;
      try {
        await this.pushAll();
        this.reportWhenSettled();
      } catch (error) {
        // Retried at the next interval, or when the node is back.
        this.options.log.debug({ err: (error as Error).message }, 'push failed');
      }
    }
  }

  private async pushAll(): Promise<void> {
    this.pushFailed = true;
    for (;;) {
      const ops = await this.oplog.range(this.identity.id, this.acked, PUSH_BATCH);
      const last = ops[ops.length - 1];
      if (!last) break;
      await this.uploads.uploadFor(ops);
      const acked = await this.client.push(this.identity.id, ops);
      if (acked < last.seq) throw new Error(`the node acknowledged up to ${acked} only`);
      this.acked = acked;
      this.sent.ops += ops.length;
    }
    this.pushFailed = false;
    await this.uploads.uploadWanted();
  }

  // ---- pull -------------------------------------------------------------------------------

  /** Reads the node's feed until caught up; returns how many operations arrived. */
  private async pullAll(waitMs: number): Promise<number> {
    let total = 0;
    let wait = waitMs;
    for (;;) {
      const page = await this.client.pull(
        this.identity.id,
        this.cursor,
        PULL_BATCH,
        wait,
        this.wantedSeen,
      );
      if (page.wanted !== undefined && page.wanted !== this.wantedSeen) {
        // The node was left wanting contents: those this device holds go up (uploadWanted).
        this.wantedSeen = page.wanted;
        this.kickPush();
      }
      // All or nothing: the cursor must not move past an operation refused for now (a node
      // clock ahead of ours), or the device would never see it.
      await this.changes.receiveAll(page.ops, (trx) =>
        this.meta.set('device_cursor', JSON.stringify(page.cursor), trx),
      );
      this.cursor = page.cursor;
      total += page.ops.length;
      this.receivedOps += page.ops.length;
      if (!page.more) break;
      wait = 0;
    }
    this.caughtUp = true;
    return total;
  }

  // ---- reporting --------------------------------------------------------------------------

  /** Once the folder and the push are idle, one summary line (if anything moved). */
  private reportWhenSettled(): void {
    if (this.reporting || this.closed || this.onceMode) return;
    this.reporting = (async () => {
      await this.folder.whenIdle();
      await this.pushing;
      return this.inSync();
    })()
      .then(
        (inSync) => {
          this.report(inSync, false);
        },
        () => undefined,
      )
      .finally(() => {
        this.reporting = null;
      });
  }

  /** One line for what moved since the last one (`always`: even when nothing did). */
  private report(inSync: boolean, always: boolean): void {
    const c = this.folder.counters;
    const received = { ops: this.receivedOps, files: c.fetchedFiles, bytes: c.fetchedBytes };
    const line = this.tally.next(this.sent, received, inSync, always);
    if (line !== null) this.options.reporter.summary(line);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }
}
