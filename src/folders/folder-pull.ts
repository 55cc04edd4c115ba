/**
 * The pull half of one synced folder (FolderSync): brings the disk to the versions the index
 * says it needs, fetching content by hash from this disk, its trash, or a peer, safely.
 *
 * Where the disk is written: folder-write.ts (`place`, `remove`, `makeDir`, the trash), plus
 * `fromThisDisk` and `writeSmall` here (moves, copies and writes into `.mosaic/tmp/` only).
 * Crash safety (docs/architecture.md, "Folder sync"):
 * - the versions of a round go to `folder_applying` before the first rename and are forgotten
 *   in the transaction that records the disk states (`flushRecords`), so the scan after a crash
 *   in between recognises the files as those versions;
 * - `place` checks, moves aside, checks again, and links in without replacing: a local save
 *   racing it stays a local change.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { copyFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fsyncFile } from '../core/fsync.js';
import { Limiter } from '../core/limiter.js';
import { checkRelativePath, isConflictName, joinInside } from './core/index.js';
import { MAX_FRAMED_FILE_BYTES, MAX_FRAMED_FILES } from './content-frames.js';
import { diskState } from './disk-state.js';
import type { FolderFileRow } from './folder-index.repository.js';
import type { FolderState, FolderSyncDeps } from './folder-sync.js';
import { APPLYING_DIR } from './folder-versions.repository.js';
import { FolderWriter, matchesIndexed, type Wanted } from './folder-write.js';
import { fetchLarge } from './large-transfer.js';
import type { LocalContent } from './local-content.js';
import { assertMarker, folderTmpDir, FolderMissingError } from './marker.js';
import { assertParentsInside, regularFileInside, UnsafePathError } from './inside-folder.js';
import { span, timed } from './trace.js';
import { SmallWrites } from './small-writes.js';
import { UnobtainableCopies } from './unobtainable-copies.js';

const NEED_PAGE = 2000;
/** The most bytes of small files asked for in one request. */
const BATCH_BYTES = 16 * 1024 * 1024;
/** Files a pull asks for one at a time after every peer refused them in a batch. */
const SINGLE_RETRIES = 32;

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
  private readonly io = new Limiter(16);
  /** Paths whose file was moved to a new path in this pull: their deletion is done. */
  private readonly movedAway = new Set<string>();
  /** Remote paths refused for a symlinked parent (warned once each). */
  private readonly refusedPaths = new Set<string>();
  /** Needed files the last pull could not bring, and why (logged, retried with back-off). */
  private stalled: { path: string; reason: string }[] = [];
  /** Pulls in a row that left files behind without placing any. */
  private stalls = 0;
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
  private readonly smallWrites: SmallWrites;

  constructor(
    private readonly deps: FolderSyncDeps,
    private readonly local: LocalContent,
    private readonly host: PullHost,
  ) {
    this.unobtainable = new UnobtainableCopies(deps);
    this.writer = new FolderWriter(deps, {
      stall: (row, reason) => {
        this.stall(row, reason);
      },
      kick: (work) => {
        host.kick(work);
      },
    });
    this.smallWrites = new SmallWrites({
      root: deps.config.root,
      place: (wanted, tmp, info) =>
        this.guarded(wanted.row, () => this.writer.place(wanted, tmp, info)),
      wrongContent: (wanted) => {
        deps.log.warn({ folder: this.id, path: wanted.row.path }, 'peer sent wrong content');
        this.stall(wanted.row, 'peer sent wrong content');
      },
      failed: (wanted, error) => {
        deps.log.warn(
          {
            folder: this.id,
            path: wanted.row.path,
            code: (error as NodeJS.ErrnoException).code,
            err: (error as Error).message,
          },
          'could not apply a change',
        );
      },
      written: (bytes) => {
        this.counters.fetchedBytes += bytes;
        this.counters.fetchedFiles++;
      },
    });
  }

  private get id(): string {
    return this.deps.config.id;
  }

  /** The watcher's hints less this node's own recorded writes (FolderWriter.notOwnWrites). */
  notOwnWrites(hints: ReadonlySet<string>): Promise<Set<string>> {
    return this.writer.notOwnWrites(hints);
  }

  async pull(): Promise<void> {
    await timed('pull', () => this.pullAll());
  }

  private async pullAll(): Promise<void> {
    await this.writer.sweepLinkedTmp();
    this.stalled = [];
    this.unobtainable.startPull();
    this.writer.startPull();
    this.movedAway.clear();
    let after = '';
    let deletions: FolderFileRow[] = [];
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
        for (const row of dirs) await this.applyOne(row);
        await this.writer.flush(dirs.map((r) => r.path));
      }
      // One file per content at a time (they would share a temp file, named by hash so that a
      // transfer can resume): rounds of distinct contents; later rounds copy what the first
      // brought.
      let files = page.filter((r) => !r.deleted && r.kind === 'file');
      while (files.length > 0) {
        const seen = new Set<string | null>();
        const round = files.filter((r) => !seen.has(r.hash) && seen.add(r.hash));
        files = files.filter((r) => !round.includes(r));
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
      if (deletions.length > 5000) {
        await this.applyDeletions(deletions);
        deletions = [];
      }
    }
    await this.applyDeletions(deletions);
    await this.unobtainable.endPull();
    this.retryStalled();
  }

  /**
   * Files this pull could not bring (content nobody sent, a target that changed here): retried
   * with back-off (2 s doubling to 60 s while no file at all arrives), and said at warn level
   * with paths and reasons from the second pull in a row on: never a silent spin.
   */
  private retryStalled(): void {
    if (this.stalled.length === 0) {
      this.stalls = 0;
      return;
    }
    this.stalls = this.writer.placed > 0 ? 1 : this.stalls + 1;
    const retryInMs = Math.min(60_000, 2000 * 2 ** Math.min(this.stalls - 1, 5));
    const detail = {
      folder: this.id,
      stalled: this.stalled.length,
      paths: this.stalled.slice(0, 10),
      attempt: this.stalls,
      retryInMs,
    };
    if (this.stalls >= 2)
      this.deps.log.warn(detail, 'folder files not brought up to date; retrying');
    else this.deps.log.debug(detail, 'folder content not available yet');
    setTimeout(() => {
      this.host.kick({ pull: true });
    }, retryInMs).unref();
  }

  private stall(row: FolderFileRow, reason: string): void {
    this.stalled.push({ path: row.path, reason });
  }

  private async applyDeletions(rows: FolderFileRow[]): Promise<void> {
    for (const row of rows.reverse()) {
      if (!this.movedAway.has(row.path)) await this.applyOne(row);
    }
    await this.writer.flush();
  }

  /** The target on disk for a remote path, or null (refused and logged) when it is unsafe. */
  private targetOf(row: FolderFileRow): string | null {
    const check = checkRelativePath(row.path);
    if (!check.ok || check.path !== row.path) {
      this.deps.log.warn(
        { folder: this.id, path: row.path, reason: check.ok ? 'not NFC' : check.reason },
        'remote path refused',
      );
      return null;
    }
    const target = joinInside(this.deps.config.root, row.path);
    try {
      // Refused early with a clear reason (and checked again right before each write).
      assertParentsInside(this.deps.config.root, row.path);
    } catch (error) {
      if (!(error instanceof UnsafePathError)) throw error;
      // Parked (still needed) until the link goes: warned once per path, not at every pull.
      const level = this.refusedPaths.has(row.path) ? 'debug' : 'warn';
      this.refusedPaths.add(row.path);
      this.deps.log[level](
        { folder: this.id, path: row.path, reason: error.reason },
        'remote path refused: it would leave the folder through a symbolic link',
      );
      return null;
    }
    return target;
  }

  /** A directory or a deletion. */
  private async applyOne(row: FolderFileRow): Promise<void> {
    const target = this.targetOf(row);
    if (target === null) return;
    await assertMarker(this.deps.config.root, this.id);
    await this.guarded(row, async () => {
      // Nothing there: nothing local can be lost (the user removed it too; a deletion loses
      // to a concurrent version anyway), so go on. The scanner leaves paths with a pending
      // version alone, so waiting for it to report the removal would wait forever.
      const existing = await diskState(target);
      if (existing !== null && !matchesIndexed(row, existing)) {
        // Changed here since it was indexed: the next scan makes it a version of its own.
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
    const held = this.deps.index.heldHashes(
      this.id,
      rows.flatMap((r) => (r.hash === null ? [] : [r.hash])),
    );
    await Promise.all(
      rows.map((row) =>
        this.io.run(() =>
          this.guarded(row, async () => {
            const target = this.targetOf(row);
            if (target === null || row.hash === null) return;
            // Something indexed there must still be as indexed before content is fetched for
            // it (`place` checks again, and alone when nothing was there).
            const indexedThere = row.localInode !== null || row.localSize !== null;
            const existing = indexedThere ? await diskState(target) : null;
            if (existing !== null && !matchesIndexed(row, existing)) {
              this.host.kick({ hints: [row.path] });
              return;
            }
            const wanted = { row, target, hash: row.hash };
            const tmp = this.tmpFor(row.hash);
            if (held.has(row.hash) && (await this.fromThisDisk(row.hash, tmp)))
              await this.writer.place(wanted, tmp, null);
            else remote.push(wanted);
          }),
        ),
      ),
    );
    endCheck();
    const small = remote.filter((w) => w.row.size <= MAX_FRAMED_FILE_BYTES);
    for (let i = 0; i < small.length;) {
      let bytes = 0;
      let end = i;
      while (end < small.length && end - i < MAX_FRAMED_FILES && bytes < BATCH_BYTES) {
        bytes += small[end++]?.row.size ?? 0;
      }
      await timed('pull.fetchSmall', () => this.fetchSmall(small.slice(i, end)), end - i);
      i = end;
    }
    for (const wanted of remote.filter((w) => w.row.size > MAX_FRAMED_FILE_BYTES)) {
      await this.guarded(wanted.row, async () => {
        const tmp = this.tmpFor(wanted.hash);
        if (await this.fetchLarge(wanted, tmp)) {
          await this.writer.place(wanted, tmp, null);
        } else {
          this.stall(wanted.row, 'no peer could send its content');
        }
      });
    }
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

  private tmpFor(hash: string): string {
    return join(folderTmpDir(this.deps.config.root), `${hash}.part`);
  }

  /**
   * Small files from peers, many per request. Each frame is verified as it arrives and written
   * while the next ones come in; what one peer lacks is asked of the next.
   */
  private async fetchSmall(group: readonly Wanted[]): Promise<void> {
    let pending = [...group];
    let answered = false;
    const sources = this.deps.sources();
    /** Per content: how many peers answered that they lack it. */
    const lackedBy = new Map<string, number>();
    for (const peer of sources) {
      if (pending.length === 0) break;
      const byHash = new Map(pending.map((w) => [w.hash, w]));
      const lacking: Wanted[] = [];
      try {
        let endWait: (() => void) | null = span('pull.firstFrame', pending.length);
        const frames = peer.folderContents(
          this.id,
          pending.map((w) => ({ hash: w.hash, size: w.row.size })),
        );
        for await (const frame of frames) {
          endWait?.();
          endWait = null;
          answered = true;
          const wanted = byHash.get(frame.hash);
          if (!wanted) continue;
          byHash.delete(frame.hash);
          if (frame.data === null) {
            lackedBy.set(frame.hash, (lackedBy.get(frame.hash) ?? 0) + 1);
            lacking.push(wanted);
            continue;
          }
          // Written now, flushed and placed a few hundred at a time (small-writes.ts).
          await this.smallWrites.add(wanted, frame.data);
        }
      } catch (error) {
        this.deps.log.warn(
          { folder: this.id, peer: peer.baseUrl, err: (error as Error).message },
          'folder batch fetch failed',
        );
      }
      // What this peer sent before a failure is good: flushed and placed too.
      await this.smallWrites.settle();
      // Whatever this peer did not send (lacking, or cut off) is asked of the next one.
      pending = [...lacking, ...byHash.values()];
    }
    for (const wanted of pending) {
      if (isConflictName(wanted.row.path) && lackedBy.get(wanted.hash) === sources.length) {
        this.unobtainable.lackedByAll(wanted.row);
      }
    }
    // Asked in a batch and refused by every peer that answered: ask once more, one file at a
    // time by the resumable route (another way to the same content, a bounded few per pull).
    const retried = answered ? pending.slice(0, SINGLE_RETRIES) : [];
    for (const wanted of retried) {
      await this.guarded(wanted.row, async () => {
        const tmp = this.tmpFor(wanted.hash);
        if (await this.fetchLarge(wanted, tmp)) await this.writer.place(wanted, tmp, null);
        else this.stall(wanted.row, 'no peer could send its content (batch and single request)');
      });
    }
    for (const wanted of pending.slice(retried.length)) {
      this.stall(wanted.row, answered ? 'no peer has its content' : 'no peer answered');
    }
  }

  /**
   * Content already on this disk: a file about to be deleted here (a move or rename elsewhere),
   * or one in the trash, is moved into `tmp`; otherwise a file with that content is copied.
   * What comes from the trash or a copy is verified.
   */
  private async fromThisDisk(hash: string, tmp: string): Promise<boolean> {
    const { config, index } = this.deps;
    const source = index.findByHash(this.id, hash);
    if (source?.deleted === true && source.need && !this.movedAway.has(source.path)) {
      const from = regularFileInside(config.root, source.path);
      const info = from === null ? null : await diskState(from);
      if (from !== null && info?.isFile() === true && matchesIndexed(source, info)) {
        this.movedAway.add(source.path);
        assertParentsInside(config.root, source.path, false);
        await rename(from, tmp);
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
   * A large file from a peer into `tmp`: only the blocks that neither an earlier attempt's temp
   * file nor the older version at the target already hold (large-transfer.ts).
   */
  private async fetchLarge(wanted: Wanted, tmp: string): Promise<boolean> {
    const { row, target, hash } = wanted;
    // The older version on disk seeds the temp file, if it is still what was indexed.
    const real = row.localHash !== null ? regularFileInside(this.deps.config.root, row.path) : null;
    const old = real !== null ? await diskState(real) : null;
    const seed = old?.isFile() === true && matchesIndexed(row, old) ? target : null;
    const file = { folder: this.id, hash, size: row.size };
    for (const peer of this.deps.sources()) {
      const resuming = existsSync(tmp);
      try {
        const result = await fetchLarge(peer, file, tmp, seed);
        this.counters.fetchedBytes += result.fetchedBytes;
        if (result.done) {
          this.counters.fetchedFiles++;
          if (result.firstFetchedAt > 0) {
            this.deps.log.info(
              {
                folder: this.id,
                hash,
                peer: peer.baseUrl,
                fetched: result.fetchedBytes,
                reused: row.size - result.fetchedBytes,
                resumedAt: resuming ? result.firstFetchedAt : undefined,
              },
              resuming ? 'folder fetch resumed and done' : 'folder fetch done: changed blocks only',
            );
          }
          return true;
        }
        await rm(tmp, { force: true });
      } catch (error) {
        this.deps.log.warn(
          { folder: this.id, peer: peer.baseUrl, err: (error as Error).message },
          'folder fetch failed',
        );
      }
    }
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
