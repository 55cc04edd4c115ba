/**
 * Sending a file's bytes with Range support (resumed transfers), shared by the peer API and the
 * device API, and the MOSAIC_FAULTS throttle used by tests of interrupted transfers.
 */
import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import parseRange from 'range-parser';
import type { Faults } from '../../faults/faults.js';

/** Slows a blob stream down when MOSAIC_FAULTS asks for it (tests of interrupted transfers). */
export function throttled(faults: Faults, stream: Readable): Readable {
  const throttle = faults.blobThrottle();
  return throttle === null ? stream : stream.pipe(throttle);
}

/**
 * Sends `size` bytes, or the single range asked for (resumed transfers). `open` may answer a
 * promise: the blob store port opens ranges asynchronously (a GET with a Range on S3).
 */
export async function sendRange(
  reply: FastifyReply,
  rangeHeader: string | undefined,
  size: number,
  open: (range: { start: number; end: number } | null) => Readable | Promise<Readable>,
): Promise<FastifyReply> {
  void reply.header('Content-Type', 'application/octet-stream').header('Accept-Ranges', 'bytes');
  if (rangeHeader !== undefined) {
    const ranges = parseRange(size, rangeHeader);
    if (ranges === -1) return reply.status(416).header('Content-Range', `bytes */${size}`).send();
    const first = ranges !== -2 ? ranges[0] : undefined;
    if (first) {
      return reply
        .status(206)
        .header('Content-Range', `bytes ${first.start}-${first.end}/${size}`)
        .header('Content-Length', first.end - first.start + 1)
        .send(await open(first));
    }
  }
  return reply.header('Content-Length', size).send(await open(null));
}
