/**
 * Which pulled files are already at their paths, for a restart after the process was killed
 * between placing them and recording them (WriteRecords.flush). The records wait for the
 * directories' fsyncs and a commit; without this log, a file placed in that window and deleted
 * by the user while the node was down looked like a file never placed, and the next pull put it
 * back: a user's deletion undone (fault tier, seed 893587505).
 *
 * Before each link of a temp file to its path (FolderWriter.place), the file is appended to
 * `.mosaic/linked.log` (one `write`, no fsync): its version, the disk state it will have, and
 * its temp file's name; a batch of small files is appended in one write, before the first of
 * its links. A file logged whose link fails (the path is taken), or that is dropped unlinked,
 * is appended as not linked before its temp file is removed. A killed process leaves its writes in the kernel's page
 * cache, so after a restart in the same boot the log is whole, and each file's last line tells
 * whether its link was made: a file logged as about to be linked whose temp file is gone was
 * linked (the link takes the temp name away). One whose temp file is still there was killed
 * before the link, or between the link and the temp's removal: the link was made if the path
 * holds that very inode, or if the temp file's change time is no longer the one logged (a link
 * changes the inode's link count, hence its ctime; the user then removed or replaced the path).
 * The logged ctime was read after the temp file's last change, so the kernel's multigrain
 * timestamps (Linux 6.13 on, ext4, xfs, btrfs, tmpfs) give the link a later one even within the
 * same clock tick; where a file system's ctime is coarse, such a link may look not made, and that
 * one file is placed again (the user's deletion of it undone, never a deletion made up). What
 * the path holds now is then the scan's to judge: the file as placed, nothing (the user deleted
 * it), or another file (the user replaced it: an edit of the version placed).
 * After a reboot the log may not be whole (a power cut can keep the log and lose a link), so a
 * log from another boot is dropped: those files are placed again, as before. The flush that
 * records the files empties it.
 *
 * A directory version is made in the temp directory and renamed to its path (FolderWriter.
 * makeDir), logged before the rename: the rename is atomic, so its temp directory gone means
 * it was made.
 *
 * At start-up (`recover`), each linked file whose version is still being applied
 * (`folder_applying`: its record never committed) is recorded as the flush would have recorded
 * it. The scan then judges it like any indexed file: still there and untouched, nothing to do;
 * gone, a deletion by the user, which wins over the version it saw.
 */
import {
  closeSync,
  ftruncateSync,
  lstatSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
  type BigIntStats,
} from 'node:fs';
import { basename, join } from 'node:path';
import { joinInside } from './core/index.js';
import { diskStateSync, type DiskState, type TempState } from './disk-state.js';
import type {
  FolderFileRow,
  FolderIndexRepository,
  ScannedState,
} from './folder-index.repository.js';
import { APPLYING_DIR } from './folder-versions.repository.js';
import { MOSAIC_DIR } from './ignore.js';
import { folderTmpDir } from './marker.js';

/** The log's name under the folder's `.mosaic/`. */
export const LINK_LOG = 'linked.log';

/** A file about to be linked: its version, the disk state it will have, its temp file's name. */
type Linking = [
  path: string,
  hash: string,
  hlc: string,
  vv: Record<string, number>,
  mtimeMs: number,
  blockSize: number,
  blocks: string | null,
  localSize: number,
  localMtimeMs: number,
  localInode: number,
  tmp: string,
  /** The temp file's ctime in nanoseconds, as read before the link (a decimal string). */
  tmpCtimeNs: string,
];

/**
 * A directory made in the temp directory, about to be renamed to its path: its version and the
 * disk state it will have. A rename is atomic: the temp directory gone means it was made. Or a
 * directory found at its path (made earlier as a file's parent), about to be recorded as is.
 */
type MakingDir = [
  path: string,
  kind: 'dir',
  hlc: string,
  vv: Record<string, number>,
  localMtimeMs: number,
  localInode: number,
  /** FOUND: the directory was already there, as logged. */
  tmp: string,
];

