/**
 * `folder_trash`: where this node keeps the files a folder sync replaced or deleted
 * (`<root>/.mosaic-trash/<time>/…`), by content, so that a move or a change back takes the
 * content from the trash instead of from a peer. Synchronous, on the SQLite connection of the
 * node (folders stay on one machine; see FolderIndexRepository).
 */
import type Database from 'better-sqlite3';

export interface TrashedFile {
  readonly hash: string;
  readonly file: string;
}

export class FolderTrashRepository {
  private readonly recentStmt;
  private readonly insertStmt;
  private readonly forgetStmt;
  private readonly forgetUnderStmt;

  constructor(db: Database.Database) {
    this.recentStmt = db
      .prepare(
        'SELECT file FROM folder_trash WHERE folder = ? AND hash = ? ORDER BY trashed_at DESC LIMIT ?',
      )
      .pluck();
    this.insertStmt = db.prepare(
      'INSERT OR REPLACE INTO folder_trash (folder, hash, file, trashed_at) VALUES (?, ?, ?, ?)',
    );
    this.forgetStmt = db.prepare('DELETE FROM folder_trash WHERE file = ?');
    this.forgetUnderStmt = db.prepare(
      "DELETE FROM folder_trash WHERE folder = ? AND file LIKE ? ESCAPE '\\'",
    );
  }

  /** The most recently trashed files with this content, newest first. */
  recent(folder: string, hash: string, limit: number): string[] {
    return this.recentStmt.all(folder, hash, limit) as string[];
  }

  /** Records files moved into the trash and forgets files taken out of it. */
  record(
    folder: string,
    trashed: readonly TrashedFile[],
    untrashed: readonly string[],
    now: number,
  ): void {
    // The same file name exists in one folder only (it is under that folder's root).
    for (const file of untrashed) this.forgetStmt.run(file);
    for (const t of trashed) this.insertStmt.run(folder, t.hash, t.file, now);
  }

  /** Forgets every trashed file under directory `dir` (it was swept). */
  forgetUnder(folder: string, dir: string): void {
    this.forgetUnderStmt.run(folder, `${dir.replace(/[\\%_]/g, (c) => `\\${c}`)}/%`);
  }
}
