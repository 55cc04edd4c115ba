/**
 * Needed files a pull could not bring (content nobody sent, a target that changed here), for
 * FolderPull: retried with back-off (2 s doubling to 60 s while no file at all arrives), and said
 * at warn level with paths and reasons from the second pull in a row on: never a silent spin.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';

/** Per process, so that a tag seen before a restart never matches one after it. */
const BOOT = randomBytes(4).toString('hex');

export class PullStalls {
  private stalled: { path: string; reason: string; content: boolean }[] = [];
  /** The paths the last finished pull left behind. */
  private lastStalled: readonly string[] = [];
  /** Those of them left for want of content (a device may hold it), not for a race here. */
  private lastWanting: readonly string[] = [];
  /** Pulls in a row that left files behind without placing any. */
  private inARow = 0;
  /** Pulls that left behind a path the pull before had not (the tag's counter). */
  private grown = 0;
  private readonly grewListeners = new Set<() => void>();
  /** The next try, when one is scheduled, and when (ms since the epoch). */
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;

  constructor(
    private readonly folder: string,
    private readonly log: Logger,
    private readonly retry: () => void,
  ) {}

  startPull(): void {
    this.stalled = [];
  }

  /**
   * `content` false: the content was here, but placing it lost a race with a local change
   * (rescanned): no other holder can help, so a device is not told.
   */
  add(path: string, reason: string, content = true): void {
    this.stalled.push({ path, reason, content });
  }

  /** The paths the last finished pull could not bring up to date. */
  paths(): readonly string[] {
    return this.lastStalled;
  }

  /** Those the last finished pull could not bring for want of their content. */
  wantingContent(): readonly string[] {
    return this.lastWanting;
  }

  /**
   * Changes when a pull leaves behind, for want of its content, a path the pull before it had
   * not: a device long-polling the node hears of it at once and looks whether it holds the
   * content (device.service.ts).
   */
  tag(): string {
    return `${BOOT}.${this.grown}`;
  }

  /** Calls `listener` whenever the tag changes; returns the unsubscribe. */
  onGrew(listener: () => void): () => void {
    this.grewListeners.add(listener);
    return () => this.grewListeners.delete(listener);
  }

  /**
   * At the end of a pull that placed `placed` files: the retry, if anything was left behind,
   * after the back-off or within `soonMs`.
   */
  retryLater(placed: number, soonMs?: number): void {
    const before = new Set(this.lastWanting);
    this.lastStalled = this.stalled.map((s) => s.path);
    this.lastWanting = this.stalled.filter((s) => s.content).map((s) => s.path);
    if (this.lastWanting.some((path) => !before.has(path))) {
      this.grown++;
      for (const listener of [...this.grewListeners]) listener();
    }
    if (this.stalled.length === 0) {
      this.inARow = 0;
      return;
    }
    this.inARow = placed > 0 ? 1 : this.inARow + 1;
    const backOffMs = Math.min(60_000, 2000 * 2 ** Math.min(this.inARow - 1, 5));
    const retryInMs = Math.min(backOffMs, soonMs ?? backOffMs);
    const detail = {
      folder: this.folder,
      stalled: this.stalled.length,
      paths: this.stalled.slice(0, 10).map(({ path, reason }) => ({ path, reason })),
      attempt: this.inARow,
      retryInMs,
    };
    if (this.inARow >= 2) this.log.warn(detail, 'folder files not brought up to date; retrying');
    else this.log.debug(detail, 'folder content not available yet');
    this.schedule(retryInMs);
  }

  /** One try pending at most, the earliest asked for (not one more timer per stalled pull). */
  private schedule(inMs: number): void {
    const at = Date.now() + inMs;
    if (this.timer !== null && this.timerAt <= at) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.retry();
    }, inMs);
    this.timer.unref();
  }
}