/** A MakingDir's temp for a directory found already at its path. */
const FOUND = '';

/** A link (or rename) that failed (the path was taken): its temp is removed next. */
type NotLinked = [path: string];

type Line = Linking | MakingDir | NotLinked;

export class LinkLog {
  private fd: number | null = null;
  /** Bytes in the file since it was last emptied (0: the boot line is to be written first). */
  private size = 0;
  /** Paths logged since the log was last emptied. */
  private readonly logged = new Set<string>();

  constructor(private readonly root: string) {}

  private get file(): string {
    return join(this.root, MOSAIC_DIR, LINK_LOG);
  }

  /** `row`'s file, written to `tmp` (`info`), is about to be linked to its path. */
  linking(row: FolderFileRow, info: TempState, tmp: string): void {
    this.linkingAll([{ row, info, tmp }]);
  }

  /**
   * Several files about to be linked, logged in one write before the first of their links (a
   * batch of small files: small-writes.ts). A file logged and then not linked is either still in
   * its temp file with its ctime unchanged (judged not linked), or reported by `notLinked`
   * before its temp file goes.
   */
  linkingAll(files: readonly { row: FolderFileRow; info: TempState; tmp: string }[]): void {
    const lines: Linking[] = [];
    for (const { row, info, tmp } of files) {
      if (row.kind !== 'file' || row.deleted || row.hash === null || row.hlc === null) continue;
      lines.push([
        row.path,
        row.hash,
        row.hlc,
        row.vv,
        row.mtimeMs,
        row.blockSize,
        row.blocks === null ? null : row.blocks.toString('base64'),
        info.size,
        Math.floor(info.mtimeMs),
        info.ino,
        basename(tmp),
        info.ctimeNs.toString(),
      ]);
    }
    if (lines.length > 0 && this.append(lines)) for (const line of lines) this.logged.add(line[0]);
  }

  /**
   * `row`'s directory, made as `tmp` (`info`), is about to be renamed to its path; or, `tmp`
   * null, found already there (made as a file's parent before its version came), as `info`.
   */
  makingDir(row: FolderFileRow, info: DiskState, tmp: string | null): void {
    if (row.kind !== 'dir' || row.deleted || row.hlc === null) return;
    const line: MakingDir = [
      row.path,
      'dir',
      row.hlc,
      row.vv,
      Math.floor(info.mtimeMs),
      info.ino,
      tmp === null ? FOUND : basename(tmp),
    ];
    if (this.append([line])) this.logged.add(row.path);
  }

  /** The link (or rename) of `path` failed: its temp is about to be removed. */
  notLinked(path: string): void {
    if (this.logged.has(path)) this.append([[path] satisfies NotLinked]);
  }

