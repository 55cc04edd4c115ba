/**
 * Writes the small files of a batch fetch (SmallPull.fetchGroup, small-pull.ts) the cheap way,
 * still durable before anything is linked into place or recorded:
 *   1. each file as it arrives: verified (SHA-256), then created in `.mosaic/tmp/` under a name
 *      of its own, written and given its mtime, no flush (temp-writes.ts: a group of files at a
 *      time on libuv's pool, the check too, where the binding allows, else direct calls per file);
 *   2. every SETTLE_EVERY files (and at the end): the data of all of them flushed together (one
 *      syncfs where it can be trusted, core/fs-sync.ts, else an fdatasync of each issued in
 *      parallel), then linked into place (`FolderWriter.placeLogged`). This runs one batch
 *      behind step 1 (`OneBehind`): the next files are received and written while a batch is
 *      flushed and linked, one batch at a time; `settle` waits for all of it.
 *
 * Why (docs/benchmarks.md, "Where the time goes"): on ext4 a flush forces a journal commit, and
 * creating a file waits for a running commit; interleaving one create and one flush per file made
 * each create wait (~1 ms per file measured, more than everything else the receiver does).
 *
 * Crash safety is unchanged: nothing is at its path before its data is flushed, and the disk
 * states are recorded after that (FolderWriter.flush), so a crash anywhere leaves either temp
 * files (swept: `SMALL_TMP`) or placed files the scan recognises (folder_applying).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fdatasync as fdatasyncCallback,
  fstatSync,
  open as openCallback,
  openSync,
  rmSync,
} from 'node:fs';
import { promisify } from 'node:util';
import { BufferPool } from '../core/buffer-pool.js';
import {
  fileSystemSync,
  syncfsCheap,
  syncfsFlushesOf,
  systemDirtyBytes,
  type SyncFileSystem,
} from '../core/fs-sync.js';
import { batchesOnPool } from './beneath-batch.js';
import { OneBehind } from './core/one-behind.js';
import { tempStateOf, type TempState } from './disk-state.js';
import { SMALL_TMP, type Wanted } from './folder-write.js';
import { folderTmpDir } from './marker.js';
import {
  DirectTempWrites,
  discard,
  FILES_HELD,
  PooledTempWrites,
  type Batch,
  type Pending,
  type TempWrites,
} from './temp-writes.js';
import { span } from './trace.js';

const fdatasync = promisify(fdatasyncCallback);
const openFile = promisify(openCallback);

/** Files written before their data is flushed together (and as many descriptors open). */
export const SETTLE_EVERY = 256;

/**
 * Frames split across a response's chunks are gathered into pooled buffers of this size (larger
 * ones into new buffers); those in use are the ones being written (FILES_HELD) and read.
 */
const SPLIT_FRAME_BYTES = 64 * 1024;
const SPLIT_FRAMES_KEPT = FILES_HELD + 4;

export interface SmallWritesHost {
  readonly root: string;
  /**
   * Logs a batch's flushed files as about to be linked (FolderWriter.logLinks), in one write
   * before `place` links the first of them.
   */
  aboutToPlace(files: readonly Ready[]): void;
  /**
   * Puts a batch's flushed, logged temp files at their paths (FolderWriter.placeLogged), each
   * file's errors handled by the host; throws only when the rest cannot be placed (the folder
   * went away), having reported those and removed their temp files (`placeEach`).
   */
  placeAll(files: readonly Ready[]): Promise<void>;
  /** The peer sent other bytes than asked for. */
  wrongContent(wanted: Wanted): void;
  /** A file that could not be written (logged; it stays needed). */
  failed(wanted: Wanted, error: unknown): void;
  /** Bytes written, for the counters. */
  written(bytes: number): void;
}

/** A flushed temp file, with its final state, to be placed. */
export interface Ready {
  readonly wanted: Wanted;
  readonly tmp: string;
  readonly info: TempState;
}

export class SmallWrites {
  /** Step 1's way (temp-writes.ts). */
  private readonly temp: TempWrites;
  /** Step 2 of the batch before, running while the next batch is written. */
  private readonly flushes = new OneBehind();

  private readonly tmpDir: string;
  /** Whether a syncfs flushes the temp directory's file system (asked at most once a second). */
  private readonly tmpSyncfsFlushes: () => boolean;
  /**
   * Temp names are `<hash>.<prefix><count>.small`: random per SmallWrites (so never a name a
   * crashed earlier process left), counted within it (was a random UUID string per file).
   */
  private readonly tmpPrefix = randomBytes(9).toString('base64url');
  private tmpCount = 0;
  private readonly splitFrames = new BufferPool(SPLIT_FRAME_BYTES, SPLIT_FRAMES_KEPT);

  /**
   * Where the frame reader gathers a frame split across chunks (content-frames.ts): a pooled
   * buffer, reused once `add` has written those bytes. A new array buffer per split frame (about
   * two thirds of the bytes of 1-64 KiB files in 64 KiB reads) set off V8's full collections
   * (docs/benchmarks.md, "Split frames into pooled buffers").
   */
  readonly allocate = (length: number): Buffer => this.splitFrames.takeView(length);

