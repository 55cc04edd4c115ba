/**
 * A pull's small files written into temp files, and moved into place, a batch at a time on
 * libuv's thread pool (`native/beneath/batch.c`): one trip per batch instead of the create, write,
 * futimes, fstat, close and move of each file on the JavaScript thread (docs/benchmarks.md,
 * "A batch's files written and moved on the pool"). The answers are decoded here into what the
 * callers use: a temp file's state, or an error shaped like Node's own fs errors.
 */
import { getSystemErrorName } from 'node:util';
import { join } from 'node:path';
import { tempStateOfFile, type TempState } from './disk-state.js';
import { binding } from './beneath-binding.js';

/** The calls batch.c names in its answers (its CALL_* values, from 1). */
const CALLS = [
  'openat',
  'write',
  'futimens',
  'fstat',
  'openat2',
  'renameat2',
  'linkat',
  'unlink',
  'sha256',
] as const;

/** Slots per file in writeFiles' answer (batch.c WRITE_SLOTS). */
const WRITE_SLOTS = 7;
/** Slots per file in moveFiles' answer (batch.c MOVE_SLOTS). */
const MOVE_SLOTS = 2;

/** One file of a batch written: its state (and descriptor if kept open), or why not. */
export type WrittenFile =
  | { readonly error: null; readonly info: TempState; readonly fd: number | null }
  | { readonly error: NodeJS.ErrnoException; readonly info: null; readonly fd: null }
  /** Its bytes are not those of its SHA-256: nothing was made. */
  | { readonly error: 'wrong content'; readonly info: null; readonly fd: null };

/** batch.c's CALL_SHA256: the file's bytes were not those asked for. */
const CALL_SHA256 = CALLS.indexOf('sha256') + 1;

/** Whether this process writes and moves batches on the pool (the binding has the calls). */
export function batchesOnPool(): boolean {
  const native = binding();
  return native?.writeCheckedFiles !== undefined && native.moveFiles !== undefined;
}

/**
 * Creates each of `names` in the directory `dirFd` (`dir` is its path, for errors), never over
 * an existing file, writes its bytes and sets its mtime to `mtimesMs[i]`, once its bytes are
 * found to have the SHA-256 `sha256s[i]` (hex; on the pool's thread, not this one); descriptors
 * are kept open only with `keepOpen`. `data` must stay unchanged until this settles.
 */
export async function writeFiles(
  dirFd: number,
  dir: string,
  names: readonly string[],
  data: readonly Buffer[],
  sha256s: readonly string[],
  mtimesMs: readonly number[],
  keepOpen: boolean,
): Promise<WrittenFile[]> {
  const native = binding();
  if (native?.writeCheckedFiles === undefined) throw new Error('writeFiles: no batch calls here');
  const out = new BigInt64Array(
    await native.writeCheckedFiles(dirFd, names, data, sha256s, mtimesMs, keepOpen),
  );
  return names.map((name, i): WrittenFile => {
    const at = i * WRITE_SLOTS;
    const errno = Number(out[at]);
    if (errno !== 0 && Number(out[at + 2]) === CALL_SHA256) {
      return { error: 'wrong content', info: null, fd: null };
    }
    if (errno !== 0) {
      return { error: fsError(errno, Number(out[at + 2]), join(dir, name)), info: null, fd: null };
    }
    const fd = Number(out[at + 1]);
    return {
      error: null,
      fd: fd >= 0 ? fd : null,
      info: tempStateOfFile(
        out[at + 3] as bigint,
        out[at + 4] as bigint,
        out[at + 5] as bigint,
        out[at + 6] as bigint,
      ),
    };
  });
}

/** moveFiles' answer: null for each file moved, else its error (FolderBeneath.moveAll). */
export function movedFiles(
  answer: ArrayBuffer,
  rels: readonly string[],
): (NodeJS.ErrnoException | null)[] {
  const out = new BigInt64Array(answer);
  return rels.map((rel, i) => {
    const errno = Number(out[i * MOVE_SLOTS]);
    return errno === 0 ? null : fsError(errno, Number(out[i * MOVE_SLOTS + 1]), rel);
  });
}

/** An Error as Node's fs calls throw them: `code`, `errno`, `syscall`, `path`. */
function fsError(errno: number, call: number, path: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(errno);
  const syscall = CALLS[call - 1] ?? 'unknown';
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), {
    code,
    errno,
    syscall,
    path,
  });
}
