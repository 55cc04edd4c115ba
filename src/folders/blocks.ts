/**
 * Content hashes of folder files: one SHA-256 of the whole file (its identity, as for blobs) and
 * one SHA-256 per fixed-size block (so that a later transfer can fetch only the blocks that
 * changed, and resume). Both come from a single read of the file through one reused buffer, so
 * memory stays bounded whatever the file's size.
 *
 * Block hashes are stored concatenated: block i is bytes [32 i, 32 i + 32) of `blocks`.
 */
import { createHash, hash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import { open } from 'node:fs/promises';

export const MIN_BLOCK_SIZE = 128 * 1024;
export const MAX_BLOCK_SIZE = 16 * 1024 * 1024;
/** The block size grows until a file has at most this many blocks (or reaches the maximum). */
export const TARGET_BLOCKS = 2000;
export const BLOCK_HASH_BYTES = 32;

/** The most read at once (reads need not line up with blocks). */
export const READ_BUFFER_BYTES = 1024 * 1024;

export interface FileHash {
  /** SHA-256 (hex) of the whole content. */
  readonly hash: string;
  /** Bytes actually read (the caller compares it with what it stat'ed). */
  readonly size: number;
  readonly blockSize: number;
  /** The concatenated 32-byte SHA-256 of each block; empty for an empty file. */
  readonly blocks: Buffer;
  /**
   * The file's state taken from its open descriptor once every byte was read (a small file
   * read with direct calls: hashSmallFile), for a caller that must know the bytes hashed are
   * the ones it stat'ed: the same inode, unchanged since (size and mtime). Absent otherwise.
   */
  readonly read?: ReadState;
}

/** A file's size, mtime (ns) and inode, from the descriptor the bytes were read through. */
export interface ReadState {
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ino: bigint;
}

/**
 * Where the bytes of small files go as they are hashed (RecentContent): `put` gets a view of a
 * buffer reused for the next file, valid only during the call (it copies what it keeps).
 */
export interface ContentKeeper {
  /** Files up to this size are handed over. */
  readonly maxFileBytes: number;
  put(hash: string, bytes: Buffer): void;
}

/** A file's block list as the index stores it. */
export interface BlockList {
  readonly blockSize: number;
  readonly blocks: Buffer;
}

export class NotARegularFileError extends Error {
  constructor(readonly path: string) {
    super(`Not a regular file: ${path}`);
    this.name = new.target.name;
  }
}

/**
 * The block size for a file of `size` bytes: the smallest power of two from 128 KiB to 16 MiB
 * that gives at most ~2000 blocks. When the file already has blocks of size `previous` and that
 * is within one step of the ideal, `previous` is kept: a file that grows past a threshold then
 * still shares its unchanged blocks with the old version.
 */
export function blockSizeFor(size: number, previous?: number): number {
  let blockSize = MIN_BLOCK_SIZE;
  while (blockSize < MAX_BLOCK_SIZE && size > blockSize * TARGET_BLOCKS) blockSize *= 2;
  if (
    previous !== undefined &&
    isValidBlockSize(previous) &&
    (previous === blockSize / 2 || previous === blockSize * 2)
  ) {
    return previous;
  }
  return blockSize;
}

export function isValidBlockSize(blockSize: number): boolean {
  return (
    Number.isInteger(blockSize) &&
    blockSize >= MIN_BLOCK_SIZE &&
    blockSize <= MAX_BLOCK_SIZE &&
    (blockSize & (blockSize - 1)) === 0
  );
}

export function blockCount(blocks: Buffer): number {
  if (blocks.length % BLOCK_HASH_BYTES !== 0) {
    throw new Error(`A block list has ${blocks.length} bytes, not a multiple of 32`);
  }
  return blocks.length / BLOCK_HASH_BYTES;
}

/**
 * Hashes a regular file in one pass. `blockSize` defaults to `blockSizeFor(size)`; any power of
 * two is accepted (tests use small ones). Throws NotARegularFileError for anything else — the
 * file is opened non-blocking, so a FIFO swapped in after the caller's stat cannot hang it.
 */
export interface HashFileOptions {
  readonly blockSize?: number;
  readonly keep?: ContentKeeper;
  readonly sizeHint?: number;
  /**
   * One part only: 'whole' leaves `blocks` empty (a scan of a large file: its list is made when
   * a peer asks, FolderSync.blocksFor), 'blocks' leaves `hash` empty (hash-threads.ts runs the
   * two parts on two threads). Default both, from one read.
   */
  readonly part?: 'whole' | 'blocks';
  /** Read into this buffer (a thread's own, reused) instead of a new one. */
  readonly buffer?: Buffer;
}

export async function hashFile(path: string, options: HashFileOptions = {}): Promise<FileHash> {
  if (
    options.sizeHint !== undefined &&
    options.sizeHint <= SYNC_HASH_MAX &&
    options.part === undefined
  ) {
    return hashSmallFile(path, options.sizeHint, options);
  }
  const wantWhole = options.part !== 'blocks';
  const wantBlocks = options.part !== 'whole';
  // O_NONBLOCK only matters for FIFOs and devices; Windows has neither the flag nor FIFOs.
  const flags =
    process.platform === 'win32' ? constants.O_RDONLY : constants.O_RDONLY | constants.O_NONBLOCK;
  const handle = await open(path, flags);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new NotARegularFileError(path);
    const blockSize = options.blockSize ?? blockSizeFor(info.size);
    if (!Number.isInteger(blockSize) || blockSize <= 0 || (blockSize & (blockSize - 1)) !== 0) {
      throw new Error(`Block size ${blockSize} is not a power of two`);
    }

    const whole = createHash('sha256');
    const blockDigests: Buffer[] = [];
    let block = createHash('sha256');
    let inBlock = 0; // bytes of the current block hashed so far
    let size = 0;
    // Sized for the file when it is small (most are, and a scan hashes several at once); one
    // byte more, so that a single short read brings the whole file.
    const keep = info.size <= (options.keep?.maxFileBytes ?? -1) && info.size < READ_BUFFER_BYTES;
    const length = Math.min(READ_BUFFER_BYTES, info.size + 1);
    const given = options.buffer !== undefined && options.buffer.length >= length;
    const buffer = given ? options.buffer.subarray(0, length) : Buffer.allocUnsafe(length);
    let reads = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      reads++;
      const chunk = buffer.subarray(0, bytesRead);
      if (wantWhole) whole.update(chunk);
      size += bytesRead;
      // A read may end inside a block or span several: feed each block its part.
      let offset = wantBlocks ? 0 : bytesRead;
      while (offset < bytesRead) {
        const take = Math.min(blockSize - inBlock, bytesRead - offset);
        block.update(chunk.subarray(offset, offset + take));
        inBlock += take;
        offset += take;
        if (inBlock === blockSize) {
          blockDigests.push(block.digest());
          block = createHash('sha256');
          inBlock = 0;
        }
      }
      // A short read once all the stat'ed bytes are in is the end: skip the empty read that
      // would confirm it (a file that grew meanwhile is the caller's to notice: size differs).
      if (bytesRead < buffer.length && size >= info.size) break;
    }
    if (inBlock > 0) blockDigests.push(block.digest());
    const hashed = {
      hash: wantWhole ? whole.digest('hex') : '',
      size,
      blockSize,
      blocks: Buffer.concat(blockDigests),
    };
    // One read brought every byte hashed: those bytes are this content.
    if (keep && reads <= 1) options.keep?.put(hashed.hash, buffer.subarray(0, size));
    return hashed;
  } finally {
    await handle.close();
  }
}

