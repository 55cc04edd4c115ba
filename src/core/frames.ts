/**
 * Frames: many content-addressed items in one response body (folder files in
 * folders/content-frames.ts, picture blobs in blobs/blob-frames.ts), one frame per requested
 * hash, in request order:
 *
 *   32 bytes   the item's SHA-256 (raw)
 *    1 byte    0 = present, 1 = not available at the sender
 *    8 bytes   length (unsigned, big-endian; 0 when not available)
 *    n bytes   the item
 *
 * The reader trusts none of it: each frame must answer the hash asked for next and have the size
 * expected (and, with `verify`, hash to its name); a corrupt, truncated, reordered or extra frame
 * throws a FrameError and ends the batch. Frames already yielded passed their checks.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';

export const FRAME_HEADER_BYTES = 41;

export interface Frame {
  readonly hash: string;
  /** The bytes, or null when the sender does not have the item. */
  readonly data: Buffer | null;
}

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

export function frameHeader(hash: string, length: number | null): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  if (header.write(hash, 0, 32, 'hex') !== 32) throw new Error(`Not a SHA-256: ${hash}`);
  header[32] = length === null ? 1 : 0;
  header.writeBigUInt64BE(BigInt(length ?? 0), 33);
  return header;
}

export interface ReadFramesOptions {
  /** Check that each frame's bytes hash to its name (otherwise the caller checks them). */
  readonly verify?: boolean;
  /** Accept "not available" only with length 0 (otherwise any length). */
  readonly strictAbsent?: boolean;
  /** The error thrown for a bad frame. */
  readonly error?: new (message: string) => FrameError;
}

/**
 * Reads the frames of a response. `expected` lists the hashes asked for, in order, with the size
 * each must have. Each frame's bytes are copied once, from the chunks they arrive in into a
 * buffer of their own (which pins no chunk), and hashed as they arrive (no second pass once the
 * frame is whole). Memory: the frame being read and one chunk.
 */
export async function* readFrames(
  body: Readable | AsyncIterable<Buffer>,
  expected: readonly { hash: string; size: number }[],
  options: ReadFramesOptions = {},
): AsyncGenerator<Frame> {
  const Failure = options.error ?? FrameError;
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  let headerFilled = 0;
  let index = 0;
  let want: {
    readonly hash: string;
    readonly data: Buffer;
    filled: number;
    readonly digest: Hash | null;
  } | null = null;

  for await (const chunk of body as AsyncIterable<Buffer>) {
    let at = 0;
    for (;;) {
      if (want === null) {
        const n = Math.min(FRAME_HEADER_BYTES - headerFilled, chunk.length - at);
        chunk.copy(header, headerFilled, at, at + n);
        headerFilled += n;
        at += n;
        if (headerFilled < FRAME_HEADER_BYTES) break;
        headerFilled = 0;
        const hash = header.subarray(0, 32).toString('hex');
        const ask = expected[index];
        if (ask?.hash !== hash) throw new Failure(`unexpected frame for ${hash.slice(0, 12)}`);
        index++;
        const status = header[32];
        const length = header.readBigUInt64BE(33);
        if (status === 1 && (length === 0n || options.strictAbsent !== true)) {
          yield { hash, data: null };
          continue;
        }
        if (status !== 0 || length !== BigInt(ask.size)) {
          throw new Failure(`frame for ${hash.slice(0, 12)} has the wrong length`);
        }
        want = {
          hash,
          data: Buffer.allocUnsafe(ask.size),
          filled: 0,
          digest: options.verify === true ? createHash('sha256') : null,
        };
      }
      const n = Math.min(want.data.length - want.filled, chunk.length - at);
      if (n > 0) {
        chunk.copy(want.data, want.filled, at, at + n);
        want.digest?.update(chunk.subarray(at, at + n));
        want.filled += n;
        at += n;
      }
      if (want.filled < want.data.length) break;
      const { hash, data, digest } = want;
      want = null;
      if (digest !== null && digest.digest('hex') !== hash) {
        throw new Failure(`frame for ${hash.slice(0, 12)} does not hash to its name`);
      }
      yield { hash, data };
    }
  }
  if (want !== null || headerFilled > 0 || index < expected.length) {
    throw new Failure('the batch ended early');
  }
}

export interface WriteFramesOptions {
  /** How many items are loaded at once (default 8). */
  readonly readAhead?: number;
  /** Builds a frame's header (default frameHeader). */
  readonly header?: (hash: string, length: number | null) => Buffer;
}

/** Small frames are copied together into chunks of up to this many bytes (one write each). */
export const FRAME_CHUNK_BYTES = 64 * 1024;

/**
 * The frames answering `hashes`, as a stream's chunks. `load` gives an item's bytes, or null to
 * send it as not available. Up to `readAhead` items are loaded at once; frames keep the request's
 * order, and a failed load fails the stream when its turn comes.
 *
 * Memory and writes: small frames (a folder's 4 KiB files) are copied one after the other into a
 * chunk of FRAME_CHUNK_BYTES, sent when full or when the next item is not loaded yet (nothing
 * waits on a slow load): one allocation and one socket write per ~15 files, not one per file
 * (a `Buffer.concat` of each frame was garbage that piled up between full GCs). A frame larger
 * than half a chunk goes out as its header and its bytes, uncopied.
 */
export async function* writeFrames(
  hashes: readonly string[],
  load: (hash: string) => Promise<Buffer | null>,
  options: WriteFramesOptions = {},
): AsyncGenerator<Buffer> {
  const readAhead = options.readAhead ?? 8;
  const header = options.header ?? frameHeader;
  const window: { readonly hash: string; readonly data: Promise<Buffer | null>; done: boolean }[] =
    [];
  let chunk: Buffer | null = null;
  let used = 0;
  const flush = (): Buffer => {
    const out = (chunk as Buffer).subarray(0, used);
    chunk = null;
    used = 0;
    return out;
  };
  let next = 0;
  while (next < hashes.length || window.length > 0) {
    while (next < hashes.length && window.length < readAhead) {
      const hash = hashes[next++] as string;
      const item = { hash, data: load(hash), done: false };
      item.data.then(
        () => (item.done = true),
        () => undefined, // awaited in order below
      );
      window.push(item);
    }
    const item = window.shift() as (typeof window)[number];
    if (!item.done && used > 0) yield flush();
    const data = await item.data;
    const head = header(item.hash, data === null ? null : data.length);
    const length = head.length + (data?.length ?? 0);
    if (length > FRAME_CHUNK_BYTES / 2) {
      if (used > 0) yield flush();
      yield head;
      if (data !== null && data.length > 0) yield data;
      continue;
    }
    if (chunk !== null && used + length > chunk.length) yield flush();
    chunk ??= Buffer.allocUnsafe(FRAME_CHUNK_BYTES);
    used += head.copy(chunk, used);
    if (data !== null) used += data.copy(chunk, used);
  }
  if (used > 0) yield flush();
}
