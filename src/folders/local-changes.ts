/**
 * Local changes -> operations, for one synced folder (FolderSync's scan half): a full or hinted
 * scan (scanner.ts), each batch of changes committed as `file.put` operations together with the
 * disk state they describe; a file that holds a version this node already knows is recorded as
 * that version, not made a new edit (`knownVersion`).
 */
import type { FilePut } from '../oplog/op.js';
import { bumpVv } from './core/index.js';
import { diskDiffers } from './folder-apply.js';
import type { FolderFileRow } from './folder-index.repository.js';
import type { FolderState, FolderSyncDeps } from './folder-sync.js';
import { APPLYING_DIR } from './folder-versions.repository.js';
import { loadIgnore, type IsIgnored } from './ignore.js';
import { realDirPrefix } from './inside-folder.js';
import type { RecentContent } from './recent-content.js';
import { scanFolder, type LocalChange } from './scanner.js';
import { span } from './trace.js';

/** More directories than this to look at, and a hinted scan becomes a full one. */
const MAX_HINT_DIRS = 256;
/** A scan that left files being written looks again this soon (or once they have settled). */
const STILL_CHANGING_RETRY_MS = 500;

/** What the scan half needs of its FolderSync. */
export interface LocalChangesHost {
  state: FolderState;
  kick(work: { scan?: boolean; pull?: boolean; hints?: Iterable<string> }): void;
}

export class LocalChanges {
  /** `.mosaicignore` as last read (by each scan, and when the watcher starts). */
  isIgnored: IsIgnored = () => false;
  /** Whether a full scan was logged at info yet (the first one is). */
  private fullScanLogged = false;
  /** Rescans due for files left still changing (see `scan`), not kicked yet. */
  private retriesDue = 0;

  /** A rescan of files left still changing is due: what they hold is not sent yet. */
  get rescanDue(): boolean {
    return this.retriesDue > 0;
  }

  constructor(
    private readonly deps: FolderSyncDeps,
    /** Small files just hashed by a scan, served to peers without reading them again. */
    private readonly recent: RecentContent,
    private readonly host: LocalChangesHost,
  ) {}

  private get id(): string {
    return this.deps.config.id;
  }

  async reloadIgnore(): Promise<void> {
    this.isIgnored = await loadIgnore(this.deps.config.root);
  }

  /**
   * A full scan (`hints` null), or one limited to the directories holding the hinted paths:
   * each is listed, and below it only new directories are walked, and known ones that were
   * hinted themselves are listed (`lookInside`). More hints than MAX_HINT_DIRS directories, or
   * the root itself, make it a full scan.
   */
  async scan(hints: ReadonlySet<string> | null): Promise<void> {
    this.host.state = 'scanning';
    const root = this.deps.config.root;
    await this.reloadIgnore();
    const dirs = hints === null ? null : await hintedDirs(root, hints);
    const started = performance.now();
    let stillChanging = 0;
    let settlesInMs = 0;
    const totals = { files: 0, hashed: 0, changed: 0, deleted: 0 };
    for (const under of dirs ?? ['']) {
      const end = span(dirs === null ? 'scan.full' : 'scan.hinted');
      const result = await scanFolder({
        root,
        folder: this.id,
        index: this.deps.index,
        isIgnored: this.isIgnored,
        log: this.deps.log,
        under,
        shallow: dirs !== null,
        ...(hints === null ? {} : { lookInside: hints }),
        keep: this.recent,
        onBatch: (changes) => this.commitLocal(changes),
      });
      end();
      stillChanging += result.stillChanging;
      settlesInMs = Math.max(settlesInMs, result.settlesInMs);
      totals.files += result.files;
      totals.hashed += result.hashed;
      totals.changed += result.changed;
      totals.deleted += result.deleted;
    }
    // A full scan (start-up, every 30 s): what it cost, and that unchanged files were not read.
    const ms = Math.round(performance.now() - started);
    // At info: the first full scan (what the folder holds, what it cost) and a full scan that
    // found changes. The periodic one that found nothing (every 30 s) is debug.
    const found = totals.changed + totals.deleted > 0;
    const atInfo = dirs === null && (found || !this.fullScanLogged);
    if (atInfo) this.fullScanLogged = true;
    this.deps.log[atInfo ? 'info' : 'debug'](
      {
        folder: this.id,
        full: dirs === null,
        ...totals,
        stillChanging,
        ms,
        // A hinted scan: what it was told and where it looked (the first few of each).
        ...(hints === null || dirs === null
          ? {}
          : { hints: firstOf(hints, 8), hinted: hints.size, dirs: dirs.slice(0, 8) }),
      },
      'folder scanned',
    );
    if (stillChanging > 0) {
      // Soon, or once the youngest file left for being too recent has settled (scanner.ts).
      const delay = Math.max(STILL_CHANGING_RETRY_MS, settlesInMs + 20);
      this.retriesDue++;
      setTimeout(() => {
        this.retriesDue--;
        // The same hints again: the same directories, and the same ones looked inside (a file
        // still being written is usually where it was).
        this.host.kick(hints === null || dirs === null ? { scan: true } : { hints });
      }, delay).unref();
    }
  }

  /**
   * One transaction per batch: the operations and the disk state they describe. A file that
   * holds a version this node knows is recorded as that version, not made a new one (see
   * `knownVersion`).
   */
  private async commitLocal(all: readonly LocalChange[]): Promise<void> {
    const end = span('scan.commit', all.length);
    try {
      await this.commitChanges(all);
    } finally {
      end();
    }
  }

