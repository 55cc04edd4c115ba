/**
 * The invite link of an event, as pure rules: which invite a site takes, when a new one may be
 * issued, and how every site settles on the same one.
 *
 * A new invite travels as an `invite` 2PC transaction that never aborts (like a round's
 * outcome: the organiser's decision is taken, the transaction only makes it reach every site;
 * a site that is down gets it when it is back, the coordinator preparing again until it says
 * yes). Because it cannot abort, a site applies it as soon as it has logged `prepared`: from
 * that moment it refuses the old link, even before the decision arrives. Two replacements
 * issued at once (two tabs, two sites) both commit; every site keeps the greatest
 * (generation, invite), so they all end on the same link whatever order they arrive in.
 */
import type { EventRecord, EventState, InvitePayload, NoReason, PrepareVote } from './types.js';

export interface InviteVersion {
  readonly invite: string;
  readonly generation: number;
}

/** The invite a site takes now, from its copy of the record. */
export function currentInvite(record: EventRecord): InviteVersion {
  return { invite: record.invite, generation: record.inviteGeneration ?? 0 };
}

/** Whether `given` is the event's invite here (an older one, or any other string, is not). */
export function inviteAccepted(record: EventRecord, given: string): boolean {
  return given === record.invite;
}

/** Whether `next` replaces `current`: a higher generation, or the same one and a greater invite. */
export function supersedes(next: InviteVersion, current: InviteVersion): boolean {
  if (next.generation !== current.generation) return next.generation > current.generation;
  return next.invite > current.invite;
}

/** The record with `next` as its invite when it replaces the one it holds, else unchanged. */
export function withInvite(record: EventRecord, next: InviteVersion): EventRecord {
  if (!supersedes(next, currentInvite(record))) return record;
  return { ...record, invite: next.invite, inviteGeneration: next.generation };
}

/** The payload of the invite that replaces the record's current one. */
export function nextInvite(record: EventRecord, invite: string, now: number): InvitePayload {
  return { invite, generation: currentInvite(record).generation + 1, issuedAt: now };
}

/**
 * Whether a new invite may be issued now, at the site that would coordinate it: not while the
 * event is still being set up (not every site holds it), nor once it is published (nobody may
 * join any more: there is nothing left to protect). During voting it may: joining does not
 * touch the round.
 */
export function inviteChangeOpen(s: EventState): NoReason | null {
  switch (s.phase) {
    case 'creating':
      return 'unknown-event';
    case 'published':
      return 'closed';
    case 'collecting':
    case 'voting':
    case 'aborted':
      return null;
  }
}

/**
 * A site's vote on a new invite: yes once it holds the event, whatever its phase (the
 * transaction never aborts, so a final no would block it for ever; a site that published
 * meanwhile takes the new invite harmlessly). It does not wait for other transactions of the
 * event either: an invite conflicts with no photo, removal or vote.
 */
export function invitePrepareVote(s: EventState | null): PrepareVote {
  if (s === null || s.phase === 'creating') return { vote: 'no', reason: 'unknown-event' };
  return { vote: 'yes' };
}
