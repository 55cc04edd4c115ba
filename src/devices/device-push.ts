/**
 * The device's push: its own `file.put` operations past what the node acknowledged, in
 * batches, each after uploading the content the node lacks (device-uploads.ts: small files
 * framed, large ones streamed, resumable), then the contents the node wants that this device
 * holds. One push runs at a time; kicks meanwhile make one more.
 */
import type { Logger } from 'pino';
import type { FolderSync } from '../folders/folder-sync.js';
import type { OpLogRepository } from '../oplog/oplog.repository.js';
import type { DeviceClient } from './device-client.js';
import { DeviceUploads, type Totals } from './device-uploads.js';

const PUSH_BATCH = 1000;

export class DevicePush {
  /** How many of the device's own operations the node holds (registration, then each push). */
  acked = 0;
  /** What was sent, counted for the summary lines. */
  readonly sent: Totals = { ops: 0, files: 0, bytes: 0 };
  private readonly uploads: DeviceUploads;
  private pushing: Promise<void> | null = null;
  private pushWanted = false;
  private pushFailed = false;
  private stopped = false;

  constructor(
    private readonly client: DeviceClient,
    private readonly deviceId: string,
    private readonly oplog: OpLogRepository,
    folder: FolderSync,
    private readonly log: Logger,
    /** A kicked push went through (time for a summary line). */
    private readonly onPushed: () => void,
  ) {
    this.uploads = new DeviceUploads(client, deviceId, folder, log, this.sent);
  }

  /** Whether the last push failed, or one is under way (its operations not all acknowledged). */
  get failed(): boolean {
    return this.pushFailed;
  }

  kick(): void {
    if (this.stopped) return;
    this.pushWanted = true;
    this.pushing ??= this.pushLoop().finally(() => {
      this.pushing = null;
    });
  }

  /**
   * Pushes now and waits; throws what the push met. It holds the one push's place: a kick
   * meanwhile runs after it (before, it ran beside it and sent the same operations twice).
   */
  async now(): Promise<void> {
    while (this.pushing) await this.pushing.catch(() => undefined);
    const run = this.pushAll();
    this.pushing = run
      .catch(() => undefined)
      .then(() => {
        this.pushing = null;
        if (this.pushWanted) this.kick();
      });
    await run;
  }

  /** Resolves once no kicked push runs (their failures are logged, not thrown). */
  async idle(): Promise<void> {
    await this.pushing;
  }

  /** Kicks start nothing from now on (the replica is closing). */
  stop(): void {
    this.stopped = true;
  }

  /** Waits for the push under way and the uploads it started. */
  async settled(): Promise<void> {
    await this.pushing?.catch(() => undefined);
    await this.uploads.settled();
  }

  private async pushLoop(): Promise<void> {
    while (this.pushWanted && !this.stopped) {
      this.pushWanted = false;
      try {
        await this.pushAll();
        this.onPushed();
      } catch (error) {
        // Retried at the next interval, or when the node is back.
        this.log.debug({ err: (error as Error).message }, 'push failed');
      }
    }
  }

  private async pushAll(): Promise<void> {
    this.pushFailed = true;
    for (;;) {
      const ops = await this.oplog.range(this.deviceId, this.acked, PUSH_BATCH);
      const last = ops[ops.length - 1];
      if (!last) break;
      await this.uploads.uploadFor(ops);
      const acked = await this.client.push(this.deviceId, ops);
      if (acked < last.seq) throw new Error(`the node acknowledged up to ${acked} only`);
      this.acked = acked;
      this.sent.ops += ops.length;
    }
    this.pushFailed = false;
    await this.uploads.uploadWanted();
  }
}
