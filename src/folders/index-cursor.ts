import type { ScanRow } from './folder-index.repository.js';

/** What the scanner reads of the index (FolderIndexRepository has it). */
export interface FolderIndexReader {
  /** Rows after `afterPath`, in path order; only those before `beforePath` when it is given. */
  page(folder: string, afterPath: string, limit: number, beforePath?: string): ScanRow[];
}

/**
 * The folder's index rows in path order, a page at a time. The caller writes rows during the
 * scan (onBatch), but only for paths the walk has passed, and those are never read back: each
 * step peeks up to its own path first, so the next page starts after a row at or beyond the
 * current path — or the index is known to be exhausted.
 */
export class IndexCursor {
  private rows: ScanRow[] = [];
  private at = 0;
  private after = '';
  private exhausted = false;
  /** With a prefix: the first path beyond every path below it ('dir0' for 'dir/'). */
  private readonly before: string | undefined;

  /**
   * With a `prefix` ('dir/'), only the rows below that directory: the first page starts there,
   * and the first row beyond it ends the cursor.
   */
  constructor(
    private readonly index: FolderIndexReader,
    private readonly folder: string,
    private readonly pageSize: number,
    private readonly prefix = '',
  ) {
    // No path ends with '/', so every row below `prefix` sorts after it, and before the prefix
    // with its '/' (0x2F) raised to '0' (0x30): a page of a small directory reads only its rows,
    // not a page's worth of the directories after it (a hinted scan lists one directory).
    this.after = prefix;
    this.before = prefix === '' ? undefined : `${prefix.slice(0, -1)}0`;
  }

  peek(): ScanRow | undefined {
    if (this.at >= this.rows.length && !this.exhausted) {
      this.rows =
        this.before === undefined
          ? this.index.page(this.folder, this.after, this.pageSize)
          : this.index.page(this.folder, this.after, this.pageSize, this.before);
      this.at = 0;
      this.exhausted = this.rows.length < this.pageSize;
      const last = this.rows.at(-1);
      if (last !== undefined) this.after = last.path;
    }
    const row = this.rows[this.at];
    if (row !== undefined && !row.path.startsWith(this.prefix)) {
      this.rows = [];
      this.at = 0;
      this.exhausted = true;
      return undefined;
    }
    return row;
  }

  next(): void {
    this.at++;
  }

  /** The row at exactly `path`, consumed; undefined when there is none. */
  take(path: string): ScanRow | undefined {
    const row = this.peek();
    if (row?.path !== path) return undefined;
    this.next();
    return row;
  }

  /** Consumes, without judging them, the rows below `prefix` (ending with '/'). */
  skipPrefix(prefix: string): void {
    for (let row = this.peek(); row?.path.startsWith(prefix) === true; row = this.peek()) {
      this.next();
    }
  }
}
