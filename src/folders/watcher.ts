/**
 * Watches a synced folder recursively (@parcel/watcher) and reports the paths that changed,
 * debounced:
 * a burst of events — an unpacked archive, an editor's save dance — becomes one callback once
 * things have been quiet for `debounceMs`, and one at least every `maxWaitMs` while they are not.
 *
 * @parcel/watcher watches directories, not files (one inotify watch per directory on Linux;
 * FSEvents, ReadDirectoryChangesW elsewhere), so a folder of 100 000 files costs as many watches
 * as it has directories. (chokidar, used before, held one watch and one handle per file: 100 000
 * files took ~300 MB of heap and half of a user's default inotify watch budget.)
 *
 * The watcher only says where to look: events are hints, not facts (they can be lost, merged or
 * arrive for files still being written), so the caller answers with a scan, which decides.
 * Lost ones are found by the periodic full scan: @parcel/watcher skips an inotify queue overflow
 * (`fs.inotify.max_queued_events`) without reporting it, so nothing here can ask for more.
 * If the root itself goes away, or the watcher fails, it reports WHOLE_FOLDER: the caller
 * rescans, and the scan throws FolderMissingError and pauses the folder. A watcher whose root
 * went away watches nothing more: the caller starts a new one when the folder is back.
 */
import { stat } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { subscribe } from '@parcel/watcher';
import { MOSAIC_DIR, type IsIgnored } from './ignore.js';
import { FolderMissingError } from './marker.js';

/** In a reported set: the root itself changed (gone, or the watcher failed) — rescan it all. */
export const WHOLE_FOLDER = '';

export interface WatchLog {
  warn(details: object, message: string): void;
}

export interface WatchOptions {
  readonly root: string;
  /** Relative, '/'-separated, NFC paths; WHOLE_FOLDER for the root itself. */
  readonly onChanges: (paths: Set<string>) => void;
  /** Quiet time before reporting. Default 200 ms. */
  readonly debounceMs?: number;
  /** Longest a change waits to be reported while events keep coming. Default 2000 ms. */
  readonly maxWaitMs?: number;
  /**
   * Told of each reported path as it comes, before the debounce (a pull's writes wait for their
   * echo: write-echoes.ts).
   */
  readonly onEvent?: (path: string) => void;
  /** Paths not to watch at all (saves watches on large ignored trees). `.mosaic/` never is. */
  readonly isIgnored?: IsIgnored;
  readonly log?: WatchLog;
}

export interface FolderWatcher {
  close(): Promise<void>;
}

/** Starts watching; resolves once the initial tree is being watched. */
export async function watchFolder(options: WatchOptions): Promise<FolderWatcher> {
  const { root, onChanges, onEvent, isIgnored, log } = options;
  const debounceMs = options.debounceMs ?? 200;
  const maxWaitMs = options.maxWaitMs ?? 2000;
  if (!(await isDirectory(root))) throw new FolderMissingError(root, 'root-missing');

  const toRelative = (absolute: string): string =>
    relative(root, absolute).split(sep).join('/').normalize('NFC');

  let pending = new Set<string>();
  let firstAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const flush = async (): Promise<void> => {
    timer = undefined;
    if (pending.size === 0) return;
    const paths = pending;
    pending = new Set();
    // The root's own removal may come as an event below it, or not at all (an unmount is not
    // an event): whatever was reported, look.
    if (!paths.has(WHOLE_FOLDER) && !(await isDirectory(root))) paths.add(WHOLE_FOLDER);
    if (closed) return;
    try {
      onChanges(paths);
    } catch (error) {
      log?.warn({ err: error, root }, 'folder watcher callback failed');
    }
  };

  const add = (path: string): void => {
    if (closed) return;
    const now = Date.now();
    if (pending.size === 0) firstAt = now;
    pending.add(path);
    clearTimeout(timer);
    const delay = Math.max(0, Math.min(debounceMs, firstAt + maxWaitMs - now));
    timer = setTimeout(() => void flush(), delay);
  };

  // Mosaic's own directory is not watched at all; other ignored paths are filtered here
  // (.mosaicignore has gitignore semantics, which the native ignore list does not). On Linux the
  // backend is named: the default one runs `watchman` through a shell at each start and, when a
  // watchman answers, watches through it, with other semantics than the inotify ones this
  // folder code is built and tested on (a directory's first files, echoes of a pull's writes).
  const subscription = await subscribe(
    root,
    (error, events) => {
      if (error) {
        log?.warn({ err: error, root }, 'folder watcher error; rescanning the whole folder');
        add(WHOLE_FOLDER);
        return;
      }
      for (const event of events) {
        const path = toRelative(event.path);
        if (path === '..' || path.startsWith('../')) continue;
        if (path === MOSAIC_DIR || path.startsWith(`${MOSAIC_DIR}/`)) continue;
        onEvent?.(path);
        // Whether a deleted path was a directory is unknown: ask both ways.
        if (path !== '' && isIgnored?.(path, false) === true && isIgnored(path, true)) continue;
        add(path);
      }
    },
    { ignore: [MOSAIC_DIR], ...(process.platform === 'linux' ? { backend: 'inotify' } : {}) },
  );

  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      // A watch the kernel already dropped (its directory was deleted just now) cannot be
      // removed again: @parcel/watcher then rejects with EINVAL ("Unable to remove watcher:
      // Invalid argument", seen once in crash-record.test.ts under load). Stopping goes on.
      await subscription.unsubscribe().catch((error: unknown) => {
        if (!/Unable to remove watcher/.test((error as Error).message)) throw error;
      });
    },
  };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
