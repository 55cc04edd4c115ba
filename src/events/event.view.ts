/**
 * The Event JSON of the public API (the web app relies on this exact shape), built from what
 * this site knows. Participants appear by name only; how anyone voted is never shown.
 */
import type { Phase } from './core/types.js';
import type { Participant, StoredEvent, StoredPhoto, Vote } from './event.repository.js';

export type Role = 'organiser' | 'participant' | 'visitor';

/**
 * A site of the event as this site sees it: 'waiting' while the master waits for its answer
 * (the event is being set up, or the round's votes are being collected or decided), since when.
 */
export interface SiteView {
  name: string;
  state: 'ready' | 'waiting';
  /** ISO time: since when it is waited for, or when it answered; null when not known here. */
  since: string | null;
}

export interface EventView {
  id: string;
  title: string;
  origin: string;
  phase: Phase;
  round: number;
  montageVersion: number;
  photos: { id: string; participant: string; site: string; addedAt: string }[];
  participants: { id: string; name: string; site: string; submitted: boolean; voted: boolean }[];
  deadline: string | null;
  votes: { cast: number; needed: number };
  votingSeconds: number;
  maxParticipants: number;
  inviteUrl: string | null;
  publishedAt: string | null;
  /** Every site holding the event (the master first). */
  sites: SiteView[];
  /**
   * `id`: this person's participant id (null: not a participant), to find them in the list;
   * `photos`: how many photos they added.
   */
  me: {
    role: Role;
    id: string | null;
    name: string | null;
    submitted: boolean;
    photos: number;
    voted: boolean;
  };
}

export interface ViewInput {
  readonly event: StoredEvent;
  readonly photos: readonly StoredPhoto[];
  readonly participants: readonly Participant[];
  /** Votes of the current round known here. */
  readonly votes: readonly Vote[];
  readonly role: Role;
  readonly me: Participant | null;
  readonly username: string | null;
  readonly siteUrl: string | null;
  /** What the master knows of each site's answer to what it waits for (null: nothing open). */
  readonly progress: ReadonlyMap<string, { state: 'ready' | 'waiting'; since: number }> | null;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function submitterIds(photos: readonly StoredPhoto[]): string[] {
  return [...new Set(photos.map((p) => p.photo.participantId))];
}

export function eventView(input: ViewInput): EventView {
  const { event, photos, participants, role, me } = input;
  const { record, state } = event;
  const submitters = new Set(submitterIds(photos));
  // An aborted round's votes count no more: the next vote is on a new version.
  const currentVotes =
    state.phase === 'aborted' ? [] : input.votes.filter((v) => v.version === state.version);
  const voted = new Set(currentVotes.map((v) => v.participantId));
  const showInvite = role !== 'visitor' && input.siteUrl !== null;
  return {
    id: record.id,
    title: record.title,
    origin: record.originName,
    phase: state.phase,
    round: state.round,
    montageVersion: state.version,
    photos: photos.map((p) => ({
      id: p.photo.hash,
      participant: p.photo.participantName,
      site: p.photo.siteName,
      addedAt: iso(p.photo.addedAt),
    })),
    participants: participants.map((p) => ({
      id: p.id,
      name: p.name,
      site: p.siteName,
      submitted: submitters.has(p.id),
      voted: voted.has(p.id),
    })),
    deadline: state.phase === 'voting' && state.deadline !== null ? iso(state.deadline) : null,
    votes: { cast: [...voted].filter((id) => submitters.has(id)).length, needed: submitters.size },
    votingSeconds: record.votingSeconds,
    maxParticipants: record.maxParticipants,
    inviteUrl: showInvite ? `${input.siteUrl}/e/${record.id}?invite=${record.invite}` : null,
    publishedAt: event.publishedAt === null ? null : iso(event.publishedAt),
    sites: record.sites.map((site) => {
      const p = input.progress?.get(site.id);
      return p === undefined
        ? { name: site.name, state: 'ready', since: null }
        : { name: site.name, state: p.state, since: iso(p.since) };
    }),
    me: {
      role,
      id: me?.id ?? null,
      name: me?.name ?? input.username,
      submitted: me !== null && submitters.has(me.id),
      photos: me === null ? 0 : photos.filter((p) => p.photo.participantId === me.id).length,
      voted: me !== null && voted.has(me.id),
    },
  };
}
