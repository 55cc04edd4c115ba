/**
 * The wire format of a batch of picture blobs (POST /peer/blobs): one response carries many
 * blobs, so a node catching up on hundreds of small pictures makes a few requests, not one per
 * picture.
 *
 * The body is a sequence of frames (core/frames.ts), one per requested hash, in request order.
 *
 * The receiver trusts none of it: each frame must answer the hash it asked for next, have the
 * size it expects, and hash to its name; anything else (a corrupt, truncated, reordered or
 * extra frame) throws BlobFrameError and ends the batch. Frames already yielded were verified.
 */
import type { Readable } from 'node:stream';
import {
  FRAME_HEADER_BYTES,
  FrameError,
  frameHeader,
  readFrames,
  writeFrames,
} from '../core/frames.js';
import type { BlobStore } from './blob-store.js';

export const BLOB_FRAME_HEADER_BYTES = FRAME_HEADER_BYTES;

/** The most blobs asked for in one batch. */
export const MAX_BATCH_BLOBS = 256;

/** The largest blob sent in a batch; larger ones are fetched on their own (resumable). */
export const MAX_BATCH_BLOB_BYTES = 4 * 1024 * 1024;

export interface BlobFrame {
  readonly hash: string;
  /** The verified bytes, or null when the sender does not have the blob. */
  readonly data: Buffer | null;
}

export class BlobFrameError extends FrameError {
  constructor(message: string) {
    super(message);
    this.name = 'BlobFrameError';
  }
}

export function blobFrameHeader(hash: string, length: number | null): Buffer {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`Not a SHA-256: ${hash}`);
  return frameHeader(hash, length);
}

/**
 * Reads the frames of a response (core/frames.ts), each checked against its hash. `expected`
 * lists the hashes asked for, in order, with the size each must have. Memory: the frame being
 * read (at most MAX_BATCH_BLOB_BYTES) and one chunk. `allocate` gives the buffers frames are
 * copied into (core/frames.ts).
 */
export function readBlobFrames(
  body: Readable | AsyncIterable<Buffer>,
  expected: readonly { hash: string; size: number }[],
  allocate?: (length: number) => Buffer,
): AsyncGenerator<BlobFrame> {
  return readFrames(body, expected, {
    verify: true,
    strictAbsent: true,
    error: BlobFrameError,
    ...(allocate === undefined ? {} : { allocate }),
  });
}

/**
 * The frames answering `hashes`, as a stream's chunks, read from `blobs`. A blob that is absent,
 * larger than MAX_BATCH_BLOB_BYTES, or not of its listed size when read is sent as not available
 * (the receiver fetches it on its own). Up to `readAhead` blobs are read at once; frames keep
 * the request's order.
 */
export function writeBlobFrames(
  hashes: readonly string[],
  blobs: BlobStore,
  readAhead = 8,
): AsyncGenerator<Buffer> {
  return writeFrames(hashes, (hash) => readSmallBlob(blobs, hash), {
    readAhead,
    header: blobFrameHeader,
  });
}

/** A blob for a frame; any failure to read it sends it as not available. */
async function readSmallBlob(blobs: BlobStore, hash: string): Promise<Buffer | null> {
  try {
    return await blobs.readWhole(hash, MAX_BATCH_BLOB_BYTES);
  } catch {
    return null;
  }
}
