/**
 * A queue of jobs that runs one at a time, one behind its caller: `submit` waits for the job
 * before (not for its own) and starts this one, so the caller prepares the next batch while the
 * last one runs. Used by small-writes.ts: a batch of pulled files is flushed and linked while the
 * next batch is received and written (docs/benchmarks.md, "Folder sync, issue 16's mixed set").
 *
 * Guarantees (property-tested): every job submitted runs, in submission order, never two at
 * once; a job's failure is thrown by the next `submit` or `drain`, once, and never left as an
 * unhandled rejection; `drain` returns once every submitted job has ended.
 */
export class OneBehind {
  private running: Promise<void> | null = null;

  /**
   * Waits for the job before, starts `job` without waiting for it (whatever the one before did:
   * every job submitted runs, so each can clean up after itself), then throws the failure of the
   * one before, if it failed.
   */
  async submit(job: () => Promise<void>): Promise<void> {
    let failure: { error: unknown } | null = null;
    try {
      await this.drain();
    } catch (error) {
      failure = { error };
    }
    const run = job();
    // Marked handled here; the failure is rethrown to whoever awaits `running` next.
    run.catch(() => {});
    this.running = run;
    if (failure !== null) throw failure.error;
  }

  /** Waits for the running job, if any; throws its failure (once). */
  async drain(): Promise<void> {
    const running = this.running;
    if (running === null) return;
    try {
      await running;
    } finally {
      if (this.running === running) this.running = null;
    }
  }
}
