/** Small helpers over Node streams. */
import type { Readable } from 'node:stream';

/**
 * The first `limit` bytes of a stream (fewer if it is shorter); the rest is never read: the
 * stream is destroyed once enough has arrived.
 */
export async function readHead(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      const bytes = chunk as Buffer;
      chunks.push(bytes);
      length += bytes.length;
      if (length >= limit) break;
    }
  } finally {
    stream.destroy();
  }
  return joined(chunks, Math.min(length, limit));
}

/**
 * A stream's whole bytes. Unlike `buffer()` of node:stream/consumers, a stream of one chunk (an
 * upload staged in memory on S3: s3-blob-store.ts) gives that chunk itself, not a copy: an
 * upload's bytes were copied three times on their way to sharp, and each copy of a few hundred
 * KB is external memory that brings V8's next full collection nearer.
 */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    const bytes = chunk as Buffer;
    chunks.push(bytes);
    length += bytes.length;
  }
  return joined(chunks, length);
}

/** The first `length` bytes of `chunks`: the first chunk itself when it holds them all. */
function joined(chunks: readonly Buffer[], length: number): Buffer {
  const [first] = chunks;
  if (first !== undefined && first.length >= length) return first.subarray(0, length);
  return Buffer.concat(chunks, length);
}
