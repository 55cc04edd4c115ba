/**
 * Writes the small files of a batch fetch (SmallPull.fetchGroup, small-pull.ts) the cheap way,
 * still durable before anything is linked into place or recorded:
 *   1. each file as it arrives: verified (SHA-256), created in `.mosaic/tmp/` under a name of its
 *      own, written and given its mtime — direct calls, no flush;
 *   2. every SETTLE_EVERY files (and at the end): the data of all of them flushed together (one
 *      syncfs where it can be trusted, core/fs-sync.ts, else an fdatasync of each issued in
 *      parallel), then each linked into place (`FolderWriter.place`). This runs one batch
 *      behind step 1 (`OneBehind`): the next files are received and written while a batch is
 *      flushed and linked, one batch at a time; `settle` waits for all of it.
 *
 * Why (docs/benchmarks.md, "Where the time goes"): on ext4 a flush forces a journal commit, and
 * creating a file waits for a running commit; interleaving one create and one flush per file made
 * each create wait (~1 ms per file measured, more than everything else the receiver does). The
 * calls of step 1 are each cheaper than a trip through libuv's thread pool, so they are made
 * here on the main thread (a few tens of microseconds each, nothing to wait on).
 *
 * Crash safety is unchanged: nothing is at its path before its data is flushed, and the disk
 * states are recorded after that (FolderWriter.flush), so a crash anywhere leaves either temp
 * files (swept: `SMALL_TMP`) or placed files the scan recognises (folder_applying).
 */
