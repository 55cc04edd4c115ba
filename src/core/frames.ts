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
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { chunksOf } from './streams.js';

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
  writeFrameHeader(header, 0, hash, length);
  return header;
}

/** Writes a frame's header into `target` at `at` (FRAME_HEADER_BYTES), allocating nothing. */
export function writeFrameHeader(
  target: Buffer,
  at: number,
  hash: string,
  length: number | null,
): void {
  if (target.write(hash, at, 32, 'hex') !== 32) throw new Error(`Not a SHA-256: ${hash}`);
  target[at + 32] = length === null ? 1 : 0;
  const n = length ?? 0;
  target.writeUInt32BE(Math.floor(n / 2 ** 32), at + 33);
  target.writeUInt32BE(n >>> 0, at + 37);
}

export interface ReadFramesOptions {
  /** Check that each frame's bytes hash to its name (otherwise the caller checks them). */
  readonly verify?: boolean;
  /** Accept "not available" only with length 0 (otherwise any length). */
  readonly strictAbsent?: boolean;
  /** The error thrown for a bad frame. */
  readonly error?: new (message: string) => FrameError;
  /**
   * A frame that arrived whole in one chunk is yielded as a view of that chunk, not a copy: for
   * a caller that is done with the bytes soon (it writes them out), since a view keeps the whole
   * chunk in memory. Otherwise each frame's bytes are copied out.
   */
  readonly views?: boolean;
  /**
   * Where a frame's bytes are copied to (default `Buffer.allocUnsafe`): a caller that gives its
   * buffers back once done with them (a pool) keeps a transfer from making a new array buffer
   * per frame, which sets off V8's collections (docs/benchmarks.md, "Pooled buffers for a
   * batch's blobs"). It must return `length` bytes nobody else is using.
   */
  readonly allocate?: (length: number) => Buffer;
}

/**
 * Reads the frames of a response. `expected` lists the hashes asked for, in order, with the size
 * each must have. Memory: the frame being read and one chunk; per frame, its bytes (unless
 * `views`) and nothing else: no chunk is joined to the next (a header or frame split across
 * chunks is copied piece by piece), no hash is turned into a string (each is compared in place
 * with the one asked for, which is the one yielded).
 */
