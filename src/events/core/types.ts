/**
 * Plain data of group photo events, shared by the pure state machines (this folder), the
 * repository, the service and the peer messages. No behaviour here.
 */

/** Where an event stands at one site (see event-phase.ts for the transitions). */
export type Phase = 'creating' | 'collecting' | 'voting' | 'published' | 'aborted';

/** One site (node) of the cluster that holds a replica of an event, fixed at creation. */
export interface Site {
  readonly id: string;
  readonly name: string;
  readonly url: string;
}

/** The part of an event's state that the protocol reasons about. */
export interface EventState {
  readonly phase: Phase;
  readonly round: number;
  /** Committed photos so far; montage version v is made of photos 1..v. */
  readonly version: number;
  /** ms since the epoch while voting, else null. */
  readonly deadline: number | null;
  /**
   * Whether this site takes no more votes in this round, whatever its clock says of the
   * deadline: it answered the master's vote collection, or (at the master) the round is being
   * decided without a missing vote. Stored, so that every process of the site, on whatever
   * clock, refuses from then on. False again in every later state.
   */
  readonly closed: boolean;
}

/** What every site stores about an event; distributed by the `create` transaction. */
export interface EventRecord {
  readonly id: string;
  readonly title: string;
  readonly originId: string;
  readonly originName: string;
  /** Username of the organiser at the origin. */
  readonly organiser: string;
  /**
   * The organiser's participant id: the organiser is one of the group, recorded with the event
   * at every site by the create transaction itself (absent in events made before that).
   */
  readonly organiserId?: string | undefined;
  /** The invite link's secret now; replaced by an `invite` transaction (see core/invite.ts). */
  readonly invite: string;
  /**
   * How many times the invite was replaced (absent: never). The highest (generation, invite)
   * wins at every site, whatever order two replacements arrive in.
   */
  readonly inviteGeneration?: number | undefined;
  readonly sites: readonly Site[];
  readonly votingSeconds: number;
  readonly maxParticipants: number;
  readonly createdAt: number;
}

export interface PhotoPayload {
  readonly hash: string;
  readonly size: number;
  readonly participantId: string;
  readonly participantName: string;
  readonly siteId: string;
  readonly siteName: string;
  /** The version this photo extends: it becomes photo number baseVersion + 1. */
  readonly baseVersion: number;
  /** The round the photo belongs to (a photo after an aborted round opens the next one). */
  readonly round: number;
  readonly addedAt: number;
}

export type Outcome = 'publish' | 'abort';

export interface OutcomePayload {
  readonly round: number;
  readonly version: number;
  readonly outcome: Outcome;
  readonly decidedAt: number;
}

/**
 * The organiser removes a participant before voting starts. Like a photo, it extends
 * `baseVersion`: when the participant has photos in the montage, it makes version
 * baseVersion + 1 without them.
 */
export interface RemovalPayload {
  readonly participantId: string;
  readonly baseVersion: number;
  readonly round: number;
  readonly removedAt: number;
}

/**
 * The organiser (or an admin) replaces the event's invite link: from then on only `invite`
 * lets a person join. Never aborts once asked for (see core/invite.ts).
 */
export interface InvitePayload {
  readonly invite: string;
  /** The replaced invite's generation + 1, at the site that issued it. */
  readonly generation: number;
  readonly issuedAt: number;
}

export type TxBody =
  | { readonly kind: 'create'; readonly event: EventRecord }
  | { readonly kind: 'photo'; readonly photo: PhotoPayload }
  | { readonly kind: 'outcome'; readonly outcome: OutcomePayload }
  | { readonly kind: 'remove'; readonly removal: RemovalPayload }
  | { readonly kind: 'delete'; readonly deletedAt: number }
  | { readonly kind: 'invite'; readonly invite: InvitePayload };

export type TxKind = TxBody['kind'];

/** A participant's answer to prepare. `retry` reasons are temporary; the others are final. */
export type PrepareVote =
  { readonly vote: 'yes' } | { readonly vote: 'no'; readonly reason: NoReason };

export type NoReason =
  | 'busy' // another transaction of this event is prepared here and undecided
  | 'lagging' // this site has not caught up with the coordinator's view yet
  | 'stale' // the coordinator's view is behind this site's
  | 'voting' // voting has started here: no photo may be added
  | 'closed' // the event is published
  | 'unknown-event'; // the create transaction has not committed here yet

export type Decision = 'commit' | 'abort';

export type VoteDecision = 'accept' | 'reject';
