/**
 * The peer messages of the event protocol (/peer/events/...), as zod schemas: every message is
 * validated at the boundary like any request. See docs/events.md for who sends what when.
 */
import { z } from 'zod';

const Id = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/);
const Hash = z.string().regex(/^[0-9a-f]{64}$/);
const Name = z.string().min(1).max(100);
const Count = z.number().int().min(0);
const Time = z.number().int().min(0);

export const SiteSchema = z.strictObject({ id: Name, name: Name, url: z.string().max(500) });

export const EventRecordSchema = z.strictObject({
  id: Id,
  title: z.string().min(1).max(200),
  originId: Name,
  originName: Name,
  organiser: Name,
  organiserId: Id.optional(),
  invite: Id,
  inviteGeneration: Count.optional(),
  sites: z.array(SiteSchema).min(1).max(64),
  votingSeconds: z.number().int().min(1).max(86_400),
  maxParticipants: z.number().int().min(1).max(10_000),
  createdAt: Time,
});

export const PhotoPayloadSchema = z.strictObject({
  hash: Hash,
  size: z.number().int().min(1),
  participantId: Id,
  participantName: Name,
  siteId: Name,
  siteName: Name,
  baseVersion: Count,
  round: z.number().int().min(1),
  addedAt: Time,
});

export const OutcomePayloadSchema = z.strictObject({
  round: z.number().int().min(1),
  version: Count,
  outcome: z.enum(['publish', 'abort']),
  decidedAt: Time,
});

export const RemovalPayloadSchema = z.strictObject({
  participantId: Id,
  baseVersion: Count,
  round: z.number().int().min(1),
  removedAt: Time,
});

export const InvitePayloadSchema = z.strictObject({
  invite: Id,
  generation: z.number().int().min(1),
  issuedAt: Time,
});

export const TxBodySchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('create'), event: EventRecordSchema }),
  z.strictObject({ kind: z.literal('photo'), photo: PhotoPayloadSchema }),
  z.strictObject({ kind: z.literal('outcome'), outcome: OutcomePayloadSchema }),
  z.strictObject({ kind: z.literal('remove'), removal: RemovalPayloadSchema }),
  z.strictObject({ kind: z.literal('delete'), deletedAt: Time }),
  z.strictObject({ kind: z.literal('invite'), invite: InvitePayloadSchema }),
]);

/** A photo up to this size travels inside its prepare request (larger ones: a second GET). */
export const INLINE_PHOTO_MAX = 3 * 1024 * 1024;

export const PrepareRequest = z.strictObject({
  txId: Id,
  eventId: Id,
  coordinator: SiteSchema,
  body: TxBodySchema,
  /** A photo's bytes, base64 (verified against its hash and size before use). */
  bytes: z
    .string()
    .max(Math.ceil(INLINE_PHOTO_MAX / 3) * 4)
    .optional(),
});

export const PrepareVoteSchema = z.union([
  z.strictObject({ vote: z.literal('yes') }),
  z.strictObject({
    vote: z.literal('no'),
    reason: z.enum(['busy', 'lagging', 'stale', 'voting', 'closed', 'unknown-event']),
  }),
]);

export const DecisionRequest = z.strictObject({
  txId: Id,
  eventId: Id,
  decision: z.enum(['commit', 'abort']),
});

export const StatusRequest = z.strictObject({ txId: Id });
export const StatusResponse = z.strictObject({
  state: z.enum(['preparing', 'committed', 'aborted', 'unknown']),
});

export const VotingNotice = z.strictObject({
  eventId: Id,
  round: z.number().int().min(1),
  version: z.number().int().min(1),
  deadline: Time,
});

export const VoteReport = z.strictObject({
  eventId: Id,
  round: z.number().int().min(1),
  version: z.number().int().min(1),
  deadline: Time,
  siteId: Name,
  votes: z
    .array(
      z.strictObject({
        participantId: Id,
        version: z.number().int().min(1),
        decision: z.enum(['accept', 'reject']),
      }),
    )
    .max(10_000),
});

export const ParticipantNotice = z.strictObject({
  eventId: Id,
  participant: z.strictObject({
    id: Id,
    name: Name,
    siteId: Name,
    siteName: Name,
    joinedAt: Time,
    /** The account of a participant who joined signed in (the organiser always). */
    username: Name.nullable().optional(),
    /** SHA-256 of the participant's recovery code: restores them at any site. */
    recoveryHash: Hash.nullable().optional(),
  }),
});

/** The master, after the deadline: "send me the votes you recorded in this round". */
export const CollectRequest = z.strictObject({
  eventId: Id,
  round: z.number().int().min(1),
  version: z.number().int().min(1),
});

export const VoteCollection = z.strictObject({
  votes: z
    .array(
      z.strictObject({
        participantId: Id,
        version: z.number().int().min(1),
        decision: z.enum(['accept', 'reject']),
      }),
    )
    .max(10_000),
});

export const Ack = z.strictObject({ ok: z.literal(true) });

export const PhotoParams = z.strictObject({ hash: Hash });

export const PATHS = {
  prepare: '/peer/events/tx/prepare',
  decision: '/peer/events/tx/decision',
  status: '/peer/events/tx/status',
  voting: '/peer/events/voting',
  votes: '/peer/events/votes',
  collect: '/peer/events/votes/collect',
  participant: '/peer/events/participant',
  photo: (hash: string) => `/peer/events/photos/${hash}`,
} as const;
