/**
 * What the index records of a path on disk, read the one way every part of folder sync compares
 * it: size, mtime in WHOLE milliseconds from the nanosecond field, inode.
 *
 * `Stats.mtimeMs` is a double: for an mtime such as 1700000000.123999999 s it rounds up to
 * ...124 ms, while the scanner (bigint nanoseconds) records ...123. Comparing one with the other
 * told a node that an untouched file had changed: the sender then refused to serve its content
 * and the receiver asked for it forever (issue 11, cause 6). Everything reads it here instead.
 */
import { lstatSync, type BigIntStats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

export interface DiskState {
  readonly size: number;
  /** Whole milliseconds (nanoseconds / 10^6, truncated). */
  readonly mtimeMs: number;
  readonly ino: number;
  isDirectory(): boolean;
  isFile(): boolean;
}

/** What a DiskState is read from: an lstat's or fstat's bigint stats, or the same from C. */
type StatFields = Pick<BigIntStats, 'size' | 'mtimeNs' | 'ino' | 'isDirectory' | 'isFile'>;

export function diskStateOf(info: BigIntStats): DiskState {
  return new StatState(info);
}

/**
 * A DiskState from an lstat: five plain fields and the methods on the prototype (was two
 * closures per call holding the whole BigIntStats: a pull takes one per file written).
 */
class StatState implements DiskState {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  private readonly directory: boolean;
  private readonly file: boolean;

  constructor(info: StatFields) {
    this.size = Number(info.size);
    this.mtimeMs = wholeMs(info.mtimeNs);
    this.ino = inodeNumber(info.ino);
    this.directory = info.isDirectory();
    this.file = info.isFile();
  }

  isDirectory(): boolean {
    return this.directory;
  }

  isFile(): boolean {
    return this.file;
  }
}

/** The disk state at `path` (not following a symbolic link), or null when nothing is there. */
export async function diskState(path: string): Promise<DiskState | null> {
  const info = await lstat(path, { bigint: true }).catch(() => null);
  return info === null ? null : diskStateOf(info);
}

/**
 * `diskState` by a direct call: for a path whose parents were just looked up (they are in the
 * kernel's caches), a few microseconds, less than a trip through libuv's thread pool.
 */
export function diskStateSync(path: string): DiskState | null {
  const info = lstatSync(path, { bigint: true, throwIfNoEntry: false });
  return info === undefined ? null : diskStateOf(info);
}

/**
 * A temp file's state right before its link into place, with its change time: a link changes it
 * (the link count is part of the inode), and the link log tells by it whether a link was made
 * whose path the user has since removed (link-log.ts).
 */
export interface TempState extends DiskState {
  readonly ctimeNs: bigint;
}

class TempStatState extends StatState implements TempState {
  readonly ctimeNs: bigint;

  constructor(info: StatFields & Pick<BigIntStats, 'ctimeNs'>) {
    super(info);
    this.ctimeNs = info.ctimeNs;
  }
}

export function tempStateOf(info: BigIntStats): TempState {
  return new TempStatState(info);
}

const notADirectory = (): boolean => false;
const aFile = (): boolean => true;

/** A regular temp file's state from an fstat made in C (native/beneath/batch.c). */
export function tempStateOfFile(
  size: bigint,
  ino: bigint,
  mtimeNs: bigint,
  ctimeNs: bigint,
): TempState {
  return new TempStatState({
    size,
    ino,
    mtimeNs,
    ctimeNs,
    isDirectory: notADirectory,
    isFile: aFile,
  });
}

/** `diskState` of a temp file, with its change time; null when it is gone. */
export async function tempState(path: string): Promise<TempState | null> {
  const info = await lstat(path, { bigint: true }).catch(() => null);
  return info === null ? null : tempStateOf(info);
}

export async function handleDiskState(handle: FileHandle): Promise<DiskState> {
  return diskStateOf(await handle.stat({ bigint: true }));
}

export function wholeMs(ns: bigint): number {
  return Number(ns / 1_000_000n);
}

/** SQLite integers are signed 64-bit; inode numbers are unsigned 64-bit. */
export function inodeNumber(ino: bigint): number {
  return Number(BigInt.asIntN(64, ino));
}
