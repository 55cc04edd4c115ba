/** What one synced folder (FolderSync and its helpers) is built from. */
import type { Logger } from 'pino';
import type { ChangeLog } from '../oplog/change-log.js';
import type { ContentSource } from './content-source.js';
import type { FolderConfig } from './folder-config.js';
import type { FolderIndexRepository } from './folder-index.repository.js';
import type { FolderWatcher, WatchOptions } from './watcher.js';

export interface FolderSyncDeps {
  readonly config: FolderConfig;
  readonly index: FolderIndexRepository;
  readonly changes: ChangeLog;
  readonly selfId: string;
  readonly selfName: string;
  /** Where to fetch content this disk lacks: peers, or the node a device syncs with. */
  readonly sources: () => readonly ContentSource[];
  /** Node names (self, peers): copies of their versions may retire (unobtainable-copies.ts). */
  readonly nodeNames?: () => ReadonlySet<string>;
  /**
   * Names only devices removed from this folder carried: their versions whose content no peer
   * holds may retire, copies or not, no device being left to answer for them
   * (unobtainable-copies.ts).
   */
  readonly goneAuthors?: (folder: string) => Promise<ReadonlySet<string>>;
  readonly log: Logger;
  /**
   * Work asked for before `start()` ended waits for it (a node: peers' operations arrive while
   * it starts, before the folder's marker may exist). Without it (tests that drive `syncNow`),
   * a kick runs at once.
   */
  readonly holdUntilStarted?: boolean;
  readonly rescanIntervalMs?: number;
  /** How long replaced and deleted files stay in `.mosaic/trash/` (default 30 days). */
  readonly trashRetentionMs?: number;
  /**
   * Tests only: runs when a pulled file is about to replace what is at its path (after the
   * content is ready, before the target is checked and replaced), to race a local save.
   */
  readonly beforeReplace?: (path: string) => Promise<void>;
  /**
   * Tests only: runs when a file whose deletion is pending here is about to be moved to the
   * path it was renamed to elsewhere (after it was checked), to race a local save.
   */
  readonly beforeMoveAway?: (path: string) => Promise<void>;
  /** Tests only: runs before written files are recorded (throw to act out a crash there). */
  readonly beforeRecord?: () => Promise<void>;
  /** Tests only: the watcher (default watchFolder), to act out events merged or lost. */
  readonly watch?: (options: WatchOptions) => Promise<FolderWatcher>;
}
