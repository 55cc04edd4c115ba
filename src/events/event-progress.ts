/**
 * What the master waits for from each site of an event, for the Event JSON's `sites` (the page
 * names the sites awaited and since when). Only the master knows; elsewhere: null.
 */
import type { RoundKeeper } from './event-rounds.js';
import type { StoredEvent } from './event.repository.js';
import type { TxCoordinator } from './two-phase.coordinator.js';

export interface Progress {
  readonly state: 'ready' | 'waiting';
  readonly since: number;
}

/**
 * At the master, what it waits for from each site: the create transaction (since the event
 * was created), the vote collection after the deadline, or the round's outcome transaction.
 */
export function siteProgress(
  event: StoredEvent,
  selfId: string,
  coordinator: TxCoordinator,
  rounds: RoundKeeper,
): Map<string, Progress> | null {
  const { record, state } = event;
  if (record.originId !== selfId) return null;
  const progress = new Map<string, Progress>();
  if (state.phase === 'creating') {
    const open = coordinator.progress(record.id, 'create');
    for (const site of record.sites) {
      const p = open?.find((s) => s.site.id === site.id);
      progress.set(
        site.id,
        p?.state === 'ready'
          ? { state: 'ready', since: p.since }
          : { state: 'waiting', since: record.createdAt },
      );
    }
    return progress;
  }
  if (state.phase !== 'voting') return null;
  const outcome = coordinator.progress(record.id, 'outcome');
  if (outcome) {
    for (const p of outcome) progress.set(p.site.id, { state: p.state, since: p.since });
    return progress;
  }
  const collection = rounds.collectionOf(record.id, state.round);
  if (!collection) return null;
  for (const site of record.sites) {
    const at = site.id === selfId ? collection.started : collection.answered.get(site.id);
    progress.set(
      site.id,
      at === undefined
        ? { state: 'waiting', since: collection.started }
        : { state: 'ready', since: at },
    );
  }
  return progress;
}
