/**
 * A device (`mosaic sync DIR`): a small replica of one folder whose only peer is a node.
 *
 * It is built from the node's own parts: its SQLite database `DIR/.mosaic/device.db` (same
 * migrations; device-db.ts), an identity whose id is the device id (its origin in the op log)
 * and whose name is the device name, a ChangeLog, and a FolderSync over DIR — the same engine
 * and rules as between nodes (conflict copies, trash, ignore file, atomic apply, path safety).
 * What differs is the link:
 *
 * - push (device-push.ts): its own `file.put` operations past what the node acknowledged,
 *   each batch after uploading the content the node lacks (small files framed, large ones
 *   streamed, resumable);
 * - pull (device-pull.ts): the folder's feed from the device's own cursor (device-feed.ts), as
 *   a long poll while connected, so a change at the node arrives at once; never its own
 *   operations back; the cursor saved in the transaction that applies what it covers;
 * - content: fetched from the node through DeviceClient, as FolderSync fetches from a peer.
 *
 * Here the replica is opened and wired, registered at its node (device-registration.ts), and
 * runs the two: once (`--once`) or until closed.
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
import { DevicePull } from './device-pull.js';
import { DevicePush } from './device-push.js';
import { DeviceRegistration } from './device-registration.js';
import type { DeviceCursor } from './device-schemas.js';
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

/** How long a start waits for the node's answer to its registration before it scans anyway. */
const EARLY_REGISTRATION_MS = 3_000;

export class DeviceReplica {
  private readonly oplog: OpLogRepository;
  private readonly changes: ChangeLog;
  private readonly index: FolderIndexRepository;
  readonly folder: FolderSync;
  private readonly client: DeviceClient;
  private readonly push: DevicePush;
  private readonly pull: DevicePull;
  private readonly registration: DeviceRegistration;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly sleepers = new Set<() => void>();
  private readonly tally = new SyncTally();
  private reporting: Promise<void> | null = null;
  /** `once()` reports one line at its end, nothing in between. */
  private onceMode = false;
  private lastLabel: { hash: string; path: string } | null = null;

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
    meta: MetaRepository,
    readonly identity: NodeIdentity,
    cursor: DeviceCursor,
    nonce: string | null,
    private readonly options: DeviceReplicaOptions,
  ) {
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
    this.push = new DevicePush(
      this.client,
      this.identity.id,
      this.oplog,
      this.folder,
      options.log,
      () => {
        this.reportWhenSettled();
      },
    );
    this.pull = new DevicePull(this.client, this.identity.id, this.changes, meta, cursor, () => {
      this.push.kick();
    });
    this.registration = new DeviceRegistration(
      this.client,
      this.identity,
      nonce,
      this.changes,
      meta,
      this.push,
      options,
    );
    this.changes.onOps((ops) => {
      if (ops.some((op) => op.origin === this.identity.id)) this.push.kick();
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
  register(): Promise<void> {
    return this.registration.register();
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
      await this.push.now();
      await this.pull.all(0);
      this.folder.onRemoteChange();
      await this.folder.whenIdle();
      await this.push.now();
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
    if (registered) this.push.kick();
    this.timer = setInterval(() => {
      this.push.kick();
    }, this.options.intervalMs);
    this.timer.unref();
    let failures = 0;
    while (!this.closed) {
      try {
        if (!registered) {
          await this.register();
          registered = true;
          this.push.kick();
        }
        const waitMs = this.pull.caughtUp ? (this.options.waitMs ?? 25_000) : 0;
        const received = await this.pull.all(waitMs);
        if (failures > 0) {
          this.options.reporter.warn('connected to the node again', {
            server: this.options.server,
          });
          this.push.kick();
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
        this.pull.caughtUp = false;
        await this.sleep(Math.min(500 * failures, this.options.intervalMs));
      }
    }
  }

  /** Whether everything is sent, received and on disk, as of the last pull. */
  async inSync(): Promise<boolean> {
    return (
      this.pull.caughtUp &&
      !this.push.failed &&
      // A file still being written (scanner.ts, settleMs) is sent once it has settled.
      !this.folder.rescanDue &&
      this.push.acked >= (await this.oplog.lastSeq(this.identity.id)) &&
      this.index.needed(this.options.folder, 1).length === 0
    );
  }

  /** Read through a method: the loops' narrowing cannot see close() set it meanwhile. */
  private isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.push.stop();
    if (this.timer) clearInterval(this.timer);
    for (const wake of [...this.sleepers]) wake();
    await this.client.close();
    await this.folder.close();
    await this.push.settled();
    await this.reporting;
    await this.store.close();
  }

  // ---- reporting --------------------------------------------------------------------------

  /** Once the folder and the push are idle, one summary line (if anything moved). */
  private reportWhenSettled(): void {
    if (this.reporting || this.closed || this.onceMode) return;
    this.reporting = (async () => {
      await this.folder.whenIdle();
      await this.push.idle();
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
    const received = { ops: this.pull.received, files: c.fetchedFiles, bytes: c.fetchedBytes };
    const line = this.tally.next(this.push.sent, received, inSync, always);
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
