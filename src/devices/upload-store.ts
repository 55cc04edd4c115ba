/**
 * Content uploaded by devices, kept where the node's own folder sync finds it: in the folder's
 * `.mosaic/uploads/`, registered in `folder_trash` like a trashed file. When the device's
 * `file.put` arrives, FolderSync's puller finds the content "on this disk" (LocalContent), moves
 * it out of `uploads/` (no copy), verifies it and renames it into place; peers of the node can
 * fetch it from there too, before or after that.
 *
 * A large upload is resumable: its bytes go to `uploads/<hash>.part`, appended at the offset
 * the device names (which must be what the part holds), hashed as they arrive, and the file
 * becomes `uploads/<hash>` only once it has the announced size and hash. Small files come many
 * per request, in the frame format of content-frames.ts, each verified before it is kept.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import { fileSink } from '../core/file-sink.js';
import { fsyncDir } from '../core/fsync.js';
import { BadRequestError, ConflictError } from '../core/errors.js';
import { Limiter } from '../core/limiter.js';
import type { FolderIndexRepository } from '../folders/folder-index.repository.js';
import type { Faults } from '../faults/faults.js';
import { FRAME_HEADER_BYTES, MAX_FRAMED_FILE_BYTES } from '../folders/content-frames.js';
import { MOSAIC_DIR } from '../folders/ignore.js';
import { assertMarker } from '../folders/marker.js';

/** The bytes sent do not make the announced content (400). */
export class UploadError extends BadRequestError {}

export class UploadStore {
  private readonly busy = new Set<string>();
  private readonly io = new Limiter(16);

  /** Finished uploads are recorded in the folders' trash table (`index.trash`), by content. */
  constructor(
    private readonly index: FolderIndexRepository,
    private readonly faults: Faults,
  ) {}

  /** Bytes of `hash` received so far for folder rooted at `root` (0: none). */
  async received(root: string, hash: string): Promise<number> {
    return (await stat(this.partOf(root, hash)).catch(() => null))?.size ?? 0;
  }