export async function* readFrames(
  body: Readable | AsyncIterable<Buffer>,
  expected: readonly { hash: string; size: number }[],
  options: ReadFramesOptions = {},
): AsyncGenerator<Frame> {
  const Failure = options.error ?? FrameError;
  const allocate = options.allocate ?? ((length: number) => Buffer.allocUnsafe(length));
  /** A header split across chunks, gathered here. */
  const split = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  let splitUsed = 0;
  /** The hash asked for next, as bytes. */
  const asked = Buffer.allocUnsafe(32);
  let index = 0;
  /** The frame whose bytes are being read, and how many of them came so far. */
  let want: {
    readonly hash: string;
    readonly data: Buffer | null;
    readonly length: number;
  } | null = null;
  let got = 0;

  const done = (hash: string, data: Buffer): Frame => {
    want = null;
    if (options.verify === true && createHash('sha256').update(data).digest('hex') !== hash) {
      throw new Failure(`frame for ${hash.slice(0, 12)} does not hash to its name`);
    }
    return { hash, data };
  };

  /** The frame whose header is at `header[at]`: yields it at once when it carries no bytes. */
  const start = (header: Buffer, at: number): Frame | null => {
    const ask = expected[index];
    if (
      ask === undefined ||
      asked.write(ask.hash, 'hex') !== 32 ||
      asked.compare(header, at, at + 32) !== 0
    ) {
      const hash = header.toString('hex', at, at + 32);
      throw new Failure(`unexpected frame for ${hash.slice(0, 12)}`);
    }
    index++;
    const status = header[at + 32];
    const length = header.readBigUInt64BE(at + 33);
    if (status === 1 && (length === 0n || options.strictAbsent !== true)) {
      return { hash: ask.hash, data: null };
    }
    if (status !== 0 || length !== BigInt(ask.size)) {
      throw new Failure(`frame for ${ask.hash.slice(0, 12)} has the wrong length`);
    }
    if (ask.size === 0) return done(ask.hash, Buffer.alloc(0));
    want = { hash: ask.hash, data: null, length: ask.size };
    got = 0;
    return null;
  };
  // A stream's chunks as they came (a `for await` over it would join those buffered: streams.ts).
  const chunks = body instanceof Readable ? chunksOf(body) : body;
  for await (const chunk of chunks) {
    let at = 0;
    while (at < chunk.length) {
      if (want === null) {
        let frame: Frame | null;
        if (splitUsed === 0 && chunk.length - at >= FRAME_HEADER_BYTES) {
          frame = start(chunk, at);
          at += FRAME_HEADER_BYTES;
        } else {
          const n = Math.min(FRAME_HEADER_BYTES - splitUsed, chunk.length - at);
          chunk.copy(split, splitUsed, at, at + n);
          splitUsed += n;
          at += n;
          if (splitUsed < FRAME_HEADER_BYTES) break;
          splitUsed = 0;
          frame = start(split, 0);
        }
        if (frame !== null) yield frame;
        continue;
      }
      const current: { hash: string; data: Buffer | null; length: number } = want;
      if (got === 0 && chunk.length - at >= current.length) {
        // Whole in this chunk: a view, or one copy (the bytes must not pin the chunk).
        const view = chunk.subarray(at, at + current.length);
        at += current.length;
        if (options.views === true) {
          yield done(current.hash, view);
          continue;
        }
        const copy = allocate(current.length);
        view.copy(copy);
        yield done(current.hash, copy);
        continue;
      }
      const data = current.data ?? allocate(current.length);
      if (current.data === null) want = { ...current, data };
      const n = Math.min(current.length - got, chunk.length - at);
      chunk.copy(data, got, at, at + n);
      got += n;
      at += n;
      if (got < current.length) break;
      yield done(current.hash, data);
    }
  }
  if (want !== null || splitUsed > 0 || index < expected.length) {
    throw new Failure('the batch ended early');
  }
}

export interface WriteFramesOptions {
  /** How many items are loaded at once (default 8). */
  readonly readAhead?: number;
  /** Builds a frame's header (default frameHeader). */
  readonly header?: (hash: string, length: number | null) => Buffer;
  /**
   * Hears of an item's bytes once they are copied into a chunk and no longer used here (never
   * of bytes sent uncopied, which the stream still holds): `load` may fill them again.
   */
  readonly release?: (data: Buffer) => void;
  /** The size of a chunk (default FRAME_CHUNK_BYTES): frames up to half of it are copied in. */
  readonly chunkBytes?: number;
  /**
   * Gives each chunk (`chunkBytes` long; default: a new buffer). A chunk handed out is the
   * stream's reader's from then on: the caller may reuse it only once the reader is done with
   * every chunk (FrameChunks, content-frames.ts: once the response has gone out whole).
   */
  readonly takeChunk?: () => Buffer;
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
  const chunkBytes = options.chunkBytes ?? FRAME_CHUNK_BYTES;
  const takeChunk = options.takeChunk ?? (() => Buffer.allocUnsafe(chunkBytes));
  const header = options.header ?? frameHeader;
  // The default header is written straight into the chunk (no Buffer per frame).
  const direct = options.header === undefined;
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
    const dataLength = data === null ? null : data.length;
    const head = direct ? null : header(item.hash, dataLength);
    const length = (head?.length ?? FRAME_HEADER_BYTES) + (dataLength ?? 0);
    if (length > chunkBytes / 2) {
      if (used > 0) yield flush();
      yield head ?? header(item.hash, dataLength);
      if (data !== null && data.length > 0) yield data;
      continue;
    }
    if (chunk !== null && used + length > chunk.length) yield flush();
    chunk ??= takeChunk();
    if (head === null) {
      writeFrameHeader(chunk, used, item.hash, dataLength);
      used += FRAME_HEADER_BYTES;
    } else {
      used += head.copy(chunk, used);
    }
    if (data !== null) {
      used += data.copy(chunk, used);
      options.release?.(data);
    }
  }
  if (used > 0) yield flush();
}
