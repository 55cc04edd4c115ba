/**
 * Disk access for remote paths that cannot leave the folder through a symbolic link.
 *
 * `checkRelativePath` and `joinInside` (core/paths.ts) make sure a remote path *names* a place
 * inside the folder; the file system may still resolve it elsewhere: `rename`, `mkdir -p`,
 * `rmdir` and `open` follow every symlinked directory on the way. A local user's
 * `out -> /somewhere` in a synced folder would turn a remote `out/pwned.txt` into
 * `/somewhere/pwned.txt`. So every directory between the folder root and a remote path's last
 * segment is checked with `lstat`, from the root down: each must be a real directory (not a
 * symlink, not a file). The root itself may be a symlink (the user chose it).
 *
 * Node has no `openat`/`O_NOFOLLOW` for directories, so the check and the operation are two
 * steps. The check is synchronous (`lstatSync`, a few microseconds per component) and made in
 * the same tick as the operation is started, just before it, so no other work of this process
 * runs in between. What remains is a race with a *local* user who replaces a checked directory
 * with a symlink in the microseconds between the check and the rename: they already own the
 * folder and can write wherever they can point a link, so that gains them nothing. A remote
 * peer or device cannot create symlinks at all (the scanner never indexes one and the puller
 * never makes one), so it cannot set that race up.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import { join, sep } from 'node:path';
import { checkRelativePath } from './core/index.js';
import { diskStateOf, type DiskState } from './disk-state.js';

/** A remote path whose way into the folder is not real directories all along. */
export class UnsafePathError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`Refused ${JSON.stringify(path)}: ${reason}`);
    this.name = new.target.name;
  }
}

/** The segments of a relative remote path; throws on '', '.', '..', absolute, NUL. */
function segmentsOf(rel: string): string[] {
  const check = checkRelativePath(rel);
  if (!check.ok) throw new UnsafePathError(rel, check.reason);
  // The internal directory is the engine's own: callers that use it pass their own paths.
  return check.path.split('/');
}

/**
 * Checks that the first `count` segments, from `root` down, are real directories. Returns the
 * absolute path they make, or null when one is missing (and `missingOk`).
 */
function walkDirs(
  root: string,
  rel: string,
  segments: readonly string[],
  count: number,
  missingOk: boolean,
): string | null {
  let abs = root;
  for (let i = 0; i < count; i++) {
    // Checked segments (no '', '.', '..'): past the first join, what join gives is a concatenation.
    abs = i === 0 ? join(abs, segments[i] ?? '') : `${abs}${sep}${segments[i] ?? ''}`;
    const info = lstatSync(abs, { throwIfNoEntry: false });
    if (info?.isDirectory() === true) continue;
    const shown = segments.slice(0, i + 1).join('/');
    if (info === undefined) {
      if (missingOk) return null;
      throw new UnsafePathError(rel, `${shown} does not exist`);
    }
    if (info.isSymbolicLink()) throw new UnsafePathError(rel, `${shown} is a symbolic link`);
    if (!info.isDirectory()) throw new UnsafePathError(rel, `${shown} is not a directory`);
  }
  return abs;
}

/**
 * Throws UnsafePathError unless every directory between `root` and the last segment of `rel`
 * is a real directory. A missing one is fine when `missingOk` (nothing can be followed there
 * yet: whoever creates it goes through `makeDirsInside`), refused otherwise. Returns the
 * absolute path of `rel`. Synchronous on purpose: call it right before the operation.
 */
export function assertParentsInside(root: string, rel: string, missingOk = true): string {
  const segments = segmentsOf(rel);
  const parent = walkDirs(root, rel, segments, segments.length - 1, missingOk);
  const last = segments[segments.length - 1] ?? '';
  return parent === null || segments.length === 1
    ? join(root, ...segments)
    : `${parent}${sep}${last}`;
}

/**
 * A file at `rel` to read and send elsewhere (a peer, a device, a local copy): its parents are
 * real directories and it is itself a regular file, not a symlink. Null otherwise.
 */
export function regularFileInside(root: string, rel: string): string | null {
  return regularFileStateInside(root, rel)?.file ?? null;
}

/** `regularFileInside` with the file's disk state, from the same `lstat`. */
export function regularFileStateInside(
  root: string,
  rel: string,
): { file: string; state: DiskState } | null {
  try {
    const abs = assertParentsInside(root, rel, false);
    const info = lstatSync(abs, { bigint: true, throwIfNoEntry: false });
    return info?.isFile() === true ? { file: abs, state: diskStateOf(info) } : null;
  } catch (error) {
    if (error instanceof UnsafePathError) return null;
    throw error;
  }
}

/**
 * Creates the directory `rel` and its missing parents one level at a time, never through a
 * symlink: each level's parents are checked before it is made, and the whole chain again at
 * the end. Returns its absolute path. A component that is a symlink or a file is refused
 * (UnsafePathError); nothing is created below it.
 */
export async function makeDirsInside(root: string, rel: string): Promise<string> {
  const segments = segmentsOf(rel);
  for (let i = 0; i < segments.length; i++) {
    const parent = walkDirs(root, rel, segments, i, false) ?? root;
    const abs = join(parent, segments[i] ?? '');
    if (lstatSync(abs, { throwIfNoEntry: false }) === undefined) {
      try {
        mkdirSync(abs);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
  }
  return walkDirs(root, rel, segments, segments.length, false) ?? root;
}

/**
 * The deepest directory of `rel` (itself included) reached from `root` through real
 * directories only: '' when the first segment already is a symlink, a file or missing. For the
 * scanner's hints, which are local names (any name the file system allows, taken as is): a
 * hinted path under a symlink must not make it walk the link's target. Stops at an empty, '.'
 * or '..' segment.
 */
export function realDirPrefix(root: string, rel: string): string {
  const reached: string[] = [];
  let abs = root;
  for (const segment of rel.split('/')) {
    if (segment === '' || segment === '.' || segment === '..' || segment.includes('\0')) break;
    abs = join(abs, segment);
    if (lstatSync(abs, { throwIfNoEntry: false })?.isDirectory() !== true) break;
    reached.push(segment);
  }
  return reached.join('/');
}
