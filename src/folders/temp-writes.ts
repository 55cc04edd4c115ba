/**
 * Step 1 of small-writes.ts: each file of a batch fetch verified (its bytes' SHA-256 is the one
 * asked for; else nothing is made and the host is told) and written into a temp file of its own
 * in `.mosaic/tmp/`, given its mtime, not flushed. Two ways, one contract (`TempWrites`):
 *
 * - `PooledTempWrites` (where the binding has the batch calls: beneath-batch.ts): the files are
 *   gathered into groups, and each group is verified, created, written, timed and stat'ed in one
 *   trip to libuv's thread pool (native/beneath/batch.c). The JavaScript thread, which also
 *   receives the files, is left with neither their writes nor their SHA-256 (docs/benchmarks.md,
 *   "A batch's files written and moved on the pool", "Small files verified on the pool").
 * - `DirectTempWrites`: each file verified and written by direct calls on the JavaScript thread
 *   as it arrives (a few tens of microseconds each, less than a trip through the pool per file).
 *
 * Either way, a written file joins `taken()`'s batch with its *witness*: a descriptor of the temp
 * directory opened before the file's write began, through which the batch is later flushed with
 * one syncfs (syncfs reports only the write-back errors that happened since the descriptor it is
 * given was opened: core/fs-sync.ts). Without a witness (syncfs not to be trusted here) each file
 * is flushed by itself, through its descriptor, kept open for that.
 */
import { hash as digest } from 'node:crypto';
import { closeSync, futimesSync, open as openCallback, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TempState } from './disk-state.js';
import { writeFiles, type WrittenFile } from './beneath-batch.js';
import type { Wanted } from './folder-write.js';
import { mtimeSeconds } from './link-no-replace.js';
import { span } from './trace.js';

const openFile = promisify(openCallback);

/** A direct create slower than this waited for the journal; this many in a row: the pool. */
const SLOW_CREATE_MS = 1;
const SLOW_CREATES = 3;

/** Direct way: temp files being created at once (see `DirectTempWrites.create`). */
const CREATES_IN_FLIGHT = 32;

/** Pooled way: files per trip to the pool, bytes per trip, trips under way at once. */
const GROUP_FILES = 16;
const GROUP_BYTES = 1024 * 1024;
const GROUPS_IN_FLIGHT = 2;

/** Received files held (their buffers) at most, by either way: for the split-frame pool's size. */
export const FILES_HELD = Math.max(CREATES_IN_FLIGHT, GROUP_FILES * (GROUPS_IN_FLIGHT + 1));

/** A written temp file, not flushed yet. */
export interface Pending {
  readonly wanted: Wanted;
  readonly tmp: string;
  /** Open while the file is to be flushed by itself (no witness), or until its fstat. */
  readonly fd: number | null;
  readonly bytes: number;
  /** Its state once written, when the way that wrote it has it (else an fstat of `fd`). */
  readonly info: TempState | null;
  /** Written after `witnesses[0]` of its batch was opened: a syncfs through it covers it. */
  readonly witnessed: boolean;
}

/** Files written, to be flushed together, and the witnesses opened before their writes. */
export interface Batch {
  readonly files: readonly Pending[];
  /** Oldest first; all closed by the batch's flush. */
  readonly witnesses: readonly number[];
}

/** What the writers need of SmallWrites. */
export interface TempWritesHost {
  readonly tmpDir: string;
  /** A witness of the temp directory, or null where files are flushed each (see above). */
  openWitness(): number | null;
  /** The buffer may be filled again (it was written, or will not be). */
  release(data: Buffer): void;
  /** The peer sent other bytes than asked for: nothing was made. */
  wrongContent(wanted: Wanted): void;
  failed(wanted: Wanted, error: unknown): void;
}

export interface TempWrites {
  /** Verifies and writes a file; resolves when the caller may hand over the next one. */
  write(wanted: Wanted, data: Buffer, name: string): Promise<void>;
  /** Every write handed over is done (written and in `taken`, or failed). */
  drain(): Promise<void>;
  /** Files written (the next batch's size so far). */
  readonly written: number;
  /** The written files and their witnesses, for a batch's flush; starts the next batch. */
  take(): Batch;
  /** A batch's flush ended: a running journal commit is over. */
  flushed(): void;
}

/** Each file by direct calls as it arrives (see the header). */
export class DirectTempWrites implements TempWrites {
  private pending: Pending[] = [];
  /** The witness of `pending`; undefined: not opened yet (none of them written). */
  private witness: number | null | undefined = undefined;
  private readonly creating = new Set<Promise<void>>();
  /** Creates made directly until SLOW_CREATES in a row took over SLOW_CREATE_MS (see create). */
  private direct = true;
  private slowInARow = 0;

  constructor(private readonly host: TempWritesHost) {}

  get written(): number {
    return this.pending.length;
  }

  async write(wanted: Wanted, data: Buffer, name: string): Promise<void> {
    if (digest('sha256', data) !== wanted.hash) {
      this.host.release(data);
      this.host.wrongContent(wanted);
      return;
    }
    const work = this.writeOne(wanted, data, join(this.host.tmpDir, name)).finally(() =>
      this.creating.delete(work),
    );
    this.creating.add(work);
    // Bounded memory: at most this many received files wait for their file to be created.
    if (this.creating.size >= CREATES_IN_FLIGHT) await Promise.race(this.creating);
  }

  async drain(): Promise<void> {
    await Promise.all(this.creating);
  }

