/**
 * The pull half of one synced folder (FolderSync): brings the disk to the versions the index
 * says it needs, fetching content by hash from this disk, its trash, or a peer, safely.
 *
 * Where the disk is written: folder-write.ts (`place`, `remove`, `makeDir`, the trash), plus
 * from-this-disk.ts and small-writes.ts (moves, copies and writes into `.mosaic/tmp/` only).
 * Small files come from peers many per request (small-pull.ts), the others one at a time
 * (`fetchOne`, peer-fetch.ts).
 * Crash safety (docs/architecture.md, "Folder sync"):
 * - the versions of a round go to `folder_applying` before the first rename and are forgotten
 *   in the transaction that records the disk states (`flushRecords`), so the scan after a crash
 *   in between recognises the files as those versions;
 * - `place` checks, moves aside, checks again, and links in without replacing: a local save
 *   racing it stays a local change.
 */
import { join } from 'node:path';
import { eachAtOnce } from '../core/limiter.js';
import { MAX_FRAMED_FILE_BYTES } from './content-frames.js';
import { diskState, diskStateSync } from './disk-state.js';
import type { FolderFileRow } from './folder-index.repository.js';
import type { FolderState, FolderSyncDeps } from './folder-sync.js';
import { APPLYING_DIR } from './folder-versions.repository.js';
import { FolderWriter, matchesIndexed, type Wanted } from './folder-write.js';
import { fetchLargeFromPeers } from './peer-fetch.js';
import type { LocalContent } from './local-content.js';
import { assertMarker, folderTmpDir, FolderMissingError } from './marker.js';
import { span, timed } from './trace.js';
import { SmallPull } from './small-pull.js';
import { FromThisDisk } from './from-this-disk.js';
import { RETIRING_RETRY_MS, UnobtainableCopies } from './unobtainable-copies.js';
import { heldHere, type WriteRecords } from './write-records.js';
import { PullStalls } from './pull-stalls.js';
import { PullTargets } from './pull-targets.js';
import { sweepLinkedTmp } from './tmp-sweep.js';

/**
 * Needed rows taken per page: a page's files are a round (or a few, when contents repeat), and
 * each round ends waiting for its last batch's flush, its links and its records (~150-300 ms
 * on a journalled disk). 2 000 made a 10 000-file sync 9 rounds; 5 000 makes it 6
 * (docs/benchmarks.md, "Rounds of 5 000").
 */
const NEED_PAGE = 5000;
/** Files of a round checked (and found on this disk) at once. */
const CHECKS_AT_ONCE = 16;
/**
 * Large files (over MAX_FRAMED_FILE_BYTES: a folder of photos is mostly these) fetched at once,
 * each by its own request: one at a time, each file's request, first bytes, fdatasync and rename
 * left the link and the disk idle in turn (a folder of 200 photos synced at 0.63x Syncthing,
 * docs/benchmarks.md, "A folder of photos").
 */
const LARGE_AT_ONCE = 4;

export interface PullCounters {
  fetchedBytes: number;
  fetchedFiles: number;
  localCopies: number;
  localMoves: number;
}

/** What the puller needs of its FolderSync. */
export interface PullHost {
  state: FolderState;
  kick(work: { pull?: boolean; hints?: Iterable<string> }): void;
}

export class FolderPull {
  /** Where each remote path lands on disk, or null when it is refused (pull-targets.ts). */
  private readonly targets: PullTargets;
  /** Needed files the last pull could not bring, and why (logged, retried with back-off). */
  private readonly stalls: PullStalls;
  /** Conflict copies whose content every peer lacks (unobtainable-copies.ts). */
  private readonly unobtainable: UnobtainableCopies;
  /** Bytes fetched from peers, and files obtained from this disk instead (moves, copies). */
  readonly counters: PullCounters = {
    fetchedBytes: 0,
    fetchedFiles: 0,
    localCopies: 0,
    localMoves: 0,
  };

