/**
 * A node's own changes wait, at start, until its peers have said how far its operations got:
 * one put back to an older copy of its data (a backup, a VM snapshot) would otherwise number
 * its first changes as operations its peers hold already, refused there as conflicts and never
 * seen again (docs/architecture.md, "A node put back to an older copy of its data").
 */
import type { Logger } from 'pino';
import type { ChangeLog } from '../oplog/change-log.js';
import type { Replicator } from '../replication/replicator.js';

/** The longest a node's own changes wait at start for its peers' first answers. */
export const START_HOLD_MS = 3_000;
/** The longest, from before listening, whatever the lead's start does. */
const LONGEST_HOLD_MS = 4 * START_HOLD_MS;

export interface StartHold {
  /** The site's lead has started (or not, in this process): hold until the peers answer. */
  afterLead(leads: boolean): void;
}

/** Holds `changes` from now (call before listening); a node without peers holds nothing. */
export function holdOwnChanges(
  changes: ChangeLog,
  replicator: Replicator | null,
  log: Logger,
): StartHold {
  if (replicator === null) return { afterLead: () => undefined };
  let release: () => void = () => undefined;
  changes.holdOwnUntil(
    new Promise<void>((resolve) => {
      release = resolve;
    }),
  );
  // Released after the lead's start (below). Whatever that start awaits before it ends must not
  // be a change of this node's own, or it would wait for this: bounded, so that such a mistake
  // costs seconds at start, not a node that never finishes starting.
  const bound = setTimeout(() => {
    log.warn({ waitedMs: LONGEST_HOLD_MS }, 'own changes held at start for too long: released');
    release();
  }, LONGEST_HOLD_MS);
  bound.unref();
  const done = release;
  release = () => {
    clearTimeout(bound);
    done();
  };
  return {
    afterLead(leads) {
      // A process that does not lead the site at start does not talk to peers (PostgreSQL).
      if (!leads || !replicator.started) {
        release();
        return;
      }
      void replicator.firstHellos(START_HOLD_MS).then((all) => {
        if (!all) {
          log.warn(
            { waitedMs: START_HOLD_MS },
            'not every peer answered at start: changes made now are numbered without knowing ' +
              'whether they hold operations of this node that its data lacks',
          );
        }
        release();
      });
    },
  };
}
