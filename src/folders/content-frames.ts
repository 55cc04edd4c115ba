/**
 * The wire format of a batch of small folder files (POST /peer/folders/:folder/contents): one
 * response carries many files, so that syncing ten thousand small files costs a few requests,
 * not ten thousand.
 *
 * The body is a sequence of frames (core/frames.ts), one per requested hash, in request order.
 *
 * The receiver trusts none of it: each frame must answer the hash it asked for next, be no
 * longer than announced, and hash to what it claims (checked by the caller while writing).
 */
import { closeSync, fstatSync, openSync, read, readSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import { BufferPool } from '../core/buffer-pool.js';
import { readFrames as readCoreFrames, writeFrames as writeCoreFrames } from '../core/frames.js';
import { READ_NO_FOLLOW } from '../core/read-no-follow.js';
import { timed } from './trace.js';

export { FRAME_HEADER_BYTES, FrameError, frameHeader } from '../core/frames.js';

export interface ContentFrame {
  readonly hash: string;
  /** The content, or null when the sender does not have it. */
  readonly data: Buffer | null;
}

/**
 * Reads the frames of a response. `expected` lists the hashes asked for, in order, with the size
 * each must have; a frame out of order, of another size, or a body that ends inside a frame
 * throws FrameError. Memory: one frame's content at a time (the caller asks only for small files).
 * A frame that came whole in one chunk is a view of it (no copy): use its bytes, then let them
 * go (FolderPull writes each to its temp file at once); keeping them would keep the chunk. A
 * frame split across chunks is gathered into a buffer from `allocate` (default: a new one).
 */
export function readFrames(
  body: Readable | AsyncIterable<Buffer>,
  expected: readonly { hash: string; size: number }[],
  allocate?: FrameAllocator,
): AsyncGenerator<ContentFrame> {
  return readCoreFrames(body, expected, { views: true, ...(allocate ? { allocate } : {}) });
}

/**
 * Gives the buffer a frame split across chunks is gathered into: `length` bytes nobody else
 * uses until the caller is done with the frame (SmallWrites pools them, small-writes.ts).
 */
export type FrameAllocator = (length: number) => Buffer;

/** The most files asked for in one batch. */
export const MAX_FRAMED_FILES = 1000;

/** The largest file sent in a batch; larger ones are fetched on their own (resumable). */
export const MAX_FRAMED_FILE_BYTES = 1024 * 1024;

/** Files up to this size are read with direct calls (like the scan hashes them, blocks.ts). */
export const DIRECT_READ_MAX = 64 * 1024;

/**
 * Small contents are read (or copied from the recent-content ring) into slots of this size that
 * one response reuses once their bytes are copied into its chunk: a 10 000-file sync allocated a
 * 4 KiB buffer per file, ~40 MB of garbage outside V8's heap that piled up in glibc's heap
 * between collections (docs/benchmarks.md, "Memory, fifth pass"). Larger ones get their own.
 * Every file read directly fits (its size and the one byte more that shows growth), and chunks
 * are large enough that all of them are copied in (CHUNK_BYTES): with 16 KiB slots and 64 KiB
 * chunks, issue 16's 1-64 KiB files allocated a buffer each (docs/benchmarks.md, "Folder sync,
 * issue 16's mixed set").
 */
export const SLOT_BYTES = DIRECT_READ_MAX + 1;

/** A response's chunks: every frame of a slot's size is copied in (half a chunk at most). */
const CHUNK_BYTES = 4 * DIRECT_READ_MAX;

/**
 * Responses' chunks, kept for the next responses (16: a response of 1 000 files of 4 KiB fills
 * about as many; let go after 30 s idle). A new chunk is fresh memory whose first touch costs
 * page faults: copying 10 000 files of 4 KiB into new chunks took ~140 ms of CPU on this VM,
 * into reused ones ~15 (docs/benchmarks.md, "Reused response chunks").
 */
const chunkPool = new BufferPool(CHUNK_BYTES, 16);

/** A response's chunk size, for a pool of them (FrameChunks). */
export const FRAME_CHUNK_SIZE = CHUNK_BYTES;

/**
 * The chunks of one response, lent by the pool. A chunk goes back once the socket has taken its
 * bytes (`written`, from the write's callback: sendFrames, send-range.ts), so a response of
 * 16 MiB goes out through a few chunks used again and again, not 64 new ones: a new chunk is
 * fresh memory whose first touch costs page faults, and sending issue 16's mixed set (267 MB)
 * through new chunks took ~0.2 s of the sender's CPU against ~10 ms through reused ones
 * (docs/benchmarks.md, "A response's chunks back as each is written"). Chunks still lent when
 * the response has gone out whole ('finish': its last byte handed to the system) go back then
 * (`giveBack`, for a response sent as a stream); never before, since the socket may still hold
 * any of them. A response cut short gives nothing back (the garbage collector takes its chunks).
 */
export class FrameChunks {
  /** Chunks lent and not back yet, by their memory (a chunk is its own array buffer). */
  private readonly lent = new Map<ArrayBufferLike, Buffer>();
  private done = false;

  /** `pool`: the process's (tests give their own). */
  constructor(private readonly pool: BufferPool = chunkPool) {}

  readonly take = (): Buffer => {
    const chunk = this.pool.take();
    this.lent.set(chunk.buffer, chunk);
    return chunk;
  };

  /**
   * The socket has taken every byte of `sent` (what the frames writer yielded: part of a chunk,
   * or a large frame's own bytes, which are nobody's here): its chunk may be filled again.
   */
  written(sent: Buffer): void {
    const chunk = this.lent.get(sent.buffer);
    if (chunk === undefined || this.done) return;
    this.lent.delete(sent.buffer);
    this.pool.give(chunk);
  }

  /** The response has gone out whole: every chunk still lent may be filled again. */
  giveBack(): void {
    if (this.done) return;
    this.done = true;
    for (const chunk of this.lent.values()) this.pool.give(chunk);
    this.lent.clear();
  }
}

/**
 * A buffer of at least `size` bytes for an item's bytes, taken back by the frames writer once it
 * has copied them (so fill it and return a view of it, and keep nothing), or null: allocate.
 */
export type Scratch = (size: number) => Buffer | null;

/** A file `locate` opened already (below the folder's root: beneath.ts), with its size. */
export interface OpenFile {
  readonly fd: number;
  readonly size: number;
}

/**
 * The frames answering `hashes`, as a stream's chunks. `locate` finds a file with that content
 * here (or null), or opens it (an OpenFile, closed here once read), or gives its bytes (in
 * `scratch`, or its own buffer); a file larger than MAX_FRAMED_FILE_BYTES, one that cannot be
 * read, or one whose size changed while it was read is sent as not available (the receiver tries elsewhere or on its own). Up to `readAhead` files
 * are read at once; frames keep the request's order.
 */
export function writeFrames(
  hashes: readonly string[],
  locate: (hash: string, scratch: Scratch) => Promise<string | Buffer | OpenFile | null>,
  options: { readonly readAhead?: number; readonly chunks?: FrameChunks } = {},
): AsyncGenerator<Buffer> {
  const { readAhead = 8, chunks } = options;
  // At most readAhead + 1 slots: a slot comes back before the next item is loaded.
  const free: Buffer[] = [];
  const slots = new WeakSet<ArrayBufferLike>();
  const scratch: Scratch = (size) => {
    if (size > SLOT_BYTES) return null;
    const slot = free.pop() ?? Buffer.allocUnsafeSlow(SLOT_BYTES);
    slots.add(slot.buffer);
    return slot;
  };
  const giveBack = (slot: Buffer): void => {
    if (slots.has(slot.buffer)) free.push(Buffer.from(slot.buffer, 0, SLOT_BYTES));
  };
  return writeCoreFrames(
    hashes,
    async (hash) => {
      const found = await timed('serve.locate', () => locate(hash, scratch));
      // Bytes in hand (recent-content.ts): this content, already.
      if (Buffer.isBuffer(found)) return found.length <= MAX_FRAMED_FILE_BYTES ? found : null;
      if (found !== null && typeof found === 'object') {
        return timed('serve.read', () => readOpenFile(found, scratch, giveBack));
      }
      return timed('serve.read', () => readSmallFile(found, scratch, giveBack));
    },
    {
      readAhead,
      release: giveBack,
      chunkBytes: CHUNK_BYTES,
      ...(chunks === undefined ? {} : { takeChunk: chunks.take }),
    },
  );
}

const readAsync = promisify(read);

/**
 * A file's bytes, or null (gone, not a regular file, too large, changed size while read). A file
 * of at most DIRECT_READ_MAX is read with direct calls: open, fstat, read, close cost a few tens
 * of microseconds together, while four trips through libuv's thread pool took 7.8 ms per file
 * on a busy machine (docs/benchmarks.md, issue 16), and a peer asks for thousands at once.
 */
async function readSmallFile(
  file: string | null,
  scratch: Scratch,
  giveBack: (slot: Buffer) => void,
): Promise<Buffer | null> {
  if (file === null) return null;
  let fd: number;
  try {
    fd = openSync(file, READ_NO_FOLLOW);
  } catch {
    return null;
  }
  let size: number;
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) {
      closeSync(fd);
      return null;
    }
    size = info.size;
  } catch {
    closeSync(fd);
    return null;
  }
  return readOpenFile({ fd, size }, scratch, giveBack);
}

/** The bytes of an open regular file of `size` bytes (closed here), as `readSmallFile`. */
async function readOpenFile(
  { fd, size }: OpenFile,
  scratch: Scratch,
  giveBack: (slot: Buffer) => void,
): Promise<Buffer | null> {
  let slot: Buffer | null = null;
  try {
    if (size > MAX_FRAMED_FILE_BYTES) return null;
    // One byte more than the size, to see a file that grew while read.
    slot = scratch(size + 1);
    const data = slot?.subarray(0, size + 1) ?? Buffer.allocUnsafe(size + 1);
    // Larger files: each read through the pool (a cold one could stop the event loop a while).
    const readAt =
      size <= DIRECT_READ_MAX
        ? (at: number) => Promise.resolve(readSync(fd, data, at, data.length - at, at))
        : (at: number) => readAsync(fd, data, at, data.length - at, at).then((r) => r.bytesRead);
    let read = 0;
    for (;;) {
      const n = await readAt(read);
      if (n === 0) break;
      read += n;
      if (read > size) break; // grew while read
    }
    if (read === size) return data.subarray(0, read);
  } catch {
    // unreadable: not available
  } finally {
    closeSync(fd);
  }
  if (slot !== null) giveBack(slot);
  return null;
}
