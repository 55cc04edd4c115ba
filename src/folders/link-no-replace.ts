/**
 * Putting a file at a path only if nothing is there (a hard link fails with EEXIST), and the
 * mtime and permission bits a written file is given: the primitives of FolderWriter.place and
 * small-writes.ts.
 */
import { linkSync, unlinkSync } from 'node:fs';
import { chmod, link, lstat, rename, unlink } from 'node:fs/promises';
import { diskState } from './disk-state.js';

/** What a link answers when the path is taken (EEXIST), or this file system has no hard links. */
export const NO_HARD_LINK_HERE: ReadonlySet<string> = new Set([
  'EEXIST',
  'EPERM',
  'ENOTSUP',
  'EOPNOTSUPP',
  'ENOSYS',
  'EXDEV',
  'EMLINK',
]);

/**
 * `linkNoReplace` in two calls made here (a small file's place, see FolderPull.writeTmp); false
 * when `to` is taken, or when this file system has no hard links (then the caller goes the long
 * way, which ends in `linkNoReplace`).
 */
export function linkNoReplaceSync(from: string, to: string): boolean {
  try {
    linkSync(from, to);
  } catch (error) {
    if (NO_HARD_LINK_HERE.has((error as NodeJS.ErrnoException).code ?? '')) return false;
    throw error;
  }
  unlinkSync(from);
  return true;
}

/**
 * Puts `from` at `to` only if nothing is at `to` (a hard link fails with EEXIST), then removes
 * `from`; false when `to` was taken. On a file system without hard links: a rename right after a
 * check that `to` is free.
 */
export async function linkNoReplace(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK'].includes(code ?? '')) {
      throw error;
    }
    if ((await diskState(to)) !== null) return false;
    await rename(from, to);
    return true;
  }
  await unlink(from);
  return true;
}

/** Half a millisecond up: seconds as a double must not round below the recorded millisecond. */
export function mtimeSeconds(mtimeMs: number): number {
  return (mtimeMs + 0.5) / 1000;
}

/**
 * The permission bits of the file at `path` (null: none there, or not a file). A version carries
 * no mode: the file that replaces this one is given its bits (`keepMode`), or a pulled edit of
 * the user's executable script (or private file) came in as 0644 and undid their chmod.
 */
export async function modeOf(path: string): Promise<number | null> {
  const info = await lstat(path).catch(() => null);
  return info?.isFile() === true ? info.mode & 0o7777 : null;
}

/**
 * Gives the file just linked in at `path` the bits of the one it replaced (`modeOf`). After the
 * link, not before: the link log judges a link by the temp file's change time (link-log.ts).
 */
export async function keepMode(path: string, mode: number | null): Promise<void> {
  if (mode === null || (await modeOf(path)) === mode) return;
  await chmod(path, mode).catch(() => undefined);
}
