/**
 * Where a synced folder's contents are on this disk, by content hash: the paths whose recorded
 * disk state holds one (`folder_files.local_hash`, its index by folder and hash) and the folder's
 * trash. What serving a peer, a move or a rename here, and a pull's "held already?" look up;
 * part of the folder index (`FolderIndexRepository.copies`), on the same connection.
 */
import type { Db } from '../db/database.js';
import { COLUMNS, fromDb, type DbRow, type DiskCopy, type FolderFileRow } from './folder-rows.js';

export class FolderCopiesRepository {
  private readonly byHashStmt;
  private readonly allByHashStmt;
  private readonly copiesOfStmt;
  private readonly pathByHashStmt;
  private readonly heldStmt;
  private readonly setBlocksStmt;

  constructor(db: Db) {
    // local_hash: this content is on disk here, readable right now (whatever the version).
    this.byHashStmt = db.prepare(
      `SELECT ${COLUMNS} FROM folder_files WHERE folder = ? AND local_hash = ? LIMIT 1`,
    );
    this.allByHashStmt = db
      .prepare(
        `SELECT path, local_size, local_mtime_ms FROM folder_files
         WHERE folder = ? AND local_hash = ? LIMIT ?`,
      )
      .raw(true);
    // Up to ? paths per content, for a list of contents given as a JSON array (one statement,
    // so one read transaction, for a whole request; the index on (folder, local_hash) serves it).
    this.copiesOfStmt = db
      .prepare(
        `SELECT local_hash, path, local_size, local_mtime_ms FROM (
           SELECT local_hash, path, local_size, local_mtime_ms,
                  ROW_NUMBER() OVER (PARTITION BY local_hash) AS n
           FROM folder_files
           WHERE folder = ? AND local_hash IN (SELECT value FROM json_each(?)))
         WHERE n <= ?`,
      )
      .raw(true);
    this.pathByHashStmt = db
      .prepare('SELECT path FROM folder_files WHERE folder = ? AND hash = ? LIMIT 1')
      .pluck();
    this.heldStmt = db
      .prepare(
        `SELECT value FROM json_each(?) AS wanted
         WHERE EXISTS (SELECT 1 FROM folder_files WHERE folder = ? AND local_hash = wanted.value)
            OR EXISTS (SELECT 1 FROM folder_trash WHERE folder = ? AND hash = wanted.value)`,
      )
      .pluck();
    this.setBlocksStmt = db.prepare(
      `UPDATE folder_files SET block_size = ?, blocks = ?
       WHERE folder = ? AND local_hash = ? AND hash = local_hash
         AND (blocks IS NULL OR length(blocks) = 0)`,
    );
  }

  /**
   * Up to `limit` paths whose disk holds this content (by the recorded disk state), with that
   * state's size and mtime: what serving a content needs, not whole rows (a peer asks for
   * thousands at once).
   */
  diskCopies(folder: string, hash: string, limit: number): DiskCopy[] {
    return (this.allByHashStmt.all(folder, hash, limit) as [string, number, number][]).map(
      ([path, localSize, localMtimeMs]) => ({ path, localSize, localMtimeMs }),
    );
  }

  /**
   * `diskCopies` for many contents in one statement (a peer's request for up to a thousand): by
   * content, up to `limit` paths each; a content no path holds is absent.
   */
  diskCopiesOf(folder: string, hashes: readonly string[], limit: number): Map<string, DiskCopy[]> {
    const out = new Map<string, DiskCopy[]>();
    if (hashes.length === 0) return out;
    const rows = this.copiesOfStmt.all(folder, JSON.stringify(hashes), limit) as [
      string,
      string,
      number,
      number,
    ][];
    for (const [hash, path, localSize, localMtimeMs] of rows) {
      const copies = out.get(hash);
      const copy = { path, localSize, localMtimeMs };
      if (copies === undefined) out.set(hash, [copy]);
      else copies.push(copy);
    }
    return out;
  }

  /** A file of this folder with that content that is on disk here (for moves and renames). */
  findByHash(folder: string, hash: string): FolderFileRow | undefined {
    const row = this.byHashStmt.get(folder, hash) as DbRow | undefined;
    return row === undefined ? undefined : fromDb(row);
  }

  /** A path of the folder whose version has this content (to name a transfer). */
  pathWithContent(folder: string, hash: string): string | null {
    return (this.pathByHashStmt.get(folder, hash) as string | undefined) ?? null;
  }

  /**
   * Which of these contents this node may hold already (some path's disk state, or the trash):
   * the only ones worth looking for on this disk before asking a peer. One query for a pull
   * round instead of three per file.
   */
  heldHashes(folder: string, hashes: readonly string[]): Set<string> {
    if (hashes.length === 0) return new Set();
    return new Set(this.heldStmt.all(JSON.stringify(hashes), folder, folder) as string[]);
  }

  /**
   * Keeps a block list made after the scan (FolderSync.blocksFor) in the rows whose disk holds
   * that content as their version and have none yet. Inside the index's `exclusive`.
   */
  setBlocks(folder: string, hash: string, list: { blockSize: number; blocks: Buffer }): void {
    this.setBlocksStmt.run(list.blockSize, list.blocks, folder, hash);
  }
}