  /**
   * Appends `body` at `offset` to the upload of `hash` (`size` bytes in all). The offset must be
   * what is already there (409 otherwise: the device asks again where to resume). Completes the
   * upload when the size is reached and the hash matches (a mismatch discards it: 400).
   */
  async receive(
    folder: string,
    root: string,
    hash: string,
    size: number,
    offset: number,
    body: Readable,
  ): Promise<{ received: number; complete: boolean }> {
    const key = `${folder}/${hash}`;
    if (this.busy.has(key)) throw new ConflictError('This content is being uploaded already.');
    this.busy.add(key);
    try {
      await this.assertAvailable(folder, root);
      await mkdir(this.dirOf(root), { recursive: true });
      const part = this.partOf(root, hash);
      const have = await this.received(root, hash);
      if (offset !== have || offset > size) {
        body.resume();
        throw new ConflictError(`The upload is at byte ${have}, not ${offset}.`);
      }
      const sha = createHash('sha256');
      if (have > 0) {
        await pipeline(
          createReadStream(part, { start: 0, end: have - 1 }),
          async (chunks: AsyncIterable<Buffer>) => {
            for await (const chunk of chunks) sha.update(chunk);
          },
        );
      }
      let received = have;
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          received += chunk.length;
          if (received > size) {
            done(new UploadError('The upload is longer than its announced size.'));
            return;
          }
          sha.update(chunk);
          done(null, chunk);
        },
      });
      const throttle = this.faults.uploadThrottle();
      // Through reused buffers, flushed as it goes (core/file-sink.ts): `keep` finds little left.
      const out = fileSink(
        part,
        have > 0 ? { flags: 'r+', start: have, flush: true } : { flush: true },
      );
      try {
        await pipeline(throttle === null ? [body, meter, out] : [body, throttle, meter, out]);
      } catch (error) {
        if (error instanceof UploadError) {
          await rm(part, { force: true });
          throw error;
        }
        // The device went away mid-transfer: what arrived stays, the next attempt resumes.
        throw new ConflictError(`The upload was interrupted at byte ${received}.`);
      }
      if (received < size) return { received, complete: false };
      if (sha.digest('hex') !== hash) {
        await rm(part, { force: true });
        throw new UploadError('The uploaded bytes do not have the announced SHA-256.');
      }
      await this.keep(folder, root, hash, part);
      return { received, complete: true };
    } finally {
      this.busy.delete(key);
    }
  }

  /**
   * Stores the small files of a framed batch (each frame: hash, 0, length, bytes); each is
   * verified. Returns how many were stored.
   */
  async receiveFrames(folder: string, root: string, body: Readable): Promise<number> {
    await this.assertAvailable(folder, root);
    await mkdir(this.dirOf(root), { recursive: true });
    const writes = new Set<Promise<void>>();
    const kept: { hash: string; file: string }[] = [];
    let failure: unknown = null;
    for await (const frame of readUploadFrames(body)) {
      const work = this.io
        .run(async () => {
          const file = join(this.dirOf(root), frame.hash);
          const tmp = `${file}.${randomUUID().slice(0, 8)}.tmp`;
          const handle = await open(tmp, 'w');
          try {
            await handle.writeFile(frame.data);
            await handle.datasync();
          } finally {
            await handle.close();
          }
          await rename(tmp, file);
          kept.push({ hash: frame.hash, file });
        })
        .catch((error: unknown) => {
          failure = error;
        })
        .finally(() => writes.delete(work));
      writes.add(work);
      if (writes.size >= 64) await Promise.race(writes);
    }
    await Promise.all(writes);
    if (failure !== null) throw failure as Error;
    await fsyncDir(this.dirOf(root));
    await this.register(folder, kept);
    return kept.length;
  }

  private async keep(folder: string, root: string, hash: string, part: string): Promise<void> {
    const file = join(this.dirOf(root), hash);
    const handle = await open(part, 'r+');
    try {
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(part, file);
    await fsyncDir(this.dirOf(root));
    await this.register(folder, [{ hash, file }]);
  }

  /**
   * Removes uploads older than `maxAgeMs` (by mtime): parts a device never finished, and
   * finished ones no operation ever claimed. Returns how many files went.
   */
  async sweep(folder: string, root: string, maxAgeMs: number, now = Date.now()): Promise<number> {
    const dir = this.dirOf(root);
    let removed = 0;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const file = join(dir, name);
      const info = await stat(file).catch(() => null);
      if (!info || now - info.mtimeMs < maxAgeMs) continue;
      await rm(file, { force: true });
      await this.index.exclusive(() => {
        this.index.trash.record(folder, [], [file], now);
      });
      removed++;
    }
    return removed;
  }

  /**
   * A paused folder (root or marker missing) takes no uploads: writing `.mosaic/uploads/` would
   * recreate a root that is missing for a reason (see marker.ts).
   */
  private async assertAvailable(folder: string, root: string): Promise<void> {
    try {
      await assertMarker(root, folder);
    } catch {
      throw new ConflictError('The folder is paused at this node; try again later.');
    }
  }

  /** One transaction (one fsync) for a whole batch. */
  private async register(
    folder: string,
    files: readonly { hash: string; file: string }[],
  ): Promise<void> {
    await this.index.exclusive(() => {
      this.index.trash.record(folder, files, [], Date.now());
    });
  }

  private dirOf(root: string): string {
    return join(root, MOSAIC_DIR, 'uploads');
  }

  private partOf(root: string, hash: string): string {
    return join(this.dirOf(root), `${hash}.part`);
  }
}

/**
 * Reads an upload batch: frames of content-frames.ts, at most MAX_FRAMED_FILE_BYTES long each.
 * Frames marked not available, or whose bytes do not hash to the hash they name, are skipped;
 * a malformed or truncated batch fails.
 */
export async function* readUploadFrames(
  body: AsyncIterable<Buffer>,
): AsyncGenerator<{ hash: string; data: Buffer }> {
  let pending: Buffer = Buffer.alloc(0);
  let want: { hash: string; length: number } | null = null;
  for await (const chunk of body) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      if (want === null) {
        if (pending.length < FRAME_HEADER_BYTES) break;
        const hash = pending.subarray(0, 32).toString('hex');
        const status = pending[32];
        const length = Number(pending.readBigUInt64BE(33));
        if ((status !== 0 && status !== 1) || length > MAX_FRAMED_FILE_BYTES) {
          throw new UploadError(`Bad frame for ${hash.slice(0, 12)}.`);
        }
        pending = pending.subarray(FRAME_HEADER_BYTES);
        if (status === 1) continue; // the device could not read it after all
        want = { hash, length };
      }
      if (pending.length < want.length) break;
      const data = Buffer.from(pending.subarray(0, want.length));
      pending = pending.subarray(want.length);
      // A file that changed while the device read it: skipped (its next version comes later).
      if (createHash('sha256').update(data).digest('hex') === want.hash) {
        yield { hash: want.hash, data };
      }
      want = null;
    }
  }
  if (want !== null || pending.length > 0) throw new UploadError('The batch ended early.');
}