  take(): Batch {
    const batch = {
      files: this.pending,
      witnesses: typeof this.witness === 'number' ? [this.witness] : [],
    };
    this.pending = [];
    this.witness = undefined;
    return batch;
  }

  flushed(): void {
    this.direct = true;
    this.slowInARow = 0;
  }

  /**
   * Creates the temp file (`create`: directly while that is quick, else in the thread pool,
   * several at once: while the file system commits its journal — another file's flush, a
   * database commit — a create waits for the commit, 0.45 ms instead of 0.04 measured, and waits
   * in parallel end together). Then written here.
   */
  private async writeOne(wanted: Wanted, data: Buffer, tmp: string): Promise<void> {
    const end = span('write.tmp');
    let fd: number | null = null;
    try {
      fd = await this.create(tmp);
      // Same tick as the writes and the push: the batch this file joins is the witness's.
      if (this.witness === undefined) this.witness = this.host.openWitness();
      for (let done = 0; done < data.length;) {
        done += writeSync(fd, data, done, data.length - done);
      }
      const mtime = mtimeSeconds(wanted.row.mtimeMs);
      futimesSync(fd, mtime, mtime);
      const witnessed = this.witness !== null;
      this.pending.push({ wanted, tmp, fd, bytes: data.length, info: null, witnessed });
    } catch (error) {
      if (fd !== null) discard(fd, tmp);
      this.host.failed(wanted, error);
    } finally {
      // Written (the kernel has the bytes) or failed: the buffer may be filled again.
      this.host.release(data);
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
}

interface Staged {
  readonly wanted: Wanted;
  readonly data: Buffer;
  readonly name: string;
}

/** Files gathered into groups, each group written in one trip to the pool (see the header). */
export class PooledTempWrites implements TempWrites {
  private pending: Pending[] = [];
  /** The witnesses of `pending`'s groups, with the order they were opened in. */
  private witnesses: { fd: number; order: number }[] = [];
  private opened = 0;
  private staged: Staged[] = [];
  private stagedBytes = 0;
  private readonly groups = new Set<Promise<void>>();

  constructor(private readonly host: TempWritesHost) {}

  get written(): number {
    return this.pending.length;
  }

  async write(wanted: Wanted, data: Buffer, name: string): Promise<void> {
    this.staged.push({ wanted, data, name });
    this.stagedBytes += data.length;
    if (this.staged.length >= GROUP_FILES || this.stagedBytes >= GROUP_BYTES) this.send();
    // Bounded memory: at most this many groups' buffers are held by the pool's writes.
    if (this.groups.size >= GROUPS_IN_FLIGHT) await Promise.race(this.groups);
  }

  async drain(): Promise<void> {
    this.send();
    await Promise.all(this.groups);
  }

  take(): Batch {
    // Groups end in any order; the batch is flushed through the witness opened first.
    const witnesses = this.witnesses.sort((a, b) => a.order - b.order).map((w) => w.fd);
    const batch = { files: this.pending, witnesses };
    this.pending = [];
    this.witnesses = [];
    return batch;
  }

  flushed(): void {}

  /** The staged files as one group, to the pool. */
  private send(): void {
    const group = this.staged;
    if (group.length === 0) return;
    this.staged = [];
    this.stagedBytes = 0;
    const end = span('write.tmpGroup', group.length);
    let witness: number | null = null;
    const order = this.opened++;
    let written: Promise<WrittenFile[]>;
    try {
      // Opened before any of the group's writes (see the header); without one, a descriptor of
      // the directory for the call only (batch.c takes its own copy).
      witness = this.host.openWitness();
      const dirFd = witness ?? openSync(this.host.tmpDir, 'r');
      try {
        written = writeFiles(
          dirFd,
          this.host.tmpDir,
          group.map((s) => s.name),
          group.map((s) => s.data),
          group.map((s) => s.wanted.hash),
          group.map((s) => s.wanted.row.mtimeMs),
          witness === null,
        );
      } finally {
        if (witness === null) closeSync(dirFd);
      }
    } catch (error) {
      written = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const work = written
      .then(
        (files) => {
          this.joined(group, files, witness === null ? null : { fd: witness, order });
        },
        (error: unknown) => {
          if (witness !== null) closeSync(witness);
          for (const s of group) this.host.failed(s.wanted, error);
        },
      )
      .finally(() => {
        for (const s of group) this.host.release(s.data);
        this.groups.delete(work);
        end();
      });
    this.groups.add(work);
  }

  /** A group's written files join the batch being gathered, with their witness. */
  private joined(
    group: readonly Staged[],
    files: readonly WrittenFile[],
    witness: { fd: number; order: number } | null,
  ): void {
    if (witness !== null) this.witnesses.push(witness);
    group.forEach((s, i) => {
      const file = files[i];
      if (file === undefined) return;
      if (file.error === 'wrong content') {
        this.host.wrongContent(s.wanted);
        return;
      }
      if (file.error !== null) {
        this.host.failed(s.wanted, file.error);
        return;
      }
      this.pending.push({
        wanted: s.wanted,
        tmp: join(this.host.tmpDir, s.name),
        fd: file.fd,
        bytes: s.data.length,
        info: file.info,
        witnessed: witness !== null,
      });
    });
  }
}

export function discard(fd: number, tmp: string): void {
  try {
    closeSync(fd);
  } catch {
    // already closed or never usable: the temp file goes anyway
  }
  rmSync(tmp, { force: true });
}
