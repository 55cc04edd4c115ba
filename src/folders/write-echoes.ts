/**
 * The watcher's echo of each change a pull makes on disk, and what to do when none comes.
 *
 * A pull's write (a file linked into place, a file moved to the trash, a directory made) is
 * normally followed by a watcher event for its path, which `notOwnWrites` then drops as this
 * node's own (write-records.ts). A change the user makes right after it is reported as well, and
 * is news. But @parcel/watcher merges the events of one path that come close together (within
 * ~50 ms, up to 500 ms while they keep coming) into one, and a file created and then deleted
 * within that window into nothing at all: no event. A file the pull placed and the user deleted
 * at once was then noticed only by the next full scan, 30 s later (fault tier seed 653644810:
 * a full scan's "deleted: 1"; measured here: a link followed by an unlink within 40 ms gave no
 * event, 60 ms apart two). The same window loses the first files placed in a directory the pull
 * has just made (the watch on it starts a moment after).
 *
 * So each written path is remembered with its time until the watcher reports it; one not
 * reported within ECHO_WAIT_MS is handed to `onSilent` as a hint: the scan's look at it
 * (`notOwnWrites`: one lstat) tells whether the disk still holds what was written. A report
 * that comes late only costs that look.
 */

/** Longer than @parcel/watcher's longest wait before it reports (500 ms), with room to spare. */
export const ECHO_WAIT_MS = 1500;

/** Paths awaiting their echo, at most; beyond, the oldest are handed over at once. */
const MAX_WAITING = 50_000;

export class WriteEchoes {
  /** Written paths not reported since, by the time they were written (insertion order). */
  private readonly waiting = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly onSilent: (paths: Set<string>) => void,
    private readonly now: () => number = Date.now,
    private readonly waitMs = ECHO_WAIT_MS,
  ) {}

  /** The pull changed `path` on disk just now. */
  wrote(path: string): void {
    // Re-inserted: the map stays in order of writing.
    this.waiting.delete(path);
    this.waiting.set(path, this.now());
    if (this.waiting.size > MAX_WAITING) this.handOver(this.waiting.size - MAX_WAITING);
    if (this.timer === null) this.checkIn(this.waitMs);
  }

  /** The watcher reported `path` (before its own debounce): a write made before now is echoed. */
  heard(path: string): void {
    this.waiting.delete(path);
  }

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.waiting.clear();
  }

  /** Hands over the paths written ECHO_WAIT_MS ago or more and not reported since. */
  private check(): void {
    this.timer = null;
    const due = this.now() - this.waitMs;
    let silent = 0;
    for (const at of this.waiting.values()) {
      if (at > due) break;
      silent++;
    }
    this.handOver(silent);
    const oldest = this.waiting.values().next().value;
    if (oldest !== undefined) this.checkIn(Math.max(10, oldest + this.waitMs - this.now()));
  }

  private checkIn(ms: number): void {
    this.timer = setTimeout(() => {
      this.check();
    }, ms);
    this.timer.unref();
  }

  /** The `count` oldest waiting paths, to `onSilent`. */
  private handOver(count: number): void {
    if (count <= 0) return;
    const paths = new Set<string>();
    for (const path of this.waiting.keys()) {
      if (paths.size >= count) break;
      paths.add(path);
    }
    for (const path of paths) this.waiting.delete(path);
    this.onSilent(paths);
  }
}