  /** The logged files are recorded: the log starts again empty. */
  clear(): void {
    this.logged.clear();
    if (this.fd === null || this.size === 0) return;
    ftruncateSync(this.fd, 0);
    this.size = 0;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private append(lines: readonly Line[]): boolean {
    const boot = bootId();
    if (boot === null) return false;
    let text = '';
    for (const line of lines) text += `${JSON.stringify(line)}\n`;
    if (this.size === 0) text = `${JSON.stringify({ boot })}\n${text}`;
    this.fd ??= openSync(this.file, 'a');
    this.size += writeSync(this.fd, text);
    return true;
  }

  /**
   * Start-up: records the logged files that were linked and whose records never committed (a
   * kill in between), in one transaction, and forgets the log. Returns how many it recorded.
   */
  async recover(folder: string, index: FolderIndexRepository): Promise<number> {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return 0;
    }
    const lines = text.split('\n').filter((line) => line !== '');
    const header = parse(lines[0]) as { boot?: unknown } | null;
    // Each path's last line.
    const last = new Map<string, Line>();
    if (header !== null && header.boot === bootId()) {
      for (const line of lines.slice(1)) {
        const entry = parse(line);
        if (!Array.isArray(entry) || ![12, 7, 1].includes(entry.length)) continue;
        last.set(String(entry[0]), entry as Line);
      }
    }
    const linked: { state: ScannedState; applying: { hash: string; mtimeMs: number } }[] = [];
    for (const entry of last.values()) {
      if (entry.length === 7) {
        const [path, , hlc, vv, mtime, inode, tmp] = entry;
        // Found there: it was on disk when logged. Made here: made if its temp is gone.
        if (tmp !== FOUND && this.tempExists(tmp) !== false) continue;
        linked.push({
          state: {
            version: {
              folder,
              path,
              kind: 'dir',
              deleted: false,
              hash: null,
              hlc,
              vv,
              blockSize: 0,
              blocks: null,
            },
            localSize: 0,
            localMtimeMs: mtime,
            localInode: inode,
            localHash: null,
          },
          applying: { hash: APPLYING_DIR, mtimeMs: 0 },
        });
        continue;
      }
      if (entry.length !== 12) continue;
      const [path, hash, hlc, vv, mtimeMs, blockSize, blocks, size, mtime, inode, tmp, ctime] =
        entry;
      if (!this.wasLinked(path, inode, tmp, ctime)) continue;
      linked.push({
        state: {
          version: {
            folder,
            path,
            kind: 'file',
            deleted: false,
            hash,
            hlc,
            vv,
            blockSize,
            blocks: blocks === null ? null : Buffer.from(blocks, 'base64'),
          },
          localSize: size,
          localMtimeMs: mtime,
          localInode: inode,
          localHash: hash,
        },
        applying: { hash, mtimeMs },
      });
    }
    let recorded = 0;
    if (linked.length > 0) {
      await index.transaction(() => {
        // Only files still being applied: a record that committed before the kill stands, and
        // so does anything recorded at that path since.
        const unrecorded = linked
          .filter(({ state, applying }) => {
            const { hash, mtimeMs } = applying;
            return index.versions.applying(folder, state.version.path, hash, mtimeMs) !== null;
          })
          .map(({ state }) => state);
        index.recordScannedStates(unrecorded);
        index.versions.doneApplying(
          folder,
          unrecorded.map((f) => f.version.path),
        );
        recorded = unrecorded.length;
      });
    }
    rmSync(this.file, { force: true });
    return recorded;
  }

  /**
   * Whether the link was made: its temp file is gone (the link takes the temp name away, and a
   * failed link is logged before its temp file is removed); or it is still there (killed between
   * the link and the temp file's removal) and the path holds its inode, or its ctime moved since
   * it was logged (linked, then the path removed or replaced by the user).
   */
  private wasLinked(path: string, inode: number, tmp: string, ctimeNs: string): boolean {
    const temp = this.tempExists(tmp);
    if (temp === false) return true;
    if (temp === null) return false;
    if (temp.ctimeNs.toString() !== ctimeNs) return true;
    try {
      return diskStateSync(joinInside(this.root, path))?.ino === inode;
    } catch {
      return false;
    }
  }

  /** The temp file or directory's stat; false when it is gone, null when it cannot be told. */
  private tempExists(tmp: string): BigIntStats | false | null {
    try {
      return (
        lstatSync(join(folderTmpDir(this.root), basename(tmp)), {
          bigint: true,
          throwIfNoEntry: false,
        }) ?? false
      );
    } catch {
      return null;
    }
  }
}

function parse(line: string | undefined): unknown {
  if (line === undefined) return null;
  try {
    return JSON.parse(line) as unknown;
  } catch {
    // A line cut short by the kill: that file is placed again.
    return null;
  }
}

let boot: string | null | undefined;

/** This boot of the machine (Linux); null where the system does not say. */
function bootId(): string | null {
  if (boot === undefined) {
    try {
      boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      boot = null;
    }
  }
  return boot;
}
