/**
 * Fetching one large folder file from a peer, sending over the wire only what this disk does
 * not already have. The file is built in its temp file (`.mosaic/tmp/<hash>.part`):
 *
 *   - a temp file left by an earlier attempt (a crash, a lost peer) is kept;
 *   - otherwise, when the target path holds an older version (as indexed), the temp file starts
 *     as a copy of it: a changed large file then costs only its changed blocks;
 *   - the temp file's blocks are hashed and compared with the wanted version's block list,
 *     asked of the peer (same block size, same position); only the blocks that differ are
 *     fetched, as byte ranges (consecutive blocks coalesced into one request);
 *   - the whole file's SHA-256 decides: when only a suffix was missing it is computed while the
 *     bytes arrive (plus one read of the kept prefix), otherwise by reading the result once.
 *
 * Without a usable block list (the peer has not indexed that content, an invalid block size)
 * the temp file is resumed as a prefix.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, stat, truncate } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileSink } from '../core/file-sink.js';
import { fsyncFile } from '../core/fsync.js';
import {
  BLOCK_HASH_BYTES,
  changedBlocks,
  hashFile,
  isValidBlockSize,
  type BlockList,
} from './blocks.js';

/** What a peer offers: a file's bytes by hash, from `start` up to `end` (inclusive), if it has it. */
export interface RangeSource {
  readonly baseUrl: string;
  /** The block list of that content, if the peer has it indexed (null: unknown there). */
  folderBlocks(folder: string, hash: string): Promise<BlockList | null>;
  folderContent(
    folder: string,
    hash: string,
    start: number,
    end?: number,
  ): Promise<{ body: Readable; start: number } | null>;
}

export interface WantedFile {
  readonly folder: string;
  readonly hash: string;
  readonly size: number;
}

export interface LargeFetchResult {
  /** The temp file now holds exactly the wanted content (verified), fsynced. */
  readonly done: boolean;
  /** The peer answered that it does not hold the content (not a failure, not other bytes). */
  readonly lacked: boolean;
  /** Bytes that came over the wire. */
  readonly fetchedBytes: number;
  /** Where the first fetched range started (> 0: something was reused or resumed). */
  readonly firstFetchedAt: number;
}

/** A byte range [start, end) to fetch. */
interface Run {
  readonly start: number;
  readonly end: number;
}

/**
 * Builds `tmp` from what is there, `seed` (an older version of the file on this disk, or null)
 * and `source`. Throws on transfer errors (the temp file keeps what arrived: a later attempt
 * reuses it); resolves `done: false` when the peer lacks the file (`lacked`) or sent other
 * content.
 */
export async function fetchLarge(
  source: RangeSource,
  wanted: WantedFile,
  tmp: string,
  seed: string | null,
): Promise<LargeFetchResult> {
  const runs = await plan(source, wanted, tmp, seed);
  let fetchedBytes = 0;
  const firstFetchedAt = runs[0]?.start ?? wanted.size;
  const only = runs[0];
  if (runs.length === 1 && only?.end === wanted.size) {
    // A suffix: hash the kept prefix, then the new bytes as they arrive.
    const res = await source.folderContent(wanted.folder, wanted.hash, only.start);
    if (!res) return { done: false, lacked: true, fetchedBytes, firstFetchedAt };
    const hash = await receiveSuffix(res.body, tmp, res.start, wanted.size);
    fetchedBytes += wanted.size - res.start;
    return { done: hash === wanted.hash, lacked: false, fetchedBytes, firstFetchedAt: res.start };
  }
  for (const run of runs) {
    const res = await source.folderContent(wanted.folder, wanted.hash, run.start, run.end - 1);
    if (!res) return { done: false, lacked: true, fetchedBytes, firstFetchedAt };
    if (res.start !== run.start) {
      res.body.destroy();
      throw new Error('the peer ignored the byte range');
    }
    await writeRange(res.body, tmp, run);
    fetchedBytes += run.end - run.start;
  }
  await fsyncFile(tmp);
  const whole = await hashFile(tmp, { blockSize: 1024 * 1024 });
  return { done: whole.hash === wanted.hash, lacked: false, fetchedBytes, firstFetchedAt };
}

/** A block list that fits a file of `size` bytes, or null. */
function usable(list: BlockList | null, size: number): BlockList | null {
  if (list === null || !isValidBlockSize(list.blockSize)) return null;
  const expected = Math.ceil(size / list.blockSize) * BLOCK_HASH_BYTES;
  return list.blocks.length === expected ? list : null;
}

/**
 * The byte ranges `tmp` still lacks. The wanted version's block list is asked of the peer only
 * when something here could be reused (a temp file, an older version).
 */
async function plan(
  source: RangeSource,
  wanted: WantedFile,
  tmp: string,
  seed: string | null,
): Promise<Run[]> {
  let have = (await stat(tmp).catch(() => null))?.size ?? null;
  const list =
    have === null && seed === null
      ? null
      : usable(await source.folderBlocks(wanted.folder, wanted.hash), wanted.size);
  if (list === null) {
    const start = have !== null && have <= wanted.size ? have : 0;
    return [{ start, end: wanted.size }];
  }
  const { blockSize } = list;
  if (have === null && seed !== null) {
    try {
      await copyFile(seed, tmp);
      have = (await stat(tmp)).size;
    } catch {
      have = null;
    }
  }
  if (have === null || have === 0) return [{ start: 0, end: wanted.size }];
  // A prefix stays a prefix: its blocks are compared, those past its end are missing anyway.
  // (Extending it to the full size first made a sparse file whose holes were read and hashed,
  // and whose size no longer said how much had arrived.)
  if (have > wanted.size) await truncate(tmp, wanted.size);
  const present = await hashFile(tmp, { blockSize });
  const missing = changedBlocks({ blockSize, blocks: present.blocks }, list);
  const runs: Run[] = [];
  for (const block of missing) {
    const start = block * blockSize;
    const end = Math.min(wanted.size, start + blockSize);
    const last = runs.at(-1);
    if (last?.end === start) runs[runs.length - 1] = { start: last.start, end };
    else runs.push({ start, end });
  }
  return runs;
}

/** Writes the body at [run.start, run.end) of `tmp`; refuses more or fewer bytes. */
async function writeRange(body: Readable, tmp: string, run: Run): Promise<void> {
  let received = 0;
  const length = run.end - run.start;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      if (received > length) done(new Error('longer than asked for'));
      else done(null, chunk);
    },
    flush(done) {
      done(received === length ? null : new Error('shorter than asked for'));
    },
  });
  await pipeline(body, meter, fileSink(tmp, { flags: 'r+', start: run.start }));
}

/**
 * Streams `body` into `tmp` from `start` (what is before it stays, and is hashed first), fsyncs
 * it, and returns the SHA-256 of the whole file: one pass over the new bytes.
 */
async function receiveSuffix(
  body: Readable,
  tmp: string,
  start: number,
  size: number,
): Promise<string> {
  const hash = createHash('sha256');
  if (start > 0) {
    await pipeline(
      createReadStream(tmp, { start: 0, end: start - 1 }),
      async (chunks: AsyncIterable<Buffer>) => {
        for await (const chunk of chunks) hash.update(chunk);
      },
    );
  }
  let received = start;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      if (received > size) {
        done(new Error('longer than announced'));
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(
    body,
    meter,
    fileSink(tmp, start > 0 ? { flags: 'r+', start, flush: true } : { flush: true }),
  );
  if (received !== size) throw new Error('shorter than announced');
  return hash.digest('hex');
}