  private readonly writer: FolderWriter;
  /** Small files from peers, many per request (small-pull.ts). */
  private readonly small: SmallPull;
  private readonly fromDisk: FromThisDisk;

  constructor(
    private readonly deps: FolderSyncDeps,
    local: LocalContent,
    private readonly host: PullHost,
    /** The folder's records of its pulls' writes (FolderSync owns them: write-records.ts). */
    records: WriteRecords,
  ) {
    this.unobtainable = new UnobtainableCopies(deps);
    this.targets = new PullTargets(deps);
    this.stalls = new PullStalls(deps.config.id, deps.log, () => {
      host.kick({ pull: true });
    });
    this.writer = new FolderWriter(
      deps,
      {
        // The writer's stalls are races with a local change: the content was here.
        stall: (row, reason) => {
          this.stall(row, reason, false);
        },
        kick: (work) => {
          host.kick(work);
        },
      },
      records,
    );
    this.fromDisk = new FromThisDisk(deps, local, this.writer, this.counters);
    this.small = new SmallPull({
      deps,
      folder: this.id,
      writer: this.writer,
      counters: this.counters,
      unobtainable: this.unobtainable,
      guarded: (row, work) => this.guarded(row, work),
      fetchOne: (wanted, noPeer) => this.fetchOne(wanted, noPeer),
      stall: (row, reason) => {
        this.stall(row, reason);
      },
    });
  }

  private get id(): string {
    return this.deps.config.id;
  }

  async pull(): Promise<void> {
    try {
      await timed('pull', () => this.pullAll());
    } finally {
      this.writer.endPull();
    }
  }

  private async pullAll(): Promise<void> {
    await sweepLinkedTmp(this.deps.config.root);
    this.targets.startPull();
    this.stalls.startPull();
    this.unobtainable.startPull();
    this.writer.startPull();
    await this.fromDisk.startPull();
    let after = '';
    let deletions: FolderFileRow[] = [];
    const replacingDirs: FolderFileRow[] = [];
    for (;;) {
      const endNeeded = span('pull.needed');
      const page = this.deps.index.needed(this.id, NEED_PAGE, after);
      endNeeded();
      if (page.length === 0) break;
      this.host.state = 'syncing';
      after = page[page.length - 1]?.path ?? after;
      // Directories first (parents before children), then files several at a time (their
      // fsyncs are committed together), deletions after everything else, children first, so
      // that a moved file can still be moved or copied from its old place.
      for (const row of page) if (row.deleted) deletions.push(row);
      const dirs = page.filter((r) => !r.deleted && r.kind === 'dir');
      if (dirs.length > 0) {
        // Like files (below): after a crash before the record, the scan recognises them.
        const applying = dirs.map((r) => ({
          path: r.path,
          hash: APPLYING_DIR,
          mtimeMs: 0,
          vv: r.vv,
        }));
        await this.deps.index.exclusive(() => {
          this.deps.index.versions.addApplying(this.id, applying);
        });
        // The folder checked once for the page's directories, as for a round's files.
        const endDirs = span('pull.dirs', dirs.length);
        await assertMarker(this.deps.config.root, this.id);
        for (const row of dirs) await this.applyOne(row, false);
        endDirs();
        await this.writer.flush(dirs.map((r) => r.path));
      }
      // A file where this disk holds a directory (replaced by it at a peer) waits for the
      // deletions, which empty that directory (test/device/device-replaced.test.ts).
      const files = page.filter((r) => !r.deleted && r.kind === 'file');
      for (const r of files) if (holdsDir(r)) replacingDirs.push(r);
      await this.applyFileRounds(files.filter((r) => !holdsDir(r)));
      if (deletions.length > 5000) {
        await this.applyDeletions(deletions);
        deletions = [];
      }
    }
    await this.applyDeletions(deletions);
    await this.applyFileRounds(replacingDirs);
    // Copies on their way to retirement are asked about again soon, not after the back-off
    // (up to a minute): three pulls then take seconds, not minutes.
    const retiring = await this.unobtainable.endPull();
    this.stalls.retryLater(this.writer.placed, retiring ? RETIRING_RETRY_MS : undefined);
  }

