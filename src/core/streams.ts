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
  return Buffer.concat(chunks, Math.min(length, limit));
}
