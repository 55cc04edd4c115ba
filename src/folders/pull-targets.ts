/**
 * Where a pull writes each remote path (FolderPull): the target on disk, or null when the path
 * is refused — not a safe relative path in NFC, or a parent that is not a real directory (a
 * symlink: parked, still needed, until the link goes; warned once per path). Each parent
 * directory is checked once per pull, not once per file: every write checks the parents again
 * in the same tick as the write (folder-write.ts, inside-folder.ts), so this early check only
 * gives the refusal its clear reason before any content is fetched.
 */
import { checkRelativePath, joinInside } from './core/index.js';
import type { FolderFileRow } from './folder-index.repository.js';
import type { FolderSyncDeps } from './folder-sync.js';
import { assertParentsInside, UnsafePathError } from './inside-folder.js';

export class PullTargets {
  /** Remote paths refused for a symlinked parent (warned once each). */
  private readonly refusedPaths = new Set<string>();
  /** Parent directories found to be real directories during this pull. */
  private readonly checkedParents = new Set<string>();

  constructor(private readonly deps: FolderSyncDeps) {}

  private get id(): string {
    return this.deps.config.id;
  }

  /** A new pull: every parent is checked again. */
  startPull(): void {
    this.checkedParents.clear();
  }

  /** The target on disk for a remote path, or null (refused and logged) when it is unsafe. */
  of(row: FolderFileRow): string | null {
    const check = checkRelativePath(row.path);
    if (!check.ok || check.path !== row.path) {
      this.deps.log.warn(
        { folder: this.id, path: row.path, reason: check.ok ? 'not NFC' : check.reason },
        'remote path refused',
      );
      return null;
    }
    const target = joinInside(this.deps.config.root, row.path);
    const parent = row.path.slice(0, Math.max(0, row.path.lastIndexOf('/')));
    if (this.checkedParents.has(parent)) return target;
    try {
      // Refused early with a clear reason (and checked again right before each write).
      assertParentsInside(this.deps.config.root, row.path);
      this.checkedParents.add(parent);
    } catch (error) {
      if (!(error instanceof UnsafePathError)) throw error;
      // Parked (still needed) until the link goes: warned once per path, not at every pull.
      const level = this.refusedPaths.has(row.path) ? 'debug' : 'warn';
      this.refusedPaths.add(row.path);
      this.deps.log[level](
        { folder: this.id, path: row.path, reason: error.reason },
        'remote path refused: it would leave the folder through a symbolic link',
      );
      return null;
    }
    return target;
  }
}
