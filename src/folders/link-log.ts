/**
 * Which pulled files are already at their paths, for a restart after the process was killed
 * between placing them and recording them (WriteRecords.flush). The records wait for the
 * directories' fsyncs and a commit; without this log, a file placed in that window and deleted
 * by the user while the node was down looked like a file never placed, and the next pull put it
 * back: a user's deletion undone (fault tier, seed 893587505).
 *
 * Each placed file is appended to `.mosaic/linked.log` after its link, a batch at a time, with
 * no fsync: a killed process leaves its writes in the kernel's page cache, so after a restart
 * in the same boot the log says exactly which links were made (a link is logged only after it
 * was made). After a reboot it may not (a power cut can keep the log and lose a link), so a log
 * from another boot is dropped: those files are placed again, as before. The flush empties it.
 *
 * At start-up (`recover`), each logged file whose version is still being applied
 * (`folder_applying`: its record never committed) is recorded as the flush would have recorded
 * it. The scan then judges it like any indexed file: still there and untouched, nothing to do;
 * gone, a deletion by the user, which wins over the version it saw.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { DiskRecord, FolderIndexRepository, ScannedState } from './folder-index.repository.js';
import { MOSAIC_DIR } from './ignore.js';

/** The log's name under the folder's `.mosaic/`. */
export const LINK_LOG = 'linked.log';

/** One logged file: the version it was written for, and the disk state written. */
type Entry = [
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
];

export class LinkLog {
  private fd: number | null = null;
  /** Bytes in the file since it was last emptied (0: the boot line is to be written first). */
  private size = 0;
  private readonly pending: string[] = [];

  constructor(private readonly root: string) {}

  private get file(): string {
    return join(this.root, MOSAIC_DIR, LINK_LOG);
  }

  /** A file placed at its path: logged at the next `write`. */
  add(record: DiskRecord): void {
    const { row } = record;
    if (row.kind !== 'file' || row.deleted || row.hash === null || row.hlc === null) return;
    if (record.localInode === null || record.localHash !== row.hash) return;
    const entry: Entry = [
      row.path,
      row.hash,
      row.hlc,
      row.vv,
      row.mtimeMs,
      row.blockSize,
      row.blocks === null ? null : row.blocks.toString('base64'),
      record.localSize ?? 0,
      record.localMtimeMs ?? 0,
      record.localInode,
    ];
    this.pending.push(JSON.stringify(entry));
  }

  /** Appends what was added since the last write (one system call; no fsync, see above). */
  write(): void {
    if (this.pending.length === 0) return;
    const boot = bootId();
    if (boot === null) {
      this.pending.length = 0;
      return;
    }
    let text = `${this.pending.join('\n')}\n`;
    this.pending.length = 0;
    if (this.size === 0) text = `${JSON.stringify({ boot })}\n${text}`;
    this.fd ??= openSync(this.file, 'a');
    this.size += writeSync(this.fd, text);
  }

  /** The logged files are recorded: the log starts again empty. */
  clear(): void {
    this.pending.length = 0;
    if (this.fd === null || this.size === 0) return;
    ftruncateSync(this.fd, 0);
    this.size = 0;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /**
   * Start-up: records the logged files whose records never committed (a kill in between), in
   * one transaction, and forgets the log. Returns how many were recorded.
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
    const found: ScannedState[] = [];
    if (header !== null && header.boot === bootId()) {
      for (const line of lines.slice(1)) {
        const entry = parse(line);
        if (!Array.isArray(entry) || entry.length !== 10) continue;
        const [path, hash, hlc, vv, mtimeMs, blockSize, blocks, size, mtime, inode] =
          entry as Entry;
        found.push({
          version: {
            folder,
            path,
            kind: 'file',
            deleted: false,
            hash,
            hlc,
            vv,
            mtimeMs,
            blockSize,
            blocks: blocks === null ? null : Buffer.from(blocks, 'base64'),
          } as ScannedState['version'] & { mtimeMs: number },
          localSize: size,
          localMtimeMs: mtime,
          localInode: inode,
          localHash: hash,
        });
      }
    }
    let recorded = 0;
    if (found.length > 0) {
      await index.transaction(() => {
        // Only files still being applied: a record that committed before the kill stands, and
        // so does anything recorded at that path since.
        const unrecorded = found.filter((f) => {
          const { path, hash, mtimeMs } = f.version as ScannedState['version'] & {
            mtimeMs: number;
          };
          return index.versions.applying(folder, path, hash ?? '', mtimeMs) !== null;
        });
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
}

function parse(line: string | undefined): unknown {
  if (line === undefined) return null;
  try {
    return JSON.parse(line) as unknown;
  } catch {
    // A line cut short by the kill: the link it would name is placed again.
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