/** Files up to this size (by the caller's lstat) are read with direct calls (hashSmallFile). */
export const SYNC_HASH_MAX = 64 * 1024;

/**
 * The buffer small files are read into, one after the other (hashSmallFile is synchronous, so
 * no two reads share it): not one allocation per file, whose garbage piled up between full GCs
 * at 10 000 files (docs/benchmarks.md, "Memory, third pass"). Made at the first small file.
 */
let scratch: Buffer | undefined;

/**
 * `hashFile` for a small file with direct calls: open, read, fstat, close, each a few
 * microseconds (the page cache), cheaper than as many trips through libuv's thread pool
 * (docs/benchmarks.md). The file is read up to the caller's size hint, and on to its end only if
 * that read filled the buffer; the descriptor's state after the read (`read`) then tells what
 * was read: a regular file (else NotARegularFileError), of that size, mtime and inode. That one
 * fstat replaces a stat before the read and the caller's lstat of the path after it (a path walk):
 * two system calls fewer per new file a scan hashes (docs/benchmarks.md, issue 16, 2026-12-06).
 */
function hashSmallFile(
  path: string,
  sizeHint: number,
  options: { blockSize?: number; keep?: ContentKeeper },
): FileHash {
  const flags =
    process.platform === 'win32' ? constants.O_RDONLY : constants.O_RDONLY | constants.O_NONBLOCK;
  const fd = openSync(path, flags);
  try {
    // One byte more than the hint: a file that grew reads as larger (the caller compares).
    scratch ??= Buffer.allocUnsafeSlow(SYNC_HASH_MAX + 1);
    let buffer = scratch;
    let size = 0;
    let info: BigIntStats | undefined;
    for (;;) {
      if (size === buffer.length) {
        // More than the hint: what is this? A FIFO or a device may never end.
        info ??= fstatSync(fd, { bigint: true });
        if (!info.isFile()) throw new NotARegularFileError(path);
        const larger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(larger);
        buffer = larger;
      }
      const bytesRead = readDirect(fd, buffer, size, path);
      if (bytesRead === 0) break;
      size += bytesRead;
      // All the hinted bytes are in: skip the empty read that would confirm the end (a file
      // that grew meanwhile shows in `read`, whose size differs).
      if (size === sizeHint && info === undefined) break;
    }
    const read = fstatSync(fd, { bigint: true });
    if (!read.isFile()) throw new NotARegularFileError(path);
    const blockSize = options.blockSize ?? blockSizeFor(size);
    if (!Number.isInteger(blockSize) || blockSize <= 0 || (blockSize & (blockSize - 1)) !== 0) {
      throw new Error(`Block size ${blockSize} is not a power of two`);
    }
    const content = buffer.subarray(0, size);
    // One-shot digests (no Hash object, whose native context lives until a GC). A file of one
    // block (any small one: blocks are 128 KiB at least) is hashed once: its block is all of it.
    const whole = hash('sha256', content, 'buffer');
    const blocks: Buffer[] = [];
    if (size > 0 && size <= blockSize) blocks.push(whole);
    else {
      for (let at = 0; at < size; at += blockSize) {
        blocks.push(hash('sha256', content.subarray(at, at + blockSize), 'buffer'));
      }
    }
    const hashed = {
      hash: whole.toString('hex'),
      size,
      blockSize,
      blocks: blocks.length === 1 ? (blocks[0] as Buffer) : Buffer.concat(blocks),
      read: { size: read.size, mtimeNs: read.mtimeNs, ino: read.ino },
    };
    if (size <= (options.keep?.maxFileBytes ?? -1)) options.keep?.put(hashed.hash, content);
    return hashed;
  } finally {
    closeSync(fd);
  }
}

/**
 * `readSync`; when it fails, a descriptor that is not a regular file's (a directory: EISDIR, a
 * FIFO with a writer: EAGAIN) is told as that: NotARegularFileError.
 */
function readDirect(fd: number, buffer: Buffer, at: number, path: string): number {
  try {
    return readSync(fd, buffer, at, buffer.length - at, null);
  } catch (error) {
    if (!fstatSync(fd).isFile()) throw new NotARegularFileError(path);
    throw error;
  }
}

/**
 * Indexes of the blocks of `next` that `previous` does not already have at the same position:
 * what a peer holding `previous` must fetch to build `next`. Lists of different block sizes
 * share nothing, so then every block of `next` is listed.
 */
export function changedBlocks(previous: BlockList | null, next: BlockList): number[] {
  const count = blockCount(next.blocks);
  const comparable =
    previous !== null && previous.blockSize === next.blockSize ? blockCount(previous.blocks) : 0;
  const changed: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = i * BLOCK_HASH_BYTES;
    const end = start + BLOCK_HASH_BYTES;
    if (
      i >= comparable ||
      previous === null ||
      previous.blocks.compare(next.blocks, start, end, start, end) !== 0
    ) {
      changed.push(i);
    }
  }
  return changed;
}
