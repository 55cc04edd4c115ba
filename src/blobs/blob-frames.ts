/**
 * The wire format of a batch of picture blobs (POST /peer/blobs): one response carries many
 * blobs, so a node catching up on hundreds of small pictures makes a few requests, not one per
 * picture.
 *
 * The body is a sequence of frames, one per requested hash, in request order:
 *
 *   32 bytes   the blob's SHA-256 (raw)
 *    1 byte    0 = present, 1 = not available at the sender
 *    8 bytes   length (unsigned, big-endian; 0 when not available)
 *    n bytes   the blob
 *
 * The receiver trusts none of it: each frame must answer the hash it asked for next, have the
 * size it expects, and hash to its name; anything else (a corrupt, truncated, reordered or
 * extra frame) throws BlobFrameError and ends the batch. Frames already yielded were verified.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BlobStore } from './blob-store.js';

export const BLOB_FRAME_HEADER_BYTES = 41;

/** The most blobs asked for in one batch. */
export const MAX_BATCH_BLOBS = 256;

/** The largest blob sent in a batch; larger ones are fetched on their own (resumable). */
export const MAX_BATCH_BLOB_BYTES = 4 * 1024 * 1024;

export interface BlobFrame {
  readonly hash: string;
  /** The verified bytes, or null when the sender does not have the blob. */
  readonly data: Buffer | null;
}

export class BlobFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlobFrameError';
  }
}

export function blobFrameHeader(hash: string, length: number | null): Buffer {
  const header = Buffer.alloc(BLOB_FRAME_HEADER_BYTES);
  if (!/^[0-9a-f]{64}$/.test(hash) || header.write(hash, 0, 32, 'hex') !== 32) {
    throw new Error(`Not a SHA-256: ${hash}`);
  }
  header[32] = length === null ? 1 : 0;
  header.writeBigUInt64BE(BigInt(length ?? 0), 33);
  return header;
}

/**
 * Reads the frames of a response. `expected` lists the hashes asked for, in order, with the size
 * each must have. Memory: the frame being read (at most MAX_BATCH_BLOB_BYTES) and one chunk.
 */
export async function* readBlobFrames(
  body: Readable | AsyncIterable<Buffer>,
  expected: readonly { hash: string; size: number }[],
): AsyncGenerator<BlobFrame> {
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
        if (pendingBytes < BLOB_FRAME_HEADER_BYTES) break;
        const header = take(BLOB_FRAME_HEADER_BYTES);
        const hash = header.subarray(0, 32).toString('hex');
        const ask = expected[index];
        if (ask?.hash !== hash) {
          throw new BlobFrameError(`unexpected frame for ${hash.slice(0, 12)}`);
        }
        index++;
        const status = header[32];
        const length = header.readBigUInt64BE(33);
        if (status === 1 && length === 0n) {
          yield { hash, data: null };
          continue;
        }
        if (status !== 0 || length !== BigInt(ask.size)) {
          throw new BlobFrameError(`frame for ${hash.slice(0, 12)} has the wrong length`);
        }
        want = { hash, length: ask.size };
      }
      if (pendingBytes < want.length) break;
      // Copied out: the blob's bytes must not pin the (possibly larger) chunk they came in.
      const data = Buffer.from(take(want.length));
      const hash = want.hash;
      want = null;
      if (createHash('sha256').update(data).digest('hex') !== hash) {
        throw new BlobFrameError(`frame for ${hash.slice(0, 12)} does not hash to its name`);
      }
      yield { hash, data };
    }
  }
  if (want !== null || pendingBytes > 0 || index < expected.length) {
    throw new BlobFrameError('the batch ended early');
  }
}

/**
 * The frames answering `hashes`, as a stream's chunks, read from `blobs`. A blob that is absent,
 * larger than MAX_BATCH_BLOB_BYTES, or not of its listed size when read is sent as not available
 * (the receiver fetches it on its own). Up to `readAhead` blobs are read at once; frames keep
 * the request's order.
 */
export async function* writeBlobFrames(
  hashes: readonly string[],
  blobs: BlobStore,
  readAhead = 8,
): AsyncGenerator<Buffer> {
  const load = async (hash: string): Promise<Buffer> => {
    const data = await readSmallBlob(blobs, hash);
    return data === null
      ? blobFrameHeader(hash, null)
      : Buffer.concat([blobFrameHeader(hash, data.length), data]);
  };
  const window: Promise<Buffer>[] = [];
  let next = 0;
  while (next < hashes.length || window.length > 0) {
    while (next < hashes.length && window.length < readAhead) {
      const loading = load(hashes[next++] as string);
      loading.catch(() => undefined); // awaited in order below
      window.push(loading);
    }
    yield await (window.shift() as Promise<Buffer>);
  }
}

async function readSmallBlob(blobs: BlobStore, hash: string): Promise<Buffer | null> {
  try {
    const size = await blobs.size(hash);
    if (size === null || size > MAX_BATCH_BLOB_BYTES) return null;
    const chunks: Buffer[] = [];
    let read = 0;
    for await (const chunk of await blobs.read(hash)) {
      read += (chunk as Buffer).length;
      if (read > size) return null;
      chunks.push(chunk as Buffer);
    }
    return read === size ? Buffer.concat(chunks, read) : null;
  } catch {
    return null;
  }
}
