/**
 * What a person may do on an event page, from the event as the server reports it. The server
 * decides for real (and answers 409 otherwise); these rules only enable or disable buttons and
 * say why.
 */
import type { EventPhase, MosaicEvent } from '../api/types';

export const PHASE_LABEL: Record<EventPhase, string> = {
  creating: 'Setting up',
  collecting: 'Collecting photos',
  voting: 'Voting',
  published: 'Published',
  aborted: 'Round aborted — uploads open again',
};

/** Organisers and participants act on an event; a visitor only looks. */
export const isMember = (event: MosaicEvent) => event.me.role !== 'visitor';

export function uploadBlocked(event: MosaicEvent): string | null {
  if (!isMember(event)) return 'Join the event to add photos.';
  switch (event.phase) {
    case 'collecting':
    case 'aborted':
      return null;
    case 'creating':
      return 'The event is still being set up on every site.';
    case 'voting':
      return 'Voting is in progress: no photos until it ends.';
    case 'published':
      return 'The montage is published.';
  }
}

/**
 * Why this person cannot vote `decision` now, or null, as the server decides it: only those who
 * added a photo vote; accepting the current montage starts the voting period; rejecting only
 * makes sense during it; after an aborted round, only a new version is voted on.
 */
export function voteBlocked(event: MosaicEvent, decision: 'accept' | 'reject'): string | null {
  if (!isMember(event) || event.me.name === null) return 'Only participants vote.';
  if (event.montageVersion === 0) return 'There is no montage to vote on yet.';
  // The server's rule: only those who added a photo vote.
  if (!event.me.submitted) return 'Add a photo to vote: everyone who added one decides.';
  if (event.me.voted) return 'You have voted in this round.';
  switch (event.phase) {
    case 'voting':
      return null;
    case 'collecting':
      return decision === 'accept' ? null : 'Voting has not started: accept to start it.';
    case 'aborted':
      // No vote until a photo makes a new version (the server refuses one on the old).
      return 'The last round did not pass: add a photo for a new version, then vote.';
    case 'creating':
      return 'The event is still being set up.';
    case 'published':
      return 'The montage is published.';
  }
}

/** Whether this person may see the unpublished montage (the server enforces it). */
export function canSeeMontage(event: MosaicEvent): boolean {
  if (event.montageVersion === 0) return false;
  return event.phase === 'published' || event.me.submitted || event.me.role === 'organiser';
}

/** The organiser may remove participants or delete the event until voting starts. */
export function organiserMayChange(event: MosaicEvent): boolean {
  return (
    event.me.role === 'organiser' &&
    (event.phase === 'collecting' || event.phase === 'aborted' || event.phase === 'creating')
  );
}

/**
 * The organiser may replace the invite link while people may still join: not while the event
 * is being set up, nor once it is published (the server refuses both with a sentence).
 */
export function organiserMayReplaceInvite(event: MosaicEvent): boolean {
  return (
    event.me.role === 'organiser' &&
    (event.phase === 'collecting' || event.phase === 'voting' || event.phase === 'aborted')
  );
}

/** "You have added a photo." / "You have added 3 photos." */
export function addedSoFar(count: number): string {
  return count > 1 ? `You have added ${count} photos.` : 'You have added a photo.';
}

/** Every place is taken: the server refuses anyone else who tries to join (409). */
export function isFull(event: MosaicEvent): boolean {
  return event.participants.length >= event.maxParticipants;
}