  /**
   * One file per content at a time (they would share a temp file, named by hash so that a
   * transfer can resume): rounds of distinct contents; later rounds copy what the first brought.
   */
  private async applyFileRounds(rows: readonly FolderFileRow[]): Promise<void> {
    let files = rows;
    while (files.length > 0) {
      const seen = new Set<string | null>();
      const round: FolderFileRow[] = [];
      const later: FolderFileRow[] = [];
      for (const r of files) {
        if (seen.has(r.hash)) {
          later.push(r);
        } else {
          round.push(r);
          seen.add(r.hash);
        }
      }
      files = later;
      // Remembered before the first rename, forgotten with the records: after a crash in
      // between, the scan recognises these files as the versions being applied.
      const applying = round.flatMap((r) =>
        r.hash === null ? [] : [{ path: r.path, hash: r.hash, mtimeMs: r.mtimeMs, vv: r.vv }],
      );
      const endRound = span('pull.round', round.length);
      const endApplying = span('pull.addApplying', round.length);
      await this.deps.index.exclusive(() => {
        this.deps.index.versions.addApplying(this.id, applying);
      });
      endApplying();
      await this.applyFiles(round);
      await timed('pull.flush', () => this.writer.flush(round.map((r) => r.path)), round.length);
      endRound();
    }
  }

  /** Paths the last finished pull could not bring up to date (pull-stalls.ts). */
  stalledPaths(): readonly string[] {
    return this.stalls.paths();
  }

  /** Those of them it could not bring for want of their content. */
  wantingContent(): readonly string[] {
    return this.stalls.wantingContent();
  }

  /** Changes when a pull leaves behind a path the one before had not; `onStallsGrew` hears it. */
  stallsTag(): string {
    return this.stalls.tag();
  }

  onStallsGrew(listener: () => void): () => void {
    return this.stalls.onGrew(listener);
  }

  /** A laptop named `name` holds these contents nowhere (UnobtainableCopies.authorLacks). */
  authorLacks(name: string, hashes: readonly string[]): boolean {
    return this.unobtainable.authorLacks(name, hashes);
  }

  private stall(row: FolderFileRow, reason: string, content = true): void {
    this.stalls.add(row.path, reason, content);
  }

  private async applyDeletions(rows: FolderFileRow[]): Promise<void> {
    for (const row of rows.reverse()) {
      if (!this.fromDisk.movedAway.has(row.path)) await this.applyOne(row);
    }
    await this.writer.flush();
  }

  /**
   * A directory or a deletion. `checkMarker` false: the caller has just checked the folder's
   * marker for a batch of them.
   */
  private async applyOne(row: FolderFileRow, checkMarker = true): Promise<void> {
    const target = this.targets.of(row);
    if (target === null) return;
    if (checkMarker) await assertMarker(this.deps.config.root, this.id);
    await this.guarded(row, async () => {
      // A direct lstat: microseconds, where a trip through the pool waits behind its queue.
      const existing = diskStateSync(target);
      // Changed or removed here since it was indexed: the next scan makes that a version of its
      // own first (a directory made over a file the user removed hid that removal; the file's
      // version stayed undominated). Nothing there and nothing held: go on.
      const removed = existing === null && heldHere(row) && !row.deleted;
      if (removed || (existing !== null && !matchesIndexed(row, existing))) {
        this.host.kick({ hints: [row.path] });
        return;
      }
      if (row.deleted) await this.writer.remove(row, target);
      else await this.writer.makeDir(row, target);
    });
  }

