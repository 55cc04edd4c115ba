/**
 * One synced folder on this node: finds local changes (watcher, start-up scan, periodic rescan)
 * and turns them into operations; brings the disk to the versions the index says it needs
 * (fetching content by hash from this disk, its trash, or a peer), safely: that half is
 * folder-pull.ts.
 *
 * Safety rules (design.md, "Folder sync"):
 * - remote content lands in `.mosaic/tmp/` first, is hash-verified, and replaces the target by
 *   an atomic rename only if the target has not changed since it was indexed (otherwise the
 *   local change wins the race and becomes a version of its own at the next scan);
 * - replaced and deleted files go to `.mosaic/trash/<time>/<path>`, never unlinked;
 * - no root or no marker: the folder is paused, nothing is scanned, nothing written; it looks
 *   again every PAUSED_RECHECK_MS and resumes once both are back;
 * - scans and applies never overlap (one lock per folder).
 */
import { Limiter } from '../core/limiter.js';
import { isConflictName } from './core/index.js';
import type { BlockList } from './blocks.js';
import { FolderPull, type PullCounters } from './folder-pull.js';
import { FolderServing, type SmallContentLocator } from './folder-serving.js';
import { sweepFolderTrash } from './folder-trash-sweep.js';
import { LocalChanges } from './local-changes.js';
import { LocalContent } from './local-content.js';
import { RecentContent } from './recent-content.js';
import { assertOrClaimMarker, ensureMarker, FolderMissingError } from './marker.js';
import { watchFolder, type FolderWatcher } from './watcher.js';
import type { FolderSyncDeps } from './folder-sync-deps.js';
import { WriteRecords } from './write-records.js';

export type { FolderSyncDeps } from './folder-sync-deps.js';
export type { SmallContentLocator } from './folder-serving.js';

export type FolderState = 'idle' | 'scanning' | 'syncing' | 'paused';

/** How often a paused folder looks whether its root and marker are back. */
export const PAUSED_RECHECK_MS = 2000;

export interface FolderStatus {
  id: string;
  path: string;
  state: FolderState;
  files: number;
  bytes: number;
  needFiles: number;
  conflicts: number;
}

export class FolderSync {
  state: FolderState = 'paused';
  private readonly lock = new Limiter(1);
  private watcher: FolderWatcher | null = null;
  /** Whether the files placed before a kill were recorded (`recoverLinked`). */
  private recovered = false;
  private timer: NodeJS.Timeout | null = null;
  /** While paused: the next look for the root and marker (PAUSED_RECHECK_MS). */
  private recheck: NodeJS.Timeout | null = null;
  private closed = false;
  private scanWanted = false;
  /** Paths the watcher (or a refused apply) said changed: scanned without a full walk. */
  private hints = new Set<string>();
  private pullWanted = false;
  /** Scans or pulls in a row that failed (not for a missing folder): the retry's back-off. */
  private failures = 0;
  private running: Promise<void> | null = null;
  /** `holdUntilStarted`: kicks only record their work until `start()` has made the marker. */
  private held: boolean;
  private readonly local: LocalContent;
  private readonly puller: FolderPull;
  /**
   * What this folder's pulls wrote: recorded at each flush, logged before links (link-log.ts),
   * told from the user's changes in the watcher's reports (write-echoes.ts).
   */
  private readonly records: WriteRecords;
  /** What peers and devices fetch from this folder (folder-serving.ts). */
  private readonly serving: FolderServing;
  /** Local changes -> operations (local-changes.ts). */
  private readonly changes: LocalChanges;

  constructor(private readonly deps: FolderSyncDeps) {
    this.held = deps.holdUntilStarted === true;
    this.local = new LocalContent(deps.index, (folder, paths) => {
      // A peer asked for content the index places at these paths, but their files changed
      // since they were indexed: say so, and index them again so the next ask finds them.
      deps.log.warn(
        { folder, paths, reason: 'file changed since it was indexed' },
        'cannot serve folder content from its indexed path; rescanning it',
      );
      this.kick({ hints: paths });
    });
    this.records = new WriteRecords(deps, (paths) => {
      this.kick({ hints: paths });
    });
    this.puller = new FolderPull(deps, this.local, this, this.records);
    // Small files a scan just hashed, served to peers without reading them again.
    const recent = new RecentContent();
    this.changes = new LocalChanges(deps, recent, this);
    this.serving = new FolderServing(deps.config.id, deps.config.root, this.local, recent);
  }

  /** Bytes fetched from peers, and files obtained from this disk instead (moves, copies). */
  get counters(): PullCounters {
    return this.puller.counters;
  }

  get id(): string {
    return this.deps.config.id;
  }

  get root(): string {
    return this.deps.config.root;
  }

