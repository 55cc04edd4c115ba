/**
 * The phase transitions of one event at one site, as pure functions over EventState.
 *
 *   creating --create commits--> collecting --accept vote--> voting --outcome--> published
 *                                    ^                                  \--abort--> aborted
 *                                    \------------- next committed photo -----------/
 *
 * Invariant that makes every site agree on version v: a photo is prepared only at a site whose
 * (version, next round) equals the coordinator's, which holds no other prepared transaction of
 * the event, and which is not voting. So photos commit one at a time, in the same order
 * everywhere, and no photo commits once any site has started voting.
 */
import type {
  EventState,
  NoReason,
  OutcomePayload,
  PhotoPayload,
  PrepareVote,
  RemovalPayload,
  VoteDecision,
} from './types.js';

export const INITIAL_STATE: EventState = {
  phase: 'creating',
  round: 1,
  version: 0,
  deadline: null,
  closed: false,
};
export const COLLECTING: EventState = {
  phase: 'collecting',
  round: 1,
  version: 0,
  deadline: null,
  closed: false,
};

const YES: PrepareVote = { vote: 'yes' };
const no = (reason: NoReason): PrepareVote => ({ vote: 'no', reason });

/** The round a photo committed now would belong to: after an aborted round, the next one. */
export function nextPhotoRound(s: EventState): number {
  return s.phase === 'aborted' ? s.round + 1 : s.round;
}

/** Whether uploads are open at this site (the coordinator's own first check). */
export function uploadsOpen(s: EventState): NoReason | null {
  switch (s.phase) {
    case 'creating':
      return 'unknown-event';
    case 'voting':
      return 'voting';
    case 'published':
      return 'closed';
    case 'collecting':
    case 'aborted':
      return null;
  }
}

/** A participant's vote on preparing a photo (`holdsPrepared`: another tx of the event is). */
export function photoPrepareVote(
  s: EventState | null,
  p: PhotoPayload,
  holdsPrepared: boolean,
): PrepareVote {
  return changePrepareVote(s, p, holdsPrepared);
}

/**
 * A participant's vote on removing a participant or deleting the event: only before voting
 * starts (the same window as photos), and on the same (version, round) as the coordinator, so
 * every site makes the same next version.
 */
export function changePrepareVote(
  s: EventState | null,
  at: { readonly baseVersion: number; readonly round: number } | null,
  holdsPrepared: boolean,
): PrepareVote {
  if (s === null) return no('unknown-event');
  const closed = uploadsOpen(s);
  if (closed !== null) return no(closed);
  if (holdsPrepared) return no('busy');
  if (at === null) return YES;
  const mine = { version: s.version, round: nextPhotoRound(s) };
  if (mine.version === at.baseVersion && mine.round === at.round) return YES;
  const behind =
    mine.version < at.baseVersion || (mine.version === at.baseVersion && mine.round < at.round);
  return no(behind ? 'lagging' : 'stale');
}

/** The state after a removal: a new version when the montage loses photos, else unchanged. */
export function applyRemoval(s: EventState, r: RemovalPayload, hadPhotos: boolean): EventState {
  if (!hadPhotos) return s;
  return collectingAt(r.round, r.baseVersion + 1);
}

export function applyPhoto(p: PhotoPayload): EventState {
  return collectingAt(p.round, p.baseVersion + 1);
}

/** Uploads open on montage `version` of `round`, nobody voting. */
function collectingAt(round: number, version: number): EventState {
  return { phase: 'collecting', round, version, deadline: null, closed: false };
}

export type StartVotingResult =
  | { readonly kind: 'started'; readonly state: EventState }
  | { readonly kind: 'obsolete' } // already voting, or that round is over here: acknowledge
  | { readonly kind: 'lagging' }; // this site has not reached (round, version) yet: retry later

/** A "voting started for (round, version)" notice, local or from another site. */
export function startVoting(
  s: EventState,
  round: number,
  version: number,
  deadline: number,
): StartVotingResult {
  if (s.phase === 'creating' || s.round < round) return { kind: 'lagging' };
  if (s.round > round || s.phase !== 'collecting') return { kind: 'obsolete' };
  if (s.version < version) return { kind: 'lagging' };
  if (s.version > version) return { kind: 'obsolete' };
  return { kind: 'started', state: { ...s, phase: 'voting', deadline, closed: false } };
}