  /**
   * Brings files (distinct contents) to their needed version: content found on this disk is
   * moved or copied; small files come from a peer many per request, large ones one at a time
   * (resumable). Each is written to `.mosaic/tmp/`, verified, fsynced and renamed into place.
   */
  private async applyFiles(rows: readonly FolderFileRow[]): Promise<void> {
    if (rows.length === 0) return;
    await assertMarker(this.deps.config.root, this.id);
    const remote: Wanted[] = [];
    const endCheck = span('pull.check', rows.length);
    // Contents this disk may hold (one query): the others are not looked for here at all.
    const held = this.deps.index.copies.heldHashes(
      this.id,
      rows.flatMap((r) => (r.hash === null ? [] : [r.hash])),
    );
    // A few workers over the rows, not a closure and a promise per row made up front: those
    // lived through the whole check and were promoted (docs/benchmarks.md, "Memory, fourth pass").
    await eachAtOnce(rows, CHECKS_AT_ONCE, (row) =>
      this.guarded(row, () => this.check(row, held, remote)),
    );
    endCheck();
    await this.small.fetch(remote.filter((w) => w.row.size <= MAX_FRAMED_FILE_BYTES));
    // Contents are distinct within a round, and so are their temp files.
    await eachAtOnce(
      remote.filter((w) => w.row.size > MAX_FRAMED_FILE_BYTES),
      LARGE_AT_ONCE,
      (wanted) => this.fetchOne(wanted, 'no peer could send its content'),
    );
  }

  /**
   * Whether a file's content is to be fetched (pushed on `remote`) or was taken from this disk
   * and placed. Something indexed at its path must still be as indexed before content is
   * fetched for it (`place` checks again, and alone when nothing was there).
   */
  private async check(row: FolderFileRow, held: Set<string>, remote: Wanted[]): Promise<void> {
    const target = this.targets.of(row);
    if (target === null || row.hash === null) return;
    const indexedThere = heldHere(row);
    const existing = indexedThere ? await diskState(target) : null;
    // Changed or removed here since it was indexed: the scan makes that a version first
    // (FolderWriter.place says why a removal must be one too).
    if (indexedThere && (existing === null || !matchesIndexed(row, existing))) {
      this.host.kick({ hints: [row.path] });
      return;
    }
    const wanted = { row, target, hash: row.hash };
    if (held.has(row.hash) || this.fromDisk.leftOver(row.hash)) {
      const tmp = this.tmpFor(row.hash);
      if (await this.fromDisk.take(row.hash, row.size, tmp)) {
        await this.writer.place(wanted, tmp, null);
        return;
      }
    }
    remote.push(wanted);
  }

  /** Runs one file's work; what fails (a name this file system refuses...) is logged, not fatal. */
  private async guarded(row: FolderFileRow, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (error instanceof FolderMissingError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      this.deps.log.warn(
        { folder: this.id, path: row.path, code, err: (error as Error).message },
        'could not apply a change',
      );
    }
  }

  /**
   * One file by the resumable route (peer-fetch.ts), placed; stalled with `noPeer` when no peer
   * could send it: large files, and small ones every peer refused in a batch (small-pull.ts).
   */
  private async fetchOne(wanted: Wanted, noPeer: string): Promise<void> {
    await this.guarded(wanted.row, async () => {
      const tmp = this.tmpFor(wanted.hash);
      const endFetch = span('pull.large');
      const outcome = await fetchLargeFromPeers(this.deps, this.counters, wanted, tmp);
      endFetch();
      if (outcome === 'fetched') {
        const endPlace = span('pull.largePlace');
        await this.writer.place(wanted, tmp, null);
        endPlace();
        return;
      }
      if (outcome === 'lacked') this.unobtainable.lackedByAll(wanted.row);
      this.stall(wanted.row, noPeer);
    });
  }

  private tmpFor(hash: string): string {
    return join(folderTmpDir(this.deps.config.root), `${hash}.part`);
  }
}

/** The disk held a directory at this path when it was last scanned or written (no hash). */
function holdsDir(row: FolderFileRow): boolean {
  return heldHere(row) && row.localHash === null;
}