  async start(): Promise<void> {
    const { config, log } = this.deps;
    try {
      await this.markedHere();
      await ensureMarker(config.root, config.id);
    } catch (error) {
      log.error(
        { folder: config.id, root: config.root, err: (error as Error).message },
        'folder paused',
      );
      this.state = 'paused';
    }
    this.held = false;
    this.timer = setInterval(() => {
      this.kick({ scan: true, pull: true });
      this.sweepTrash().catch((err: unknown) => {
        log.warn({ folder: config.id, err }, 'folder trash sweep failed');
      });
    }, this.deps.rescanIntervalMs ?? 30_000);
    this.timer.unref();
    this.kick({ scan: true, pull: true });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.recheck) clearTimeout(this.recheck);
    await this.watcher?.close();
    await this.running;
    this.records.close();
    this.serving.close();
  }

  /** The block list of a content this node has on disk as its version (LocalContent). */
  blocksFor(hash: string): Promise<BlockList | null> {
    return this.serving.blocksFor(hash);
  }

  /** A file here with this content, for a peer to fetch (null: none). */
  contentFor(hash: string): Promise<string | null> {
    return this.serving.contentFor(hash);
  }

  /** For a peer's batch of small files: each content's bytes or file (folder-serving.ts). */
  smallContents(hashes: readonly string[]): SmallContentLocator {
    return this.serving.smallContents(hashes);
  }

  /**
   * Scans and brings the disk up to date now; resolves once the folder is idle (nothing left
   * to do until something changes, or a retry of content not available yet comes due).
   */
  async syncNow(): Promise<void> {
    this.kick({ scan: true, pull: true });
    await this.whenIdle();
  }

  /** A file was left still changing (being written): a rescan for it is due, not sent yet. */
  get rescanDue(): boolean {
    return this.changes.rescanDue;
  }

  /** Resolves once the work asked for so far is done. */
  async whenIdle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** New operations arrived: if some are for this folder, bring the disk up to date. */
  onRemoteChange(): void {
    this.kick({ pull: true });
  }

  /**
   * Contents of files the last pull could not bring (no peer sent them), at most `limit`: a
   * device that holds one uploads it (device-replica.ts). A device is no peer of this node, so
   * a content that only it still holds — its upload lost here after the node acknowledged its
   * operation — would otherwise be needed for good.
   */
  stalledContents(limit: number): string[] {
    const hashes = new Set<string>();
    for (const path of this.puller.wantingContent()) {
      if (hashes.size >= limit) break;
      const row = this.deps.index.get(this.id, path);
      if (row?.need === true && !row.deleted && row.hash !== null) hashes.add(row.hash);
    }
    return [...hashes];
  }

  /** Changes when contents may have joined `stalledContents` (a device's long poll ends). */
  wantedTag(): string {
    return this.puller.stallsTag();
  }

  /** Calls `listener` when `wantedTag` changes; returns the unsubscribe. */
  onWantedChange(listener: () => void): () => void {
    return this.puller.onStallsGrew(listener);
  }

  /**
   * A laptop named `name` (the author of versions whose copies this node needs) holds these
   * contents nowhere, of those `stalledContents` named: such copies may retire (a node's
   * wanted list is the laptop's only way to answer; unobtainable-copies.ts).
   */
  authorLacks(name: string, hashes: readonly string[]): void {
    // News: a pull now (the laptop says so again at each of its pushes).
    if (this.puller.authorLacks(name, hashes)) this.kick({ pull: true });
  }

  /**
   * This disk holds this content nowhere, nor may it soon: no indexed path (even one changed
   * since, which a rescan is about to look at), no trashed copy, no scan or pull under way. A
   * device says so of its node's wanted contents (device-uploads.ts).
   */
  async lacksContent(hash: string): Promise<boolean> {
    if (this.running !== null || this.scanWanted || this.hints.size > 0) return false;
    return this.local.lacks(this.id, hash);
  }

  /**
   * Files stalled for want of content are tried again now: a device uploaded some, or a device
   * was removed (copies of its versions may then retire).
   */
  retryStalled(): void {
    if (this.puller.stalledPaths().length > 0) this.kick({ pull: true });
  }

  /**
   * A peer answers again: files left needed because no peer that answered had them (the pull's
   * stalls wait up to a minute between tries, pull-stalls.ts) are asked for now.
   */
  onPeerUp(): void {
    this.kick({ pull: true });
  }

  status(): FolderStatus {
    const totals = this.deps.index.countAndBytes(this.id);
    const conflicts = this.deps.index.conflictCandidates(this.id).filter(isConflictName).length;
    return {
      id: this.id,
      path: this.deps.config.root,
      state: this.state,
      files: totals.files,
      bytes: totals.bytes,
      needFiles: totals.needFiles,
      conflicts,
    };
  }

  kick(work: { scan?: boolean; pull?: boolean; hints?: Iterable<string> }): void {
    if (this.closed) return;
    this.scanWanted ||= work.scan === true;
    for (const path of work.hints ?? []) this.hints.add(path);
    this.pullWanted ||= work.pull === true;
    // Run before the marker was made, the loop found none: the folder took itself for paused and
    // rescanned in full two seconds later, in the middle of its first sync.
    if (this.held) return;
    this.running ??= this.loop().finally(() => {
      this.running = null;
    });
  }

  private async loop(): Promise<void> {
    while (!this.closed && (this.scanWanted || this.hints.size > 0 || this.pullWanted)) {
      try {
        await this.ensureAvailable();
        if (!this.recovered) await this.recoverLinked();
        if (this.scanWanted || this.hints.size > 0) {
          const hints = this.scanWanted ? null : this.hints;
          this.scanWanted = false;
          this.hints = new Set();
          await this.lock.run(async () => {
            const news = hints === null ? null : await this.records.notOwnWrites(hints);
            if (news === null || news.size > 0) await this.changes.scan(news);
          });
        }
        if (this.pullWanted) {
          this.pullWanted = false;
          const started = performance.now();
          await this.lock.run(() => this.puller.pull());
          // The pull had something to do (it says 'syncing' once it finds a needed row).
          if (this.state === 'syncing') this.logPulled(performance.now() - started);
        }
        this.state = 'idle';
        this.failures = 0;
      } catch (error) {
        this.scanWanted = false;
        this.hints.clear();
        this.pullWanted = false;
        if (error instanceof FolderMissingError) {
          if (this.state !== 'paused') {
            this.deps.log.error(
              { folder: this.id, err: error.message },
              'folder paused: root or marker missing',
            );
          }
          this.state = 'paused';
          await this.watcher?.close();
          this.watcher = null;
          // No watcher while paused: look again soon (two stats), so a disk mounted again
          // resumes in seconds, not at the next rescan.
          this.recheck ??= setTimeout(() => {
            this.recheck = null;
            this.kick({ scan: true, pull: true });
          }, PAUSED_RECHECK_MS);
          this.recheck.unref();
        } else {
          // What was asked is dropped above: all of it again soon (a full scan, since the hints
          // are gone), not only at the next periodic rescan. 1 s, doubling to 60 s.
          this.failures++;
          const retryInMs = Math.min(60_000, 1000 * 2 ** Math.min(this.failures - 1, 6));
          this.deps.log.warn(
            { folder: this.id, err: (error as Error).message, retryInMs },
            'folder sync failed; will retry',
          );
          setTimeout(() => {
            this.kick({ scan: true, pull: true });
          }, retryInMs).unref();
        }
      }
    }
  }

  /**
   * After a pull that wrote or removed something: the folder's totals as `status` gives them
   * (what is still needed waits for a peer that has it), like the full scan's 'folder scanned'.
   */
  private logPulled(ms: number): void {
    const { files, needFiles } = this.deps.index.countAndBytes(this.id);
    this.deps.log.info({ folder: this.id, files, needFiles, ms: Math.round(ms) }, 'folder pulled');
  }

  /**
   * Once, before the first scan: the files a pull placed just before this node was killed, and
   * never recorded, are recorded now (link-log.ts), so that the scan tells which of them the
   * user deleted meanwhile.
   */
  private async recoverLinked(): Promise<void> {
    await this.lock.run(async () => {
      const recorded = await this.records.recoverLinked();
      if (recorded > 0) {
        this.deps.log.info(
          { folder: this.id, recorded },
          'pulled files placed before a kill recorded',
        );
      }
    });
    this.recovered = true;
  }

  /** The root holds this folder's marker, or is given one if nothing of it is on this disk yet. */
  private markedHere(): Promise<void> {
    const { root, id } = this.deps.config;
    return assertOrClaimMarker(root, id, () => this.deps.index.holdsDiskContent(id));
  }

  /** Checks root and marker; (re)starts the watcher once the folder is there. */
  private async ensureAvailable(): Promise<void> {
    const { root } = this.deps.config;
    await this.markedHere();
    if (this.watcher === null) {
      await this.changes.reloadIgnore();
      this.watcher = await (this.deps.watch ?? watchFolder)({
        root,
        isIgnored: (p, d) => this.changes.isIgnored(p, d),
        onEvent: (path) => {
          this.records.heard(path);
        },
        log: this.deps.log,
        onChanges: (paths) => {
          this.kick({ hints: paths });
        },
      });
      this.scanWanted = true;
    }
  }

  /** Removes trash older than the retention (folder-trash-sweep.ts). */
  sweepTrash(now = Date.now()): Promise<number> {
    return sweepFolderTrash(this.deps, now);
  }
}
