/**
 * What a device's summary line says: the changes and files sent and received since the last
 * line, and whether it is in sync. Pure: the replica feeds it the running totals.
 */
import type { Totals } from './device-uploads.js';
import type { SyncSummary } from './reporter.js';

const ZERO: Totals = { ops: 0, files: 0, bytes: 0 };

function delta(a: Totals, b: Totals): Totals {
  return { ops: a.ops - b.ops, files: a.files - b.files, bytes: a.bytes - b.bytes };
}

export class SyncTally {
  private reported: { sent: Totals; received: Totals } = { sent: ZERO, received: ZERO };
  private reportedInSync: boolean | null = null;

  /**
   * The line for what moved since the last one, or null when there is nothing to say: nothing
   * moved and the state did not turn to in sync (`always`: a line even then).
   */
  next(sent: Totals, received: Totals, inSync: boolean, always: boolean): SyncSummary | null {
    const moved = {
      sent: delta(sent, this.reported.sent),
      received: delta(received, this.reported.received),
    };
    const any = moved.sent.ops + moved.sent.files + moved.received.ops + moved.received.files > 0;
    if (!always && !any && (inSync === this.reportedInSync || !inSync)) return null;
    this.reported = { sent: { ...sent }, received: { ...received } };
    this.reportedInSync = inSync;
    return { ...moved, inSync };
  }
}