  /**
   * `syncAll`: one flush per batch (syncfs), or null to flush each file (fdatasync); `dirtyBytes`:
   * the system's dirty data, read as each batch is flushed (a batch takes syncfs only while
   * little of it is other programs': `syncfsCheap`); `onPool`: step 1 a group at a time on the
   * pool (default: where the binding has the batch calls).
   */
  constructor(
    private readonly host: SmallWritesHost,
    private readonly syncAll: SyncFileSystem | null = fileSystemSync(),
    private readonly dirtyBytes: () => number | null = systemDirtyBytes,
    onPool: boolean = batchesOnPool(),
  ) {
    this.tmpDir = folderTmpDir(host.root);
    this.tmpSyncfsFlushes = syncfsFlushesOf(this.tmpDir);
    const writesHost = {
      tmpDir: this.tmpDir,
      openWitness: () => this.openWitness(),
      release: (data: Buffer) => {
        this.splitFrames.giveView(data);
      },
      wrongContent: (wanted: Wanted) => {
        this.host.wrongContent(wanted);
      },
      failed: (wanted: Wanted, error: unknown) => {
        this.host.failed(wanted, error);
      },
    };
    this.temp = onPool ? new PooledTempWrites(writesHost) : new DirectTempWrites(writesHost);
  }

  /**
   * Step 1 for one received file (verified by the writer); runs step 2 when SETTLE_EVERY files wait. `data` may be a
   * buffer from `allocate`: it is given back once written (or refused), not before.
   */
  async add(wanted: Wanted, data: Buffer): Promise<void> {
    // Never an earlier attempt's file, which after a crash between link and unlink (place) is
    // the placed file itself.
    const name = `${wanted.hash}.${this.tmpPrefix}${(this.tmpCount++).toString(36)}${SMALL_TMP}`;
    await this.temp.write(wanted, data, name);
    // Files still being written join the next batch.
    if (this.temp.written >= SETTLE_EVERY) await this.flushes.submit(this.flushBatch());
  }

  /**
   * Step 2 for every file written so far; returns once all of them are flushed and linked (or
   * failed), throwing a failure of a batch's step 2 (the folder went away).
   */
  async settle(): Promise<void> {
    await this.temp.drain();
    try {
      if (this.temp.written > 0) await this.flushes.submit(this.flushBatch());
    } finally {
      await this.flushes.drain();
      // Witnesses of groups whose files all failed: no batch took them. (No written file is
      // left here: the batch above took them all; were one left, it is not placed.)
      const left = this.temp.take();
      for (const witness of left.witnesses) closeSync(witness);
      for (const p of left.files) {
        if (p.fd === null) rmSync(p.tmp, { force: true });
        else discard(p.fd, p.tmp);
        this.host.failed(p.wanted, new Error('written but not flushed'));
      }
    }
  }

  /** Takes the written files as a batch; the job flushes their data together, then links each. */
  private flushBatch(): () => Promise<void> {
    const batch = this.temp.take();
    return () => this.flushAndPlace(batch);
  }

  /** A batch's witness (see temp-writes.ts), or null where its files are to be flushed each. */
  private openWitness(): number | null {
    if (this.syncAll === null || !this.tmpSyncfsFlushes()) return null;
    return openSync(this.tmpDir, 'r');
  }

  /**
   * Whether each file's data is on disk: one syncfs for all, or an fdatasync each (no witness, or
   * other programs' dirty data that syncfs would have to write too: core/fs-sync.ts).
   */
  private async flushData({ files, witnesses }: Batch): Promise<boolean[]> {
    const [oldest] = witnesses;
    if (oldest !== undefined) {
      try {
        const own = files.reduce((sum, p) => sum + p.bytes, 0);
        if (
          this.syncAll !== null &&
          files.every((p) => p.witnessed) &&
          syncfsCheap(this.dirtyBytes(), own)
        ) {
          await this.syncAll(oldest);
          return files.map(() => true);
        }
      } catch (error) {
        // The file system lost a write since the witness was opened: maybe one of these.
        for (const p of files) this.host.failed(p.wanted, error);
        return files.map(() => false);
      } finally {
        for (const witness of witnesses) closeSync(witness);
      }
    }
    return Promise.all(
      files.map((p) =>
        flushOne(p).then(
          () => true,
          (error: unknown) => {
            this.host.failed(p.wanted, error);
            return false;
          },
        ),
      ),
    );
  }

  private async flushAndPlace(whole: Batch): Promise<void> {
    const batch = whole.files;
    const endSync = span('write.datasync', batch.length);
    const flushed = await this.flushData(whole);
    endSync();
    // The journal commit that slow creates waited for is over.
    this.temp.flushed();
    const endPlace = span('write.place', batch.length);
    try {
      const ready = this.readyOf(batch, flushed);
      try {
        this.host.aboutToPlace(ready);
      } catch (error) {
        // Not logged: none is linked.
        for (const r of ready) {
          this.host.failed(r.wanted, error);
          rmSync(r.tmp, { force: true });
        }
        return;
      }
      await this.host.placeAll(ready);
    } finally {
      endPlace();
    }
  }

  /** The batch's flushed files with their temp files' final states, closed; the rest dropped. */
  private readyOf(batch: readonly Pending[], flushed: readonly boolean[]): Ready[] {
    const ready: Ready[] = [];
    batch.forEach((p, i) => {
      let info: TempState | null = null;
      try {
        if (flushed[i] === true)
          info = p.info ?? tempStateOf(fstatSync(p.fd ?? -1, { bigint: true }));
      } catch (error) {
        this.host.failed(p.wanted, error);
      }
      if (info === null) {
        if (p.fd === null) rmSync(p.tmp, { force: true });
        else discard(p.fd, p.tmp);
        return;
      }
      if (p.fd !== null) closeSync(p.fd);
      this.host.written(p.bytes);
      ready.push({ wanted: p.wanted, tmp: p.tmp, info });
    });
    return ready;
  }
}

/** One file's data flushed by itself: through its descriptor, or one opened for it. */
async function flushOne(p: Pending): Promise<void> {
  if (p.fd !== null) {
    await fdatasync(p.fd);
    return;
  }
  const fd = await openFile(p.tmp, 'r');
  try {
    await fdatasync(fd);
  } finally {
    closeSync(fd);
  }
}
