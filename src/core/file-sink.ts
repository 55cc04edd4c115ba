/**
 * A Writable that lands a stream's bytes in a file through a ring of reused buffers: each
 * chunk is copied into the current buffer and released at once; a full buffer goes to the disk
 * in one positioned write while the next one fills.
 *
 * Why not `createWriteStream`: a network body arrives as one new 64 KiB buffer per socket read,
 * held by a write stream until its write is done. Over a large transfer V8 answered that stream
 * of array buffers with a full (mark-compact) collection every ~100 ms while the live heap stayed
 * at ~21-26 MB: a third of the receiver's main thread (docs/benchmarks.md, "One large file").
 * Copied into the ring, a chunk is let go at once: one memory copy per byte, far cheaper than
 * the collections it saves.
 *
 * With `flush` the file's data is fdatasync'ed before the stream finishes, as the `flush`
 * option of `createWriteStream`: 'finish' means on disk.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { BufferPool } from './buffer-pool.js';

/** Bytes per disk write (one buffer of the ring). */
export const SINK_BUFFER_BYTES = 1024 * 1024;
/** Buffers in the ring: one filling while the others are written. */
const RING = 3;
/**
 * With `flush`, the data written so far is fdatasync'ed in the background each time this much
 * more has been written: the disk writes while the bytes still arrive, and the last fdatasync
 * has little left to do (it was 0.8 s at the end of a 1 GiB file, the kernel keeping it all
 * dirty in the page cache until then).
 */
export const SINK_SYNC_EVERY_BYTES = 64 * 1024 * 1024;

export interface FileSinkOptions {
  /** 'w' (default: created or truncated) or 'r+' (an existing file, written from `start`). */
  readonly flags?: 'w' | 'r+';
  /** Where the first byte goes (default 0). */
  readonly start?: number;
  /** fdatasync before 'finish' (default false). */
  readonly flush?: boolean;
  /** With `flush`: a background fdatasync each time this many more bytes were written. */
  readonly syncEveryBytes?: number;
}

/** Rings' buffers, shared by the sinks of a process: four large fetches at once use twelve. */
const buffers = new BufferPool(SINK_BUFFER_BYTES, 4 * RING);

interface Slot {
  /** Taken from the pool when first filled: a small file uses one buffer. */
  buffer: Buffer | null;
  /** Settles (never rejects) once the disk write of this buffer's bytes is done. */
  written: Promise<void>;
}

export function fileSink(path: string, options: FileSinkOptions = {}): Writable {
  let handle: FileHandle | null = null;
  let position = options.start ?? 0;
  let slots: Slot[] = [];
  let current = 0;
  let used = 0;
  let failure: Error | null = null;
  let lastWrite: Promise<void> = Promise.resolve();
  /** Bytes given to the disk since the last background fdatasync started. */
  let unsynced = 0;
  let syncing: Promise<void> = Promise.resolve();
  let syncRunning = false;

  const slot = (): Slot => slots[current] as Slot;
  const bufferOf = (s: Slot): Buffer => (s.buffer ??= buffers.take());
  /** Sends the current buffer's bytes to the disk and moves to the next buffer. */
  const ship = (): void => {
    const full = slot();
    const bytes = bufferOf(full).subarray(0, used);
    const at = position;
    position += used;
    used = 0;
    const file = handle as FileHandle;
    // One write at a time, in order: the file is always a prefix of the stream (no hole after
    // a write that failed or a process killed), so a later attempt can resume from its size.
    full.written = lastWrite
      .then(() => (failure === null ? writeAll(file, bytes, at) : undefined))
      .catch((error: unknown) => {
        failure ??= error as Error;
      });
    lastWrite = full.written;
    current = (current + 1) % slots.length;
    unsynced += bytes.length;
    const syncEvery = options.syncEveryBytes ?? SINK_SYNC_EVERY_BYTES;
    if (options.flush === true && unsynced >= syncEvery && !syncRunning) {
      unsynced = 0;
      syncRunning = true;
      // After this buffer's write: what it flushes is then everything shipped so far.
      syncing = full.written
        .then(() => file.datasync())
        .catch((error: unknown) => {
          failure ??= error as Error;
        })
        .finally(() => {
          syncRunning = false;
        });
    }
  };

  return new Writable({
    // What waits here while every buffer of the ring is being written: one socket read's worth.
    highWaterMark: 64 * 1024,
    construct(done) {
      open(path, options.flags ?? 'w').then(
        (opened) => {
          handle = opened;
          slots = Array.from({ length: RING }, () => ({
            buffer: null,
            written: Promise.resolve(),
          }));
          done();
        },
        (error: unknown) => {
          done(error as Error);
        },
      );
    },
    write(chunk: Buffer, _encoding, done) {
      void (async () => {
        let offset = 0;
        while (offset < chunk.length) {
          if (used === 0) await slot().written;
          if (failure !== null) throw failure;
          const copied = chunk.copy(bufferOf(slot()), used, offset);
          used += copied;
          offset += copied;
          if (used === SINK_BUFFER_BYTES) ship();
        }
      })().then(
        () => {
          done();
        },
        (error: unknown) => {
          done(error as Error);
        },
      );
    },
    final(done) {
      void (async () => {
        if (used > 0) ship();
        await Promise.all([...slots.map((s) => s.written), syncing]);
        if (failure !== null) throw failure;
        if (options.flush === true) await (handle as FileHandle).datasync();
      })().then(
        () => {
          done();
        },
        (error: unknown) => {
          done(error as Error);
        },
      );
    },
    destroy(error, done) {
      // Also after 'finish'. Writes under way finish before the file is closed (their bytes are
      // not wanted after an error) and before their buffers go back to the pool.
      void Promise.all([...slots.map((s) => s.written), syncing])
        .then(() => {
          for (const s of slots) if (s.buffer !== null) buffers.give(s.buffer);
          slots = [];
          return handle?.close();
        })
        .then(
          () => {
            done(error);
          },
          (closeError: unknown) => {
            done(error ?? (closeError as Error));
          },
        );
    },
  });
}

/** Writes all of `bytes` at `position` (a write may take fewer than asked). */
async function writeAll(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}