import { hash as digest, randomBytes } from 'node:crypto';
import {
  closeSync,
  fdatasync as fdatasyncCallback,
  fstatSync,
  futimesSync,
  open as openCallback,
  openSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { promisify } from 'node:util';
import { BufferPool } from '../core/buffer-pool.js';
import {
  fileSystemSync,
  syncfsCheap,
  syncfsFlushes,
  systemDirtyBytes,
  type SyncFileSystem,
} from '../core/fs-sync.js';
import { OneBehind } from './core/one-behind.js';
import { tempStateOf, type TempState } from './disk-state.js';
import { SMALL_TMP, type Wanted } from './folder-write.js';
import { mtimeSeconds } from './link-no-replace.js';
import { folderTmpDir } from './marker.js';
import { span } from './trace.js';

const fdatasync = promisify(fdatasyncCallback);
const openFile = promisify(openCallback);

/** A direct create slower than this waited for the journal; this many in a row: the pool. */
const SLOW_CREATE_MS = 1;
const SLOW_CREATES = 3;

/** Temp files being created at once (see `write`). */
const CREATES_IN_FLIGHT = 32;

/** Files written before their data is flushed together (and as many descriptors open). */
export const SETTLE_EVERY = 256;

/**
 * Frames split across a response's chunks are gathered into pooled buffers of this size (larger
 * ones into new buffers); those in use are the ones being created (CREATES_IN_FLIGHT) and read.
 */
const SPLIT_FRAME_BYTES = 64 * 1024;
const SPLIT_FRAMES_KEPT = CREATES_IN_FLIGHT + 4;

export interface SmallWritesHost {
  readonly root: string;
  /**
   * Logs a batch's flushed files as about to be linked (FolderWriter.logLinks), in one write
   * before `place` links the first of them.
   */
  aboutToPlace(files: readonly Ready[]): void;
  /** Puts a flushed, logged temp file at its path (FolderWriter.place), errors logged by the host. */
  place(wanted: Wanted, tmp: string, info: TempState): Promise<void>;
  /** A logged file that will not be placed; its temp file is removed next. */
  notPlaced(wanted: Wanted): void;
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

interface Pending {
  readonly wanted: Wanted;
  readonly tmp: string;
  readonly fd: number;
  readonly bytes: number;
}

/** Files written, to be flushed together; `witness` opened before any of them was written. */
interface Batch {
  readonly files: readonly Pending[];
  readonly witness: number | null;
}

export class SmallWrites {
  private pending: Pending[] = [];
  /**
   * With syncfs: a descriptor of the temp directory opened before the first write of the files
   * in `pending`, through which their batch is flushed (syncfs reports only the write-back
   * errors that happened since the descriptor it is given was opened: core/fs-sync.ts); null:
   * each file flushed by itself; undefined: not decided yet (no file of the batch written).
   */
  private witness: number | null | undefined = undefined;
  private readonly creating = new Set<Promise<void>>();
  /** Step 2 of the batch before, running while the next batch is written. */
  private readonly flushes = new OneBehind();
  /** Creates made directly until SLOW_CREATES in a row took over SLOW_CREATE_MS (see create). */
  private direct = true;
  private slowInARow = 0;

  private readonly tmpDir: string;
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
   * little of it is other programs': `syncfsCheap`).
   */
  constructor(
    private readonly host: SmallWritesHost,
    private readonly syncAll: SyncFileSystem | null = fileSystemSync(),
    private readonly dirtyBytes: () => number | null = systemDirtyBytes,
  ) {
    this.tmpDir = folderTmpDir(host.root);
  }

  /**
   * Step 1 for one received file; runs step 2 when SETTLE_EVERY files wait. `data` may be a
   * buffer from `allocate`: it is given back once written (or refused), not before.
   */
  async add(wanted: Wanted, data: Buffer): Promise<void> {
    if (digest('sha256', data) !== wanted.hash) {
      this.splitFrames.giveView(data);
      this.host.wrongContent(wanted);
      return;
    }
    const work = this.write(wanted, data).finally(() => this.creating.delete(work));
    this.creating.add(work);
    // Bounded memory: at most this many received files wait for their file to be created.
    if (this.creating.size >= CREATES_IN_FLIGHT) await Promise.race(this.creating);
    // Files still being created join the next batch.
    if (this.pending.length >= SETTLE_EVERY) await this.flushes.submit(this.flushBatch());
  }

  /**
   * Creates the temp file (`create`: directly while that is quick, else in the thread pool,
   * several at once: while the file system commits its journal — another file's flush, a
   * database commit — a create waits for the commit, 0.45 ms instead of 0.04 measured, and waits
   * in parallel end together). Then written here.
   */
  private async write(wanted: Wanted, data: Buffer): Promise<void> {
    const end = span('write.tmp');
    // Never an earlier attempt's file, which after a crash between link and unlink (place) is
    // the placed file itself.
    const tmp = `${this.tmpDir}/${wanted.hash}.${this.tmpPrefix}${(this.tmpCount++).toString(36)}${SMALL_TMP}`;
    let fd: number | null = null;
    try {
      fd = await this.create(tmp);
      // Same tick as the writes and the push: the batch this file joins is the witness's.
      if (this.witness === undefined) this.witness = this.openWitness();
      for (let done = 0; done < data.length;) {
        done += writeSync(fd, data, done, data.length - done);
      }
      const mtime = mtimeSeconds(wanted.row.mtimeMs);
      futimesSync(fd, mtime, mtime);
      this.pending.push({ wanted, tmp, fd, bytes: data.length });
    } catch (error) {
      if (fd !== null) discard(fd, tmp);
      this.host.failed(wanted, error);
    } finally {
      // Written (the kernel has the bytes) or failed: the buffer may be filled again.
      this.splitFrames.giveView(data);
      end();
    }
  }

  /**
   * Creates a temp file: by a direct call while creates are quick (tens of microseconds: less
   * CPU than a trip through the pool, and no queue behind the pool's threads); in the pool,
   * several at once, after SLOW_CREATES slow ones in a row (the file system is committing its
   * journal: waits in parallel end together). Back to direct calls after each batch's flush.
   */
  private async create(tmp: string): Promise<number> {
    if (!this.direct) return openFile(tmp, 'wx');
    const start = performance.now();
    try {
      return openSync(tmp, 'wx');
    } finally {
      this.slowInARow = performance.now() - start > SLOW_CREATE_MS ? this.slowInARow + 1 : 0;
      if (this.slowInARow >= SLOW_CREATES) this.direct = false;
    }
  }

  /**
   * Step 2 for every file written so far; returns once all of them are flushed and linked (or
   * failed), throwing a failure of a batch's step 2 (the folder went away).
   */
  async settle(): Promise<void> {
    await Promise.all(this.creating);
    try {
      if (this.pending.length > 0) await this.flushes.submit(this.flushBatch());
    } finally {
      await this.flushes.drain();
      // Opened for files that all failed before being written: no batch took it.
      if (this.pending.length === 0 && typeof this.witness === 'number') {
        closeSync(this.witness);
        this.witness = undefined;
      }
    }
  }

  /** Takes the written files as a batch; the job flushes their data together, then links each. */
  private flushBatch(): () => Promise<void> {
    const batch = { files: this.pending, witness: this.witness ?? null };
    this.pending = [];
    this.witness = undefined;
    return () => this.flushAndPlace(batch);
  }

  /** A batch's witness (see `witness`), or null where its files are to be flushed each. */
  private openWitness(): number | null {
    if (this.syncAll === null || !syncfsFlushes(this.tmpDir)) return null;
    return openSync(this.tmpDir, 'r');
  }

  /**
   * Whether each file's data is on disk: one syncfs for all, or an fdatasync each (no witness, or
   * other programs' dirty data that syncfs would have to write too: core/fs-sync.ts).
   */
  private async flushData({ files, witness }: Batch): Promise<boolean[]> {
    if (witness !== null) {
      try {
        const own = files.reduce((sum, p) => sum + p.bytes, 0);
        if (this.syncAll !== null && syncfsCheap(this.dirtyBytes(), own)) {
          await this.syncAll(witness);
          return files.map(() => true);
        }
      } catch (error) {
        // The file system lost a write since the witness was opened: maybe one of these.
        for (const p of files) this.host.failed(p.wanted, error);
        return files.map(() => false);
      } finally {
        closeSync(witness);
      }
    }
    return Promise.all(
      files.map((p) =>
        fdatasync(p.fd).then(
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
    // The journal commit that slow creates waited for is over: direct creates again.
    this.direct = true;
    this.slowInARow = 0;
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
      let next = 0;
      try {
        for (; next < ready.length; next++) {
          const r = ready[next] as Ready;
          await this.host.place(r.wanted, r.tmp, r.info);
        }
      } finally {
        // A place that threw (the folder went away): the rest is not placed; nothing leaks.
        for (const r of ready.slice(next + 1)) {
          this.host.notPlaced(r.wanted);
          rmSync(r.tmp, { force: true });
        }
      }
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
        if (flushed[i] === true) info = tempStateOf(fstatSync(p.fd, { bigint: true }));
      } catch (error) {
        this.host.failed(p.wanted, error);
      }
      if (info === null) {
        discard(p.fd, p.tmp);
        return;
      }
      closeSync(p.fd);
      this.host.written(p.bytes);
      ready.push({ wanted: p.wanted, tmp: p.tmp, info });
    });
    return ready;
  }
}

function discard(fd: number, tmp: string): void {
  try {
    closeSync(fd);
  } catch {
    // already closed or never usable: the temp file goes anyway
  }
  rmSync(tmp, { force: true });
}