/**
 * A participant's vote on preparing a round's outcome. Never a final no: the master only
 * waits until the site has caught up (`lagging`) or its pending photo transaction is decided.
 */
export function outcomePrepareVote(
  s: EventState | null,
  o: OutcomePayload,
  holdsPrepared: boolean,
): PrepareVote {
  if (s === null || s.phase === 'creating') return no('unknown-event');
  if (holdsPrepared) return no('busy');
  if (s.round < o.round || (s.round === o.round && s.version < o.version)) return no('lagging');
  return YES;
}

export function applyOutcome(s: EventState, o: OutcomePayload): EventState {
  if (s.round !== o.round) return s; // a duplicate of an older round's outcome
  if (s.phase === 'published') return s;
  return {
    ...s,
    phase: o.outcome === 'publish' ? 'published' : 'aborted',
    deadline: null,
    closed: false,
  };
}

export type VoteCheck =
  | { readonly kind: 'record'; readonly startsVoting: boolean }
  | { readonly kind: 'refuse'; readonly code: 'stale_version' | 'not_voting' | 'busy' };

/** Whether a submitter's vote for `version` may be recorded now at this site. */
export function checkVote(
  s: EventState,
  version: number,
  decision: VoteDecision,
  holdsPrepared: boolean,
  now: number,
): VoteCheck {
  if (s.phase === 'voting') {
    if (s.closed) return { kind: 'refuse', code: 'not_voting' };
    if (s.deadline !== null && now > s.deadline) return { kind: 'refuse', code: 'not_voting' };
    if (version !== s.version) return { kind: 'refuse', code: 'stale_version' };
    if (holdsPrepared) return { kind: 'refuse', code: 'not_voting' }; // the outcome is being decided
    return { kind: 'record', startsVoting: false };
  }
  if (s.phase === 'collecting' && s.version > 0) {
    if (version !== s.version) return { kind: 'refuse', code: 'stale_version' };
    if (decision !== 'accept') return { kind: 'refuse', code: 'not_voting' };
    // A prepared photo may still change the version: let it be decided first.
    if (holdsPrepared) return { kind: 'refuse', code: 'busy' };
    return { kind: 'record', startsVoting: true };
  }
  return { kind: 'refuse', code: 'not_voting' };
}

/**
 * The master's decision on a round, given the votes of every submitter it knows of.
 *
 * Before the deadline it waits for the missing votes. After it, a missing vote may still sit at
 * the site where it was acknowledged (on its way to the master, or stuck behind a crash or a
 * cut link): the master first `collect`s the votes every site recorded — each site closes the
 * round when it answers — and aborts for a missing vote only once every site has answered
 * (`collected`). A reject decides at once; so do all accepts.
 */
export function decideRound(
  submitters: readonly string[],
  votes: ReadonlyMap<string, VoteDecision>,
  deadlinePassed: boolean,
  collected: boolean,
): 'publish' | 'abort' | 'wait' | 'collect' {
  if ([...votes.values()].includes('reject')) return 'abort';
  const missing = submitters.some((p) => !votes.has(p));
  if (!missing) return submitters.length > 0 ? 'publish' : 'abort';
  if (!deadlinePassed) return 'wait';
  return collected ? 'abort' : 'collect';
}

/**
 * A site asked by the master for the votes of (round, version) after the deadline, or the
 * master itself before it aborts for a missing vote: from now on it records no vote for that
 * round, so every vote it acknowledged is in its answer. The closure is a stored flag, not a
 * time: another process of the site may run on a clock that is behind (its deadline check
 * alone would still take votes). The deadline shown becomes now at the latest. `lagging` (it
 * has not reached that version yet) makes the master ask again later.
 */
export function closeVoting(
  s: EventState,
  round: number,
  version: number,
  now: number,
): { readonly kind: 'closed'; readonly state: EventState } | { readonly kind: 'lagging' } {
  if (s.phase === 'creating' || s.round < round) return { kind: 'lagging' };
  if (s.round === round && s.phase === 'collecting') {
    if (s.version < version) return { kind: 'lagging' };
    return { kind: 'closed', state: { ...s, phase: 'voting', deadline: now, closed: true } };
  }
  if (s.round === round && s.phase === 'voting') {
    const deadline = s.deadline === null ? now : Math.min(s.deadline, now);
    return { kind: 'closed', state: { ...s, deadline, closed: true } };
  }
  return { kind: 'closed', state: s }; // the round is over here already
}
