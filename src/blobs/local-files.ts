/**
 * Hashing while streaming into local files: the staging and partial-fetch side that both
 * adapters share (the S3 adapter stages on local disk too, then uploads verified bytes).
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  close as fsClose,
  closeSync,
  createReadStream,
  createWriteStream,
  fdatasync as fsFdatasync,
  fstatSync,
  open as fsOpen,
  read as fsRead,
  statSync,
  write as fsWrite,
  type WriteStream,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { BadRequestError, PayloadTooLargeError } from '../core/errors.js';

/**
 * Streams `source` into `file` (created, fsynced on close), hashing as it goes. Fails with
 * PayloadTooLargeError (and removes the file) as soon as more than `limit` bytes arrive.
 */
export async function stageFile(
  source: Readable,
  file: string,
  limit: number,
): Promise<{ hash: string; size: number }> {
  // Destroyed before its end (busboy does that to a file part cut off when the whole body had
  // arrived before the route read it): `pipeline` would wait for it forever.
  if (source.destroyed && !source.readableEnded) {
    throw new BadRequestError('The multipart body is malformed: the file ends early.');
  }
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      size += chunk.length;
      if (size > limit) {
        done(new PayloadTooLargeError(limit));
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(source, meter, createWriteStream(file, { flags: 'wx', flush: true }));
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
  return { hash: hash.digest('hex'), size };
}

/**
 * Like stageFile, but keeps the bytes in memory while they are at most `memoryLimit` (returned
 * as `bytes`); past that they spill to `file` (created, fsynced on close) and `bytes` is null.
 * Fails with PayloadTooLargeError (and keeps nothing) as soon as more than `limit` bytes arrive.
 */
export async function stageSpilling(
  source: Readable,
  file: string,
  limit: number,
  memoryLimit: number,
): Promise<{ hash: string; size: number; bytes: Buffer | null }> {
  if (source.destroyed && !source.readableEnded) {
    throw new BadRequestError('The multipart body is malformed: the file ends early.');
  }
  const hash = createHash('sha256');
  let size = 0;
  let chunks: Buffer[] = [];
  let out: WriteStream | null = null;
  let written: Promise<void> | null = null;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw new PayloadTooLargeError(limit);
      hash.update(chunk);
      if (out === null && size <= memoryLimit) {
        chunks.push(chunk);
        continue;
      }
      if (out === null) {
        out = createWriteStream(file, { flags: 'wx', flush: true });
        written = finished(out);
        written.catch(() => undefined);
        for (const held of chunks) out.write(held);
        chunks = [];
      }
      if (!out.write(chunk)) await Promise.race([once(out, 'drain'), written]);
    }
    if (out !== null) {
      out.end();
      await written;
      return { hash: hash.digest('hex'), size, bytes: null };
    }
  } catch (error) {
    if (out !== null) {
      out.destroy();
      await written?.catch(() => undefined);
      await rm(file, { force: true });
    }
    throw error;
  }
  return { hash: hash.digest('hex'), size, bytes: Buffer.concat(chunks, size) };
}

/**
 * Writes a fetched blob into `partial` from `start` (after what an interrupted fetch left) and
 * checks the whole file hashes to `hash` with `size` bytes. On a mismatch the file is removed,
 * so the next attempt starts over.
 */
export async function receiveFile(
  partial: string,
  hash: string,
  size: number,
  source: Readable,
  start: number,
): Promise<void> {
  const digest = createHash('sha256');
  if (start > 0) {
    await pipeline(
      createReadStream(partial, { end: start - 1 }),
      async (chunks: AsyncIterable<Buffer>) => {
        for await (const chunk of chunks) digest.update(chunk);
      },
    );
  }
  let received = start;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      received += chunk.length;
      if (received > size) {
        done(new Error(`Blob ${hash} is longer than ${size} bytes`));
        return;
      }
      digest.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(
    source,
    meter,
    createWriteStream(partial, start > 0 ? { flags: 'r+', start, flush: true } : { flush: true }),
  );
  const actual = digest.digest('hex');
  if (received !== size || actual !== hash) {
    await rm(partial, { force: true });
    throw new Error(`Blob ${hash} failed verification (${received}/${size} bytes, hash ${actual})`);
  }
}

/**
 * Creates `file` (it must not exist) with `data`, its data on disk before this resolves
 * (fdatasync; the directory entry is the caller's to make durable). Plain fs calls with file
 * descriptors: a FileHandle costs an object and its close tracking per file.
 */
export async function writeDurably(file: string, data: Buffer): Promise<void> {
  const fd = await call<number>((cb) => {
    fsOpen(file, 'wx', cb);
  });
  try {
    let written = 0;
    while (written < data.length) {
      written += await call<number>((cb) => {
        fsWrite(fd, data, written, data.length - written, null, cb);
      });
    }
    await call<undefined>((cb) => {
      fsFdatasync(fd, cb);
    });
  } catch (error) {
    await call<undefined>((cb) => {
      fsClose(fd, cb);
    }).catch(() => undefined);
    await rm(file, { force: true });
    throw error;
  }
  await call<undefined>((cb) => {
    fsClose(fd, cb);
  });
}

/** A Node callback API call as a promise (without util.promisify's per-call wrapper lookup). */
function call<T>(run: (cb: (error: Error | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    run((error, value) => {
      if (error) reject(error);
      else resolve(value as T);
    });
  });
}

/**
 * The size of `file`, or null when there is none. A direct `stat` (a few microseconds on a local
 * disk): the promise API's costs a trip through libuv's pool and, for a missing file (a blob not
 * fetched yet, no partial, nothing in the trash: the common answers while catching up), an Error
 * with its stack trace, ~40 µs of the main thread each (docs/benchmarks.md).
 */
export function sizeOf(file: string): number | null {
  const info = statSync(file, { throwIfNoEntry: false });
  return info === undefined ? null : info.size;
}

/**
 * The whole of `file` in one buffer, or null when there is no such file or it is longer than
 * `maxBytes`: open, one read of its size, close. A peer's batch of small blobs is read this way
 * (blob-frames.ts): a read stream cost its 64 KiB chunks, a read each and a copy to join them.
 */
export async function readWholeFile(file: string, maxBytes: number): Promise<Buffer | null> {
  let fd: number;
  try {
    fd = await call<number>((cb) => {
      fsOpen(file, 'r', cb);
    });
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
  try {
    // fstat and close of a file opened for reading touch no disk: direct calls.
    const { size } = fstatSync(fd);
    if (size > maxBytes) return null;
    const data = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = await call<number>((cb) => {
        fsRead(fd, data, got, size - got, got, cb);
      });
      if (n === 0) return null; // shorter than its size said: not a whole blob
      got += n;
    }
    return data;
  } finally {
    closeSync(fd);
  }
}

export function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}
