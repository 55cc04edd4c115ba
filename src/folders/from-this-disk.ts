/**
 * Content a pull finds on this disk instead of asking a peer (FolderPull): a file whose deletion
 * is pending here (a rename or move at a peer) is moved into the temp file; so is a trashed file
 * with that content; any other indexed file with it is copied. What comes from the trash or a
 * copy is verified. FolderPull asks only for contents `heldHashes` says may be here.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fsyncFile } from '../core/fsync.js';
import { diskState } from './disk-state.js';
import type { PullCounters } from './folder-pull.js';
import type { FolderSyncDeps } from './folder-sync.js';
import { matchesIndexed, type FolderWriter } from './folder-write.js';
import type { LocalContent } from './local-content.js';
import { assertParentsInside, regularFileInside } from './inside-folder.js';

export class FromThisDisk {
  /** Paths whose file was moved to a new path in this pull: their deletion is done. */
  readonly movedAway = new Set<string>();

  constructor(
    private readonly deps: FolderSyncDeps,
    private readonly local: LocalContent,
    private readonly writer: FolderWriter,
    private readonly counters: PullCounters,
  ) {}

  private get id(): string {
    return this.deps.config.id;
  }

  startPull(): void {
    this.movedAway.clear();
  }

  /**
   * Content already on this disk: a file about to be deleted here (a move or rename elsewhere),
   * or one in the trash, is moved into `tmp`; otherwise a file with that content is copied.
   * What comes from the trash or a copy is verified.
   */
  async take(hash: string, tmp: string): Promise<boolean> {
    const { config, index } = this.deps;
    const source = index.findByHash(this.id, hash);
    if (source?.deleted === true && source.need && !this.movedAway.has(source.path)) {
      const from = regularFileInside(config.root, source.path);
      const info = from === null ? null : await diskState(from);
      if (from !== null && info?.isFile() === true && matchesIndexed(source, info)) {
        await this.deps.beforeMoveAway?.(source.path);
        assertParentsInside(config.root, source.path, false);
        await rename(from, tmp);
        // Checked again once moved, as FolderWriter.place does: a save that landed since the
        // check above is in the moved file, and goes back to its path to become a version.
        if (!matchesIndexed(source, await diskState(tmp))) {
          await this.writer.moveRaced(source, tmp, from);
          return false;
        }
        this.movedAway.add(source.path);
        this.writer.syncDirLater(dirname(from));
        this.writer.record(source, null, null);
        this.counters.localMoves++;
        return true;
      }
    }
    const found = await this.local.find(this.id, config.root, hash);
    if (found === null) return false;
    if (found.trashed) {
      // Out of the trash rather than copied: the content lives on at its new path.
      try {
        await rename(found.file, tmp);
        if ((await hashOf(tmp)) === hash) {
          // Forgotten with the page's records (one transaction, not one fsync per file).
          this.writer.untrashed(found.file);
          this.counters.localMoves++;
          return true;
        }
        await rename(tmp, found.file);
      } catch {
        // not usable after all: fetch it
      }
      return false;
    }
    try {
      await copyFile(found.file, tmp);
      await fsyncFile(tmp);
      if ((await hashOf(tmp)) === hash) {
        this.counters.localCopies++;
        return true;
      }
    } catch {
      // not usable after all: fetch it
    }
    await rm(tmp, { force: true });
    return false;
  }
}

async function hashOf(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) hash.update(chunk);
  });
  return hash.digest('hex');
}
