/**
 * Where this node holds a given content of a synced folder, for a peer to fetch or for a move
 * here: a path whose disk state is still what was indexed, or a trashed file. Whoever reads it
 * verifies the hash of what it gets: this only points at the likely place.
 */
import { closeSync, fstatSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { READ_NO_FOLLOW } from '../core/read-no-follow.js';
import type { FolderBeneath } from './beneath.js';
import { isValidBlockSize, type BlockList } from './blocks.js';
import type { OpenFile } from './content-frames.js';
import { diskStateOf, type DiskState } from './disk-state.js';
import { hashOnThreads } from './hash-threads.js';
import { regularFileStateInside } from './inside-folder.js';
import type { DiskCopy, FolderIndexRepository } from './folder-index.repository.js';

/** Indexed paths with the content looked at before the trash. */
const CANDIDATES = 4;

export class LocalContent {
  /** The indexed paths of many contents at once, for `find` (one query for a peer's request). */
  copiesOf(folder: string, hashes: readonly string[]): Map<string, DiskCopy[]> {
    return this.index.copies.diskCopiesOf(folder, hashes, CANDIDATES);
  }

  /**
   * `onStale` hears of indexed paths that should hold a content but whose disk state differs
   * from the record (changed since the last scan): the caller logs it and rescans them.
   */
  constructor(
    private readonly index: FolderIndexRepository,
    private readonly onStale: (folder: string, paths: readonly string[]) => void = () => {},
  ) {}

  /**
   * A readable file with this content in folder `folder` (rooted at `root`), or null; `trashed`
   * says it is in the folder's trash (then it may be taken out of it rather than copied).
   */
  async find(
    folder: string,
    root: string,
    hash: string,
    /** The indexed paths with this content, when the caller looked them up already (`copiesOf`). */
    copies: readonly DiskCopy[] = this.index.copies.diskCopies(folder, hash, CANDIDATES),
  ): Promise<{ file: string; trashed: boolean } | null> {
    const stale: string[] = [];
    for (const row of copies) {
      // Never through a symlinked parent nor at a symlink: its target is not the folder's to
      // send to a peer or a device (inside-folder.ts).
      // Direct calls: every parent, then the file itself, whose one lstat gives its state.
      const found = regularFileStateInside(root, row.path);
      if (
        found !== null &&
        found.state.size === row.localSize &&
        found.state.mtimeMs === row.localMtimeMs
      ) {
        return { file: found.file, trashed: false };
      }
      stale.push(row.path);
    }
    for (const file of this.index.trash.recent(folder, hash, 3)) {
      if (await stat(file).catch(() => null)) return { file, trashed: true };
    }
    if (stale.length > 0) this.onStale(folder, stale);
    return null;
  }

  /**
   * `find` for a peer's batch of small files, with the file opened already: each indexed path
   * opened through `beneath` (below the root, no symlink on the way nor at the file: one call
   * where `find` makes one lstat per level and the reader opens the path again), kept if its
   * state is still what was indexed. A trashed copy comes as a path, as from `find`; without
   * `beneath` here (null from its `open`), the answer is `find`'s.
   */
  async openCopy(
    folder: string,
    root: string,
    hash: string,
    beneath: FolderBeneath,
    copies: readonly DiskCopy[] = this.index.copies.diskCopies(folder, hash, CANDIDATES),
  ): Promise<OpenFile | string | null> {
    const stale: string[] = [];
    for (const row of copies) {
      let fd: number | false | null;
      try {
        fd = beneath.open(row.path, READ_NO_FOLLOW);
      } catch {
        // There but not readable here (permissions, no descriptor left): as `find`'s reader.
        continue;
      }
      if (fd === null) return (await this.find(folder, root, hash, copies))?.file ?? null;
      if (fd !== false) {
        let state: DiskState | null = null;
        try {
          const info = fstatSync(fd, { bigint: true });
          if (info.isFile()) state = diskStateOf(info);
        } catch {
          // unreadable: as gone
        }
        if (state?.size === row.localSize && state.mtimeMs === row.localMtimeMs) {
          return { fd, size: state.size };
        }
        closeSync(fd);
      }
      stale.push(row.path);
    }
    for (const file of this.index.trash.recent(folder, hash, 3)) {
      if (await stat(file).catch(() => null)) return file;
    }
    if (stale.length > 0) this.onStale(folder, stale);
    return null;
  }

  /** No indexed path (whatever is on disk there now) nor trashed file holds this content. */
  async lacks(folder: string, hash: string): Promise<boolean> {
    if (this.index.copies.diskCopies(folder, hash, 1).length > 0) return false;
    for (const file of this.index.trash.recent(folder, hash, 3)) {
      if (await stat(file).catch(() => null)) return false;
    }
    return true;
  }

  /**
   * The block list of a content this node has on disk as its version (for a peer's changed-block
   * transfer). A scan indexes a large file by its whole hash only: its list is made here the
   * first time a peer asks, from the file (which must still be that content), and kept.
   */
  async blockList(folder: string, root: string, hash: string): Promise<BlockList | null> {
    const row = this.index.copies.findByHash(folder, hash);
    if (row?.hash !== hash) return null;
    if (row.blocks !== null && row.blocks.length > 0) {
      return { blockSize: row.blockSize, blocks: row.blocks };
    }
    if (!isValidBlockSize(row.blockSize)) return null;
    const found = await this.find(folder, root, hash);
    if (found === null) return null;
    const hashed = await hashOnThreads(found.file, {
      blockSize: row.blockSize,
      sizeHint: row.localSize ?? 0,
    });
    // Changed since it was indexed: the next scan sees it; the peer fetches the whole file.
    if (hashed.hash !== hash || hashed.size < 0) return null;
    const list = { blockSize: hashed.blockSize, blocks: hashed.blocks };
    await this.index.exclusive(() => {
      this.index.copies.setBlocks(folder, hash, list);
    });
    return list;
  }
}
