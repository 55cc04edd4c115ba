/**
 * Buffers of one size kept for reuse between transfers. A folder of photos is hundreds of files
 * of a few MiB, each fetched (and sent) through a ring of buffers of its own: made new for every
 * file, the rings were nearly as much garbage as the bytes they carried, and their first touch
 * cost page faults (docs/benchmarks.md, "A folder of photos").
 *
 * A buffer is given back only once nothing uses it any more (its writes are done). The pool
 * keeps at most `keep` of them, and lets them all go after `idleMs` without a take or a give, so
 * an idle node holds none.
 */
export class BufferPool {
  private free: Buffer[] = [];
  /** The pooled buffer behind each view handed out by `takeView` and not given back yet. */
  private readonly views = new WeakMap<Buffer, Buffer>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly size: number,
    private readonly keep: number,
    private readonly idleMs = 30_000,
  ) {}

  take(): Buffer {
    this.touch();
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  give(buffer: Buffer): void {
    this.touch();
    if (buffer.length === this.size && this.free.length < this.keep) this.free.push(buffer);
  }

  /**
   * `length` bytes (at most `size`) as a view of a pooled buffer, for items of varying sizes (a
   * batch's blobs); `giveView` returns it. Longer ones are made new and never pooled.
   */
  takeView(length: number): Buffer {
    if (length > this.size) return Buffer.allocUnsafe(length);
    const whole = this.take();
    const view = whole.subarray(0, length);
    this.views.set(view, whole);
    return view;
  }

  /** Gives back the buffer behind a view from `takeView`; a second give of it does nothing. */
  giveView(view: Buffer): void {
    const whole = this.views.get(view);
    if (whole === undefined) return;
    this.views.delete(view);
    this.give(whole);
  }

  /** Buffers waiting for reuse (for tests). */
  get idle(): number {
    return this.free.length;
  }

  private touch(): void {
    if (this.timer !== null) {
      this.timer.refresh();
      return;
    }
    this.timer = setTimeout(() => {
      this.free = [];
      this.timer = null;
    }, this.idleMs);
    this.timer.unref();
  }
}
