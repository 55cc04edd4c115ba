/**
 * The wire format of a batch of small folder files (POST /peer/folders/:folder/contents): one
 * response carries many files, so that syncing ten thousand small files costs a few requests,
 * not ten thousand.
 *
 * The body is a sequence of frames, one per requested hash, in request order:
 *
 *   32 bytes   the content's SHA-256 (raw)
 *    1 byte    0 = present, 1 = not available at the sender
 *    8 bytes   length (unsigned, big-endian; 0 when not available)
 *    n bytes   the content
 *
 * The receiver trusts none of it: each frame must answer the hash it asked for next, be no
 * longer than announced, and hash to what it claims (checked by the caller while writing).
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';

export const FRAME_HEADER_BYTES = 41;

export interface ContentFrame {
  readonly hash: string;
  /** The content, or null when the sender does not have it. */
  readonly data: Buffer | null;
}

export function frameHeader(hash: string, length: number | null): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  if (header.write(hash, 0, 32, 'hex') !== 32) throw new Error(`Not a SHA-256: ${hash}`);
  header[32] = length === null ? 1 : 0;
  header.writeBigUInt64BE(BigInt(length ?? 0), 33);
  return header;
}

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/**
 * Reads the frames of a response. `expected` lists the hashes asked for, in order, with the size
 * each must have; a frame out of order, of another size, or a body that ends inside a frame
 * throws FrameError. Memory: one frame's content at a time (the caller asks only for small files).
 */
export async function* readFrames(
  body: Readable | AsyncIterable<Buffer>,
  expected: readonly { hash: string; size: number }[],
): AsyncGenerator<ContentFrame> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let index = 0;
  let want: { hash: string; length: number } | null = null;

  const take = (n: number): Buffer => {
    const all = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    pending = rest.length > 0 ? [rest] : [];
    pendingBytes = rest.length;
    return out;
  };

  for await (const chunk of body as AsyncIterable<Buffer>) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    for (;;) {
      if (want === null) {
        if (pendingBytes < FRAME_HEADER_BYTES) break;
        const header = take(FRAME_HEADER_BYTES);
        const hash = header.subarray(0, 32).toString('hex');
        const ask = expected[index];
        if (ask?.hash !== hash) throw new FrameError(`unexpected frame for ${hash.slice(0, 12)}`);
        index++;
        const status = header[32];
        const length = header.readBigUInt64BE(33);
        if (status === 1) {
          yield { hash, data: null };
          continue;
        }
        if (status !== 0 || length !== BigInt(ask.size)) {
          throw new FrameError(`frame for ${hash.slice(0, 12)} has the wrong length`);
        }
        want = { hash, length: ask.size };
      }
      if (pendingBytes < want.length) break;
      // Copied out: the frame's bytes must not pin the (possibly larger) chunk they came in.
      const data = Buffer.from(take(want.length));
      const hash = want.hash;
      want = null;
      yield { hash, data };
    }
  }
  if (want !== null || pendingBytes > 0 || index < expected.length) {
    throw new FrameError('the batch ended early');
  }
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
export async function* writeFrames(
  hashes: readonly string[],
  locate: (hash: string) => Promise<string | null>,
  readAhead = 8,
): AsyncGenerator<Buffer> {
  const load = async (hash: string): Promise<Buffer> => {
    const data = await readSmallFile(await locate(hash));
    return data === null
      ? frameHeader(hash, null)
      : Buffer.concat([frameHeader(hash, data.length), data]);
  };
  const window: Promise<Buffer>[] = [];
  let next = 0;
  while (next < hashes.length || window.length > 0) {
    while (next < hashes.length && window.length < readAhead) {
      window.push(load(hashes[next++] as string));
    }
    yield await (window.shift() as Promise<Buffer>);
  }
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
