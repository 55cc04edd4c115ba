/**
 * Two small tables beside `folder_files` (migration 11), for convergence under faults:
 *
 * - `folder_siblings`: the maximal versions of a path while there is more than one (see
 *   core/siblings.ts); absent, the path's only maximal version is its `folder_files` row.
 * - `folder_applying`: the versions a pull is writing and has not recorded yet, so that the scan
 *   after a crash recognises such a file as that version rather than a new local edit.
 */
import type { Db } from '../db/database.js';
import type { FileVersion } from './core/index.js';
import type { FileVersionVector } from './folder-index.repository.js';

/** The `hash` of a directory being made (with mtime 0: a directory's mtime is not its own). */
export const APPLYING_DIR = 'dir';

export interface ApplyingVersion {
  readonly path: string;
  readonly hash: string;
  readonly mtimeMs: number;
  readonly vv: FileVersionVector;
}

export class FolderVersionsRepository {
  private readonly getStmt;
  private readonly putStmt;
  private readonly dropStmt;
  private readonly addApplyingStmt;
  private readonly findApplyingStmt;
  private readonly doneApplyingStmt;
  private readonly clearApplyingStmt;

  constructor(private readonly db: Db) {
    this.getStmt = db
      .prepare('SELECT versions FROM folder_siblings WHERE folder = ? AND path = ?')
      .pluck();
    this.putStmt = db.prepare(
      `INSERT INTO folder_siblings (folder, path, versions) VALUES (?, ?, ?)
       ON CONFLICT (folder, path) DO UPDATE SET versions = excluded.versions`,
    );
    this.dropStmt = db.prepare('DELETE FROM folder_siblings WHERE folder = ? AND path = ?');
    this.addApplyingStmt = db.prepare(
      `INSERT OR REPLACE INTO folder_applying (folder, path, hash, mtime_ms, vv)
       VALUES (?, ?, ?, ?, ?)`,
    );
    this.findApplyingStmt = db.prepare(
      'SELECT vv FROM folder_applying WHERE folder = ? AND path = ? AND hash = ? AND mtime_ms = ?',
    );
    this.doneApplyingStmt = db.prepare('DELETE FROM folder_applying WHERE folder = ? AND path = ?');
    this.clearApplyingStmt = db.prepare('DELETE FROM folder_applying WHERE folder = ?');
  }

  /** The siblings of a path, or null when its row's version is the only one. */
  siblings(folder: string, path: string): FileVersion[] | null {
    const json = this.getStmt.get(folder, path) as string | undefined;
    return json === undefined ? null : (JSON.parse(json) as FileVersion[]);
  }

  setSiblings(folder: string, path: string, versions: readonly FileVersion[]): void {
    if (versions.length <= 1) this.dropStmt.run(folder, path);
    else this.putStmt.run(folder, path, JSON.stringify(versions));
  }

  /** Remembers versions about to be written (one transaction, before the first rename). */
  addApplying(folder: string, versions: readonly ApplyingVersion[]): void {
    this.db.transaction(() => {
      for (const v of versions) {
        this.addApplyingStmt.run(folder, v.path, v.hash, v.mtimeMs, JSON.stringify(v.vv));
      }
    })();
  }

  /** The vector of a version being written at `path` with this content and mtime, if any. */
  applying(folder: string, path: string, hash: string, mtimeMs: number): FileVersionVector | null {
    const row = this.findApplyingStmt.get(folder, path, hash, mtimeMs) as
      { vv: string } | undefined;
    return row === undefined ? null : (JSON.parse(row.vv) as FileVersionVector);
  }

  /** The path's disk state is recorded (or was just recognised): forget what was being written. */
  doneApplying(folder: string, paths: readonly string[]): void {
    for (const path of paths) this.doneApplyingStmt.run(folder, path);
  }

  clearApplying(folder: string): void {
    this.clearApplyingStmt.run(folder);
  }
}
