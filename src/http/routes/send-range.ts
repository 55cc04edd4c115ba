/**
 * Sending a file's bytes with Range support (resumed transfers) and a batch of small files as
 * frames, shared by the peer API and the device API, and the MOSAIC_FAULTS throttle used by tests
 * of interrupted transfers.
 */
import { Readable } from 'node:stream';
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import parseRange from 'range-parser';
import type { Faults } from '../../faults/faults.js';
import { FrameChunks } from '../../folders/content-frames.js';
import { writeFileRange } from './write-file-range.js';

/** Slows a blob stream down when MOSAIC_FAULTS asks for it (tests of interrupted transfers). */
export function throttled(faults: Faults, stream: Readable): Readable {
  const throttle = faults.blobThrottle();
  return throttle === null ? stream : stream.pipe(throttle);
}

/**
 * Sends a batch of small files as frames (folders/content-frames.ts). `frames` writes them into
 * chunks lent by a pool; each is written to the socket as it is yielded and goes back to the pool
 * once the socket has taken it (the write's callback), so a response holds only the chunks the
 * socket has not taken yet. Under the MOSAIC_FAULTS throttle (tests of slow transfers) the frames
 * go out as a stream instead, their chunks back once the response has gone out whole.
 */
export async function sendFrames(
  reply: FastifyReply,
  faults: Faults,
  frames: (chunks: FrameChunks) => AsyncGenerator<Buffer>,
  chunks = new FrameChunks(),
): Promise<FastifyReply> {
  if (faults.blobThrottle() !== null) {
    reply.raw.once('finish', () => {
      chunks.giveBack();
    });
    return reply
      .header('Content-Type', 'application/octet-stream')
      .send(throttled(faults, Readable.from(frames(chunks), { objectMode: false })));
  }
  const res = hijackWithHead(reply, 200, { 'content-type': 'application/octet-stream' });
  await writeChunks(res, frames(chunks), (sent) => {
    chunks.written(sent);
  });
  return reply;
}

/**
 * Writes each buffer of `source` to the response as it comes, waiting for the socket when it
 * holds too much; `written` hears of each one the socket has taken whole. A failed source or a
 * response closed early ends the response abruptly (the client sees a short body), never with
 * other bytes; `written` then hears of nothing more.
 */
async function writeChunks(
  res: ServerResponse,
  source: AsyncIterable<Buffer>,
  written: (sent: Buffer) => void,
): Promise<void> {
  try {
    for await (const chunk of source) {
      if (res.destroyed) return;
      const more = res.write(chunk, (error) => {
        if (error === null || error === undefined) written(chunk);
      });
      if (!more) await drained(res);
    }
    if (!res.destroyed) res.end();
  } catch {
    res.destroy();
  }
}

/**
 * Takes the response from Fastify to write it directly, its status line and headers sent: the
 * hooks' headers (security headers) too, since a hijacked reply skips Fastify's sending of them.
 */
function hijackWithHead(
  reply: FastifyReply,
  status: number,
  headers: Record<string, string | number>,
): ServerResponse {
  const fromHooks = reply.getHeaders() as Record<string, string | number | string[]>;
  reply.hijack();
  reply.raw.writeHead(status, { ...fromHooks, ...headers });
  return reply.raw;
}

/** Settles once the response wants more bytes, or is closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** The single range a `Range` header asks of `size` bytes: null for all of them, 'unsatisfiable'. */
function rangeOf(
  rangeHeader: string | undefined,
  size: number,
): { start: number; end: number } | null | 'unsatisfiable' {
  if (rangeHeader === undefined) return null;
  const ranges = parseRange(size, rangeHeader);
  if (ranges === -1) return 'unsatisfiable';
  return (ranges !== -2 ? ranges[0] : undefined) ?? null;
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
  const range = rangeOf(rangeHeader, size);
  if (range === 'unsatisfiable') {
    return reply.status(416).header('Content-Range', `bytes */${size}`).send();
  }
  if (range !== null) {
    return reply
      .status(206)
      .header('Content-Range', `bytes ${range.start}-${range.end}/${size}`)
      .header('Content-Length', range.end - range.start + 1)
      .send(await open(range));
  }
  return reply.header('Content-Length', size).send(await open(null));
}

/**
 * `sendRange` for a file on this disk (a synced folder's content): its bytes go out from a few
 * reused buffers (write-file-range.ts) instead of a stream that allocates one per read, whose
 * garbage made each node run a full collection every ~100 ms of a large transfer. Under the
 * MOSAIC_FAULTS throttle (tests of interrupted transfers) it is sent as a stream.
 */
export async function sendFile(
  reply: FastifyReply,
  rangeHeader: string | undefined,
  file: string,
  size: number,
  faults: Faults,
  openStream: (range: { start: number; end: number } | null) => Readable | Promise<Readable>,
): Promise<FastifyReply> {
  const range = rangeOf(rangeHeader, size);
  if (faults.blobThrottle() !== null || range === 'unsatisfiable' || size === 0) {
    return sendRange(reply, rangeHeader, size, async (r) => throttled(faults, await openStream(r)));
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  const headers: Record<string, string | number> = {
    'content-type': 'application/octet-stream',
    'accept-ranges': 'bytes',
    'content-length': end - start + 1,
    ...(range === null ? {} : { 'content-range': `bytes ${start}-${end}/${size}` }),
  };
  const body = reply.request.method === 'HEAD' ? null : { file, start, end: end + 1 };
  const res = hijackWithHead(reply, range === null ? 200 : 206, headers);
  await writeFileRange(res, body);
  return reply;
}
