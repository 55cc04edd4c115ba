/**
 * What a person reads when an event change is refused: sentences, never internal codes.
 */
import { ConflictError } from '../core/errors.js';
import type { NoReason } from './core/types.js';

/** The sites that refused or did not answer, in words. */
export function why(refusals: readonly { site: string; reason: string }[]): string {
  const words: Record<string, string> = {
    'no answer': 'did not answer',
    busy: 'is deciding another change',
    lagging: 'is still catching up',
    stale: 'has a newer version',
    'unknown-event': 'does not hold the event yet',
  };
  const parts = refusals.map((r) => `site ${r.site} ${words[r.reason] ?? r.reason}`);
  return `${parts.join(', ')}. Try again in a moment.`;
}

/** What a person with a replaced (or mistyped) invite link reads, at every site. */
export const INVITE_REFUSED =
  'This invite link is no longer valid for this event (or never was): ask the organiser for the current link.';

export function changeRefusal(reason: NoReason): string {
  switch (reason) {
    case 'voting':
      return 'Voting has started: nothing may change until the round ends (and photos only if it aborts).';
    case 'closed':
      return 'The event is published: it cannot change any more.';
    case 'unknown-event':
      return 'The event is still being set up at every site; try again in a moment.';
    default:
      return `The change could not be agreed by every site; try again in a moment.`;
  }
}

export function voteRefusal(
  code: 'stale_version' | 'not_voting' | 'busy',
  current: number,
): ConflictError {
  switch (code) {
    case 'stale_version':
      return new ConflictError(`Vote on the current montage, version ${current}.`, 'stale_version');
    case 'not_voting':
      return new ConflictError('No vote is open on this event now.', 'not_voting');
    case 'busy':
      return new ConflictError('A photo is being added right now; look at the new montage first.');
  }
}
