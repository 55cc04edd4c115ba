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
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { readFrames as readCoreFrames, writeFrames as writeCoreFrames } from '../core/frames.js';
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
 */
export function readFrames(
  body: Readable | AsyncIterable<Buffer>,
  expected: readonly { hash: string; size: number }[],
): AsyncGenerator<ContentFrame> {
  return readCoreFrames(body, expected);
}

/** The most files asked for in one batch. */
export const MAX_FRAMED_FILES = 1000;

/** The largest file sent in a batch; larger ones are fetched on their own (resumable). */
export const MAX_FRAMED_FILE_BYTES = 1024 * 1024;

/**
 * The frames answering `hashes`, as a stream's chunks. `locate` finds a file with that content
 * here (or null); a file larger than MAX_FRAMED_FILE_BYTES, one that cannot be read, or one whose
 * size changed while it was read is sent as not available (the receiver tries elsewhere or on
 * its own). Up to `readAhead` files are read at once; frames keep the request's order.
 */
export function writeFrames(
  hashes: readonly string[],
  locate: (hash: string) => Promise<string | Buffer | null>,
  readAhead = 8,
): AsyncGenerator<Buffer> {
  return writeCoreFrames(
    hashes,
    async (hash) => {
      const found = await timed('serve.locate', () => locate(hash));
      // Bytes in hand (recent-content.ts): this content, already.
      if (Buffer.isBuffer(found)) return found.length <= MAX_FRAMED_FILE_BYTES ? found : null;
      return timed('serve.read', () => readSmallFile(found));
    },
    { readAhead },
  );
}

async function readSmallFile(file: string | null): Promise<Buffer | null> {
  if (file === null) return null;
  let handle;
  try {
    // Non-blocking: a FIFO swapped in at that path cannot hang the response (no such flag on Windows).
    const flags =
      process.platform === 'win32' ? constants.O_RDONLY : constants.O_RDONLY | constants.O_NONBLOCK;
    handle = await open(file, flags);
  } catch {
    return null;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size > MAX_FRAMED_FILE_BYTES) return null;
    const data = Buffer.allocUnsafe(info.size + 1);
    let read = 0;
    for (;;) {
      const { bytesRead } = await handle.read(data, read, data.length - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
      if (read > info.size) return null; // grew while read
    }
    return read === info.size ? data.subarray(0, read) : null;
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}
