/**
 * Content a pull finds on this disk instead of asking a peer (FolderPull): a file whose deletion
 * is pending here (a rename or move at a peer) is moved into the temp file; so is a trashed file
 * with that content; any other indexed file with it is copied. What comes from the trash or a
 * copy is verified. FolderPull asks only for contents `heldHashes` says may be here, or that
 * `leftOver` says an earlier pull left in a temp file.
 *
 * A move into the temp file is the only place a content lives until it is linked to its path:
 * a process killed in between leaves it there alone (`.mosaic/tmp/<hash>.part`; its trash row
 * or index row may already point at nothing). A device's upload is such a trashed file, and
 * nodes cannot fetch from a device: every node needed the file for good (the symptom of fault
 * tier seed 527547213, whose logs are lost; it may as well have been the case of
 * test/device/device-source.test.ts). So a whole temp file left with the wanted content is used
 * as it is.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fsyncFile } from '../core/fsync.js';
import { diskState } from './disk-state.js';
import type { PullCounters } from './folder-pull.js';
import type { FolderSyncDeps } from './folder-sync.js';
import { matchesIndexed, type FolderWriter } from './folder-write.js';
import type { LocalContent } from './local-content.js';
import { assertParentsInside, regularFileInside } from './inside-folder.js';
import { folderTmpDir } from './marker.js';

/** A temp file named by its content (FolderPull.tmpFor): kept across restarts. */
const CONTENT_TMP = /^([0-9a-f]{64})\.part$/;

export class FromThisDisk {
  /** Paths whose file was moved to a new path in this pull: their deletion is done. */
  readonly movedAway = new Set<string>();
  /** Contents with a temp file in `.mosaic/tmp/` when this pull started. */
  private readonly leftovers = new Set<string>();

  constructor(
    private readonly deps: FolderSyncDeps,
    private readonly local: LocalContent,
    private readonly writer: FolderWriter,
    private readonly counters: PullCounters,
  ) {}

  private get id(): string {
    return this.deps.config.id;
  }

  async startPull(): Promise<void> {
    this.movedAway.clear();
    this.leftovers.clear();
    for (const name of await readdir(folderTmpDir(this.deps.config.root)).catch(() => [])) {
      const hash = CONTENT_TMP.exec(name)?.[1];
      if (hash !== undefined) this.leftovers.add(hash);
    }
  }

  /** Whether an earlier pull left a temp file of this content (whole or not). */
  leftOver(hash: string): boolean {
    return this.leftovers.has(hash);
  }

  /**
   * Content already on this disk: a file about to be deleted here (a move or rename elsewhere),
   * or one in the trash, is moved into `tmp`; otherwise a file with that content is copied.
   * What comes from the trash or a copy is verified.
   */
  async take(hash: string, size: number, tmp: string): Promise<boolean> {
    const { config, index } = this.deps;
    if (this.leftovers.has(hash) && (await this.wholeLeftover(hash, size, tmp))) return true;
    const source = index.copies.findByHash(this.id, hash);
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

  /**
   * A temp file of this content left whole (`size` bytes, the right hash) by a pull that was
   * killed before placing it. One only partly fetched is left for the resumable fetch.
   */
  private async wholeLeftover(hash: string, size: number, tmp: string): Promise<boolean> {
    this.leftovers.delete(hash);
    const info = await stat(tmp).catch(() => null);
    if (info?.isFile() !== true || info.size !== size) return false;
    if ((await hashOf(tmp)) !== hash) return false;
    this.deps.log.info(
      { folder: this.id, hash },
      'content found in a temp file left by an earlier pull; placing it',
    );
    this.counters.localMoves++;
    return true;
  }
}

async function hashOf(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) hash.update(chunk);
  });
  return hash.digest('hex');
}