  private async commitChanges(all: readonly LocalChange[]): Promise<void> {
    const { index, selfId, selfName } = this.deps;
    // Each path's row, read once (one statement): `knownVersion` and the operation's base both
    // need it.
    let before = index.getMany(
      this.id,
      all.map((change) => change.path),
    );
    const known: FolderFileRow[] = [];
    const changes = all.filter((change) => {
      const row = this.knownVersion(change, before.get(change.path));
      if (row !== null) known.push(row);
      return row === null;
    });
    if (known.length > 0) {
      await index.transaction(() => {
        index.upsertMany(known);
        index.versions.doneApplying(
          this.id,
          known.map((r) => r.path),
        );
      });
      if (known.some((r) => r.need)) this.host.kick({ pull: true });
      // That transaction was awaited: the rows again (a remote operation may have come since).
      before = index.getMany(
        this.id,
        changes.map((change) => change.path),
      );
    }
    const bodies: FilePut[] = [];
    for (const change of changes) {
      const current = before.get(change.path);
      bodies.push({
        kind: 'file.put',
        folder: this.id,
        path: change.path,
        entry: change.kind,
        deleted: change.deleted,
        hash: change.deleted || change.kind === 'dir' ? null : change.hash,
        size: change.deleted ? 0 : change.size,
        mtimeMs: change.mtimeMs,
        // Based on the version on disk, which may be older than the index's current one (a
        // remote version not applied yet): then this edit is concurrent with it, a conflict.
        vv: bumpVv((current?.need === true ? current.localVv : current?.vv) ?? {}, selfId),
        originName: selfName,
      });
    }
    const result = { behind: false };
    const ops = await this.deps.changes.commitMany(bodies, (_trx, logged) => {
      // Usually our own version is now current; if a concurrent one won, the disk must follow.
      const needed = index.recordScannedStates(
        changes.map((change, i) => {
          const body = bodies[i] as FilePut;
          const op = logged[i];
          if (op === undefined) throw new Error('commitMany logged fewer operations than asked');
          return {
            version: {
              folder: this.id,
              path: change.path,
              kind: change.kind,
              deleted: change.deleted,
              hash: body.hash,
              hlc: op.hlc,
              vv: body.vv,
              blockSize: change.blockSize,
              blocks: change.blocks,
            },
            localSize: change.deleted ? null : change.size,
            localMtimeMs: change.deleted ? null : change.mtimeMs,
            localInode: change.deleted ? null : change.inode,
            localHash: change.deleted || change.kind === 'dir' ? null : change.hash,
          };
        }),
      );
      result.behind = needed > 0;
    });
    // A concurrent version won (the disk must follow), or a conflict copy is to be written.
    if (result.behind || ops.length > bodies.length) this.host.kick({ pull: true });
  }

  /**
   * The row to record when a found file is a version this node knows (null: a real local
   * change): the path's current version (same content), or a version a pull was writing there
   * when it was interrupted (same content and mtime, folder_applying; for a directory, that a
   * pull was making it). Without this, a file
   * renamed into place just before a crash was taken for a new edit based on the current
   * version, and beat a delete that had arrived meanwhile (issue 11, cause 2).
   */
  private knownVersion(change: LocalChange, row: FolderFileRow | undefined): FolderFileRow | null {
    if (change.deleted) return null;
    if (row === undefined) return null;
    const { versions } = this.deps.index;
    const live = !row.deleted && row.kind === change.kind;
    let vv: FolderFileRow['vv'] | null;
    if (change.kind === 'dir') {
      vv = live ? row.vv : versions.applying(this.id, change.path, APPLYING_DIR, 0);
    } else if (change.hash === null) {
      return null;
    } else {
      vv =
        live && row.hash === change.hash
          ? row.vv
          : versions.applying(this.id, change.path, change.hash, change.mtimeMs);
    }
    if (vv === null) return null;
    const same = change.kind === 'file' && row.hash === change.hash;
    const disk: FolderFileRow = {
      ...row,
      // The block list describes the version's content: the file's when it is that content.
      blockSize: same ? change.blockSize : row.blockSize,
      blocks: same ? change.blocks : row.blocks,
      localSize: change.size,
      localMtimeMs: change.mtimeMs,
      localInode: change.inode,
      localHash: change.kind === 'dir' ? null : change.hash,
      localVv: vv,
    };
    return { ...disk, need: diskDiffers(disk) };
  }
}

/**
 * The directories to scan for hinted paths: each path's parent, or the nearest ancestor that
 * is still a directory (a removed tree is judged from the directory that held it). Parents
 * come before their children. Null: too many, or the root itself — scan everything.
 */
export async function hintedDirs(
  root: string,
  hints: ReadonlySet<string>,
): Promise<string[] | null> {
  const parents = new Set<string>();
  for (const path of hints) {
    if (path === '') return null;
    parents.add(parentOf(path));
    if (parents.size > MAX_HINT_DIRS) return null;
  }
  const dirs = new Set<string>();
  for (const parent of parents) {
    // Reached through real directories only: a hint under a symlink (`out -> /etc`, a refused
    // remote path `out/x`) must never make the scanner walk and index the link's target.
    const dir = realDirPrefix(root, parent);
    if (dir === '' && !dirs.has('')) dirs.add('');
    else dirs.add(dir);
  }
  return [...dirs].sort();
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** The first `count` items of a set, without copying the rest (a scan may get thousands). */
function firstOf<T>(items: Iterable<T>, count: number): T[] {
  const first: T[] = [];
  for (const item of items) {
    if (first.length >= count) break;
    first.push(item);
  }
  return first;
}
