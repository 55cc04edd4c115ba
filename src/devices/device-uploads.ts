/**
 * The device's push, content first: before a batch of its operations goes to the node, the
 * content the node lacks is uploaded — small files framed together in batches of up to 16 MiB,
 * large ones (or ones the node already holds part of) streamed and resumed from the node's
 * offset.
 */
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { eachAtOnce } from '../core/limiter.js';
import { MAX_FRAMED_FILE_BYTES } from '../folders/content-frames.js';
import type { FolderSync } from '../folders/folder-sync.js';
import type { Op } from '../oplog/op.js';
import { type DeviceClient, DeviceRequestError } from './device-client.js';

const UPLOAD_BATCH_FILES = 1000;
const UPLOAD_BATCH_BYTES = 16 * 1024 * 1024;
/** Large files uploaded at once (each its own resumable request). */
const LARGE_UPLOADS_AT_ONCE = 4;

/** What a device sent, counted for its summary lines. */
export interface Totals {
  ops: number;
  files: number;
  bytes: number;
}

interface LargeUpload {
  readonly hash: string;
  readonly file: string;
  readonly size: number;
  readonly received: number;
}

export class DeviceUploads {
  /** The answer to the node's wanted contents this device holds nowhere, under way. */
  private lackReport: Promise<void> | null = null;

  constructor(
    private readonly client: DeviceClient,
    private readonly deviceId: string,
    private readonly folder: FolderSync,
    private readonly log: Logger,
    /** Counted into: files and bytes stored at the node. */
    private readonly sent: Totals,
  ) {}

  /** Uploads the content of these operations that the node lacks. */
  async uploadFor(ops: readonly Op[]): Promise<void> {
    const hashes = new Set<string>();
    for (const op of ops) {
      const b = op.body;
      if (b.kind === 'file.put' && !b.deleted && b.entry === 'file' && b.hash !== null) {
        hashes.add(b.hash);
      }
    }
    await this.uploadContents([...hashes]);
  }

  /**
   * Contents the node asks for because no peer of it has them: those this device holds go up.
   * A version of this device whose upload the node lost after acknowledging it (killed while
   * placing it, say) reaches the cluster this way: nodes cannot fetch from a device. Those it
   * holds nowhere are named back: a version its user saved over or deleted before its upload
   * read it cannot come from anywhere, and its conflict copies may then retire
   * (unobtainable-copies.ts). Never throws: asked again at the next push.
   */
  async uploadWanted(): Promise<void> {
    try {
      const held: string[] = [];
      const notHeld: string[] = [];
      for (const hash of await this.client.wanted()) {
        if ((await this.folder.contentFor(hash)) !== null) held.push(hash);
        else notHeld.push(hash);
      }
      if (notHeld.length > 0) this.reportLacking(notHeld);
      if (held.length === 0) return;
      this.log.info({ contents: held.length }, 'uploading contents the node asks for');
      await this.uploadContents(held);
    } catch (error) {
      this.log.debug({ err: (error as Error).message }, 'wanted contents not sent');
    }
  }

  /**
   * Names back to the node those of `hashes` this disk holds nowhere, once the folder is idle (a
   * scan or pull under way may index or move one), in the background: the push goes on. One
   * report at a time; the next push asks again.
   */
  private reportLacking(hashes: readonly string[]): void {
    if (this.lackReport !== null) return;
    this.lackReport = (async () => {
      await this.folder.whenIdle();
      const lacking: string[] = [];
      for (const hash of hashes) {
        if (await this.folder.lacksContent(hash)) lacking.push(hash);
      }
      if (lacking.length > 0) await this.client.lacking(this.deviceId, lacking);
    })()
      .catch((error: unknown) => {
        this.log.debug({ err: (error as Error).message }, 'lacking contents not named');
      })
      .finally(() => {
        this.lackReport = null;
      });
  }

  /** Resolves once a report of lacking contents under way is done (the device is closing). */
  async settled(): Promise<void> {
    await this.lackReport;
  }

  /**
   * Uploads those of these contents the node lacks and this device holds (what its operations
   * named, or what the node asks for: DeviceClient.wanted).
   */
  async uploadContents(hashes: readonly string[]): Promise<void> {
    if (hashes.length === 0) return;
    const missing = await this.client.missing(hashes);
    let batch: string[] = [];
    let batchBytes = 0;
    const large: LargeUpload[] = [];
    for (const m of missing) {
      const file = await this.folder.contentFor(m.hash);
      const size = file === null ? null : ((await stat(file).catch(() => null))?.size ?? null);
      // Gone or changed since: a later operation carries its new content.
      if (file === null || size === null) continue;
      if (size > MAX_FRAMED_FILE_BYTES || m.received > 0) {
        large.push({ hash: m.hash, file, size, received: m.received });
        continue;
      }
      batch.push(m.hash);
      batchBytes += size;
      if (batch.length >= UPLOAD_BATCH_FILES || batchBytes >= UPLOAD_BATCH_BYTES) {
        await this.uploadBatch(batch, batchBytes);
        batch = [];
        batchBytes = 0;
      }
    }
    if (batch.length > 0) await this.uploadBatch(batch, batchBytes);
    // Several at once, as a node fetches them (folder-pull.ts): a laptop's photos are mostly these.
    await eachAtOnce(large, LARGE_UPLOADS_AT_ONCE, (item) => this.uploadLarge(item));
  }

  private async uploadBatch(hashes: readonly string[], bytes: number): Promise<void> {
    const stored = await this.client.uploadBatch(hashes, (hash) => this.folder.contentFor(hash));
    this.sent.files += stored;
    this.sent.bytes += stored === hashes.length ? bytes : 0;
  }

  private async uploadLarge(item: LargeUpload): Promise<void> {
    let offset = item.received > item.size ? 0 : item.received;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.client.upload(item.hash, item.file, item.size, offset);
        if (offset > 0) {
          this.log.info({ hash: item.hash, resumedAt: offset }, 'upload resumed and done');
        }
        this.sent.files++;
        this.sent.bytes += item.size - offset;
        return;
      } catch (error) {
        const status = error instanceof DeviceRequestError ? error.status : null;
        // 400: the file changed while it was read (a later operation carries the new content).
        if (status === 400) return;
        if (status !== 409) throw error;
        // 409: the node holds another offset (or another upload runs): ask where to resume.
        const [again] = await this.client.missing([item.hash]);
        if (!again) return;
        offset = again.received > item.size ? 0 : again.received;
      }
    }
  }
}
