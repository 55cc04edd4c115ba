/**
 * The public events API (/api/events...). Handlers parse, authorize and delegate to
 * EventService. Creating an event needs a signed-in user; everything else also works for an
 * anonymous participant, identified only by the signed `mosaic_participant` cookie that joining
 * sets (one cookie holds several events) — that cookie is the only anonymous write access.
 */
import { createReadStream } from 'node:fs';
import { buffer } from 'node:stream/consumers';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { BlobStore, StagedBlob } from '../../blobs/blob-store.js';
import { BadRequestError, NotAnImageError, PayloadTooLargeError } from '../../core/errors.js';
import type { Caller, EventService } from '../../events/event.service.js';
import { probeImage } from '../../pictures/images.js';
import { requirePrincipal } from '../auth.js';
import { ErrorBody, Title } from '../schemas.js';

export const PARTICIPANT_COOKIE = 'mosaic_participant';
const MAX_COOKIE_EVENTS = 40;

export interface EventRoutesDeps {
  readonly events: EventService;
  /** The event photo store (uploads are staged there). */
  readonly photos: BlobStore;
  readonly maxUploadBytes: number;
}

const EventId = z.string().regex(/^evt_[A-Za-z0-9_-]{1,64}$/, 'Not an event id.');
const Params = z.strictObject({ id: EventId });
const ParticipantParams = z.strictObject({
  id: EventId,
  pid: z.string().regex(/^p_[A-Za-z0-9_-]{1,64}$/, 'Not a participant id.'),
});

const EventSchema = z.object({
  id: z.string(),
  title: z.string(),
  origin: z.string(),
  phase: z.enum(['creating', 'collecting', 'voting', 'published', 'aborted']),
  round: z.number().int(),
  montageVersion: z.number().int(),
  photos: z.array(
    z.object({ id: z.string(), participant: z.string(), site: z.string(), addedAt: z.string() }),
  ),
  participants: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      site: z.string(),
      submitted: z.boolean(),
      voted: z.boolean(),
    }),
  ),
  deadline: z.string().nullable(),
  votes: z.object({ cast: z.number().int(), needed: z.number().int() }),
  votingSeconds: z.number().int(),
  maxParticipants: z.number().int(),
  inviteUrl: z.string().nullable(),
  publishedAt: z.string().nullable(),
  sites: z.array(
    z.object({
      name: z.string(),
      state: z.enum(['ready', 'waiting']),
      since: z.string().nullable(),
    }),
  ),
  me: z.object({
    role: z.enum(['organiser', 'participant', 'visitor']),
    id: z.string().nullable(),
    name: z.string().nullable(),
    submitted: z.boolean(),
    /** How many photos this person added. */
    photos: z.number().int(),
    voted: z.boolean(),
  }),
  /** Only in the answer to joining: the personal link that restores this participant. */
  recoveryUrl: z.string().optional(),
});

const CreateBody = z.strictObject({
  title: Title,
  votingSeconds: z.number().int().min(1).max(86_400).default(90),
  // The organiser takes one place: a group event needs room for at least one guest.
  maxParticipants: z
    .number()
    .int()
    .min(2, 'An event needs room for at least 2 people: the organiser and a guest.')
    .max(1000)
    .default(10),
});

const JoinBody = z.strictObject({
  invite: z.string().min(1).max(200),
  name: z
    .string()
    .trim()
    .min(1, 'A name is required.')
    .max(100)
    .regex(/^[^\p{Cc}]*$/u, 'A name may not contain control characters.'),
});

const RecoverBody = z.strictObject({ code: z.string().min(1).max(200) });
const GetQuery = z.strictObject({ invite: z.string().min(1).max(200).optional() });

const VoteBody = z.strictObject({
  montageVersion: z.number().int().min(0),
  decision: z.enum(['accept', 'reject']),
});

/** Nothing to send: the server draws the new invite. An empty JSON object is taken too. */
const NewInviteBody = z.strictObject({}).nullish();
const NewInviteAnswer = z.object({
  /** The new link (null when this node does not know its public address). */
  inviteUrl: z.string().nullable(),
  /** Sites that had not taken it yet when answering: each refuses the old link once back. */
  waitingSites: z.array(z.string()),
  event: EventSchema,
});

const MontageQuery = z.strictObject({ version: z.coerce.number().int().min(1).optional() });

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const open = { config: { public: true } };

export const eventRoutes =
  (deps: EventRoutesDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const { events } = deps;

    app.post(
      '/api/events',
      {
        schema: {
          summary: 'Create a group photo event (this site becomes its master)',
          body: CreateBody,
          response: { 201: EventSchema, ...errors },
        },
      },
      async (request, reply) => {
        const principal = requirePrincipal(request);
        const view = await events.create(principal, request.body, callerOf(request));
        return reply.status(201).send(view);
      },
    );

    app.get(
      '/api/events',
      {
        ...open,
        schema: {
          summary: 'Events the caller organises or joined',
          response: { 200: z.object({ items: z.array(EventSchema) }), ...errors },
        },
      },
      async (request) => ({ items: await events.list(callerOf(request)) }),
    );

    app.get(
      '/api/events/:id',
      {
        ...open,
        schema: {
          summary: 'An event (with ?invite=, what an invited person sees before joining)',
          params: Params,
          querystring: GetQuery,
          response: { 200: EventSchema, ...errors },
        },
      },
      async (request) => events.get(request.params.id, callerOf(request), request.query.invite),
    );

    app.post(
      '/api/events/:id/join',
      {
        ...open,
        schema: {
          summary: 'Join with the invite (no account needed; sets the participant cookie)',
          params: Params,
          body: JoinBody,
          response: { 200: EventSchema, ...errors },
        },
      },
      async (request, reply) => {
        const caller = callerOf(request);
        const joined = await events.join(request.params.id, caller, request.body);
        const ids = new Map(caller.participantIds).set(request.params.id, joined.participantId);
        setParticipantCookie(request, reply, ids);
        const url = joined.view.inviteUrl;
        if (joined.recoveryCode === null || url === null) return reply.send(joined.view);
        const recoveryUrl = `${url.slice(0, url.indexOf('?'))}?recover=${joined.recoveryCode}`;
        return reply.send({ ...joined.view, recoveryUrl });
      },
    );

    app.post(
      '/api/events/:id/recover',
      {
        ...open,
        schema: {
          summary: 'Come back as a participant on a new device, with the personal recovery code',
          params: Params,
          body: RecoverBody,
          response: { 200: EventSchema, ...errors },
        },
      },
      async (request, reply) => {
        const caller = callerOf(request);
        const back = await events.recover(request.params.id, caller, request.body.code);
        const ids = new Map(caller.participantIds).set(request.params.id, back.participantId);
        setParticipantCookie(request, reply, ids);
        return reply.send(back.view);
      },
    );

    app.post(
      '/api/events/:id/photos',
      {
        ...open,
        schema: {
          summary: 'Add a photo (multipart field `file`); distributed to every site by 2PC',
          consumes: ['multipart/form-data'],
          params: Params,
          response: { 201: EventSchema, 413: ErrorBody, 415: ErrorBody, ...errors },
        },
      },
      async (request, reply) => {
        const caller = callerOf(request);
        await events.get(request.params.id, caller); // 404 / 403 before reading the body
        const t0 = performance.now();
        const staged = await readPhoto(request, deps.photos, deps.maxUploadBytes);
        const t1 = performance.now();
        const view = await events.addPhoto(request.params.id, caller, staged);
        request.log.debug(
          { readMs: Math.round(t1 - t0), commitMs: Math.round(performance.now() - t1) },
          'event photo steps',
        );
        return reply.status(201).send(view);
      },
    );

    app.post(
      '/api/events/:id/votes',
      {
        ...open,
        schema: {
          summary: 'Vote on the current montage (accept starts the voting period)',
          params: Params,
          body: VoteBody,
          response: { 200: EventSchema, ...errors },
        },
      },
      async (request) => events.vote(request.params.id, callerOf(request), request.body),
    );

    app.delete(
      '/api/events/:id',
      {
        schema: {
          summary: 'Delete the event (organiser, before voting starts; by 2PC at every site)',
          params: Params,
          response: { 204: z.null(), ...errors },
        },
      },
      async (request, reply) => {
        requirePrincipal(request);
        await events.deleteEvent(request.params.id, callerOf(request));
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/api/events/:id/invite',
      {
        schema: {
          summary:
            'Issue a new invite link (organiser or admin): the old one is refused at every site, people already in stay',
          params: Params,
          body: NewInviteBody,
          response: { 200: NewInviteAnswer, ...errors },
        },
      },
      async (request) => {
        requirePrincipal(request);
        const { view, waiting } = await events.rotateInvite(request.params.id, callerOf(request));
        return { inviteUrl: view.inviteUrl, waitingSites: [...waiting], event: view };
      },
    );

    app.delete(
      '/api/events/:id/participants/:pid',
      {
        schema: {
          summary:
            'Remove a participant (organiser, before voting; their photos leave the montage)',
          params: ParticipantParams,
          response: { 204: z.null(), ...errors },
        },
      },
      async (request, reply) => {
        requirePrincipal(request);
        await events.removeParticipant(request.params.id, callerOf(request), request.params.pid);
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/api/events/:id/montage',
      {
        ...open,
        schema: {
          summary: 'The montage (JPEG): submitters only until published, then public',
          params: Params,
          querystring: MontageQuery,
        },
      },
      async (request, reply) => {
        const file = await events.montage(
          request.params.id,
          callerOf(request),
          request.query.version,
        );
        return reply
          .header('Content-Type', 'image/jpeg')
          .header('Cache-Control', 'private, max-age=60')
          .send(createReadStream(file));
      },
    );
  };

function callerOf(request: FastifyRequest): Caller {
  return { principal: request.principal, participantIds: participantIds(request) };
}

/** The signed cookie's `eventId:participantId` pairs (an invalid signature counts as none). */
function participantIds(request: FastifyRequest): Map<string, string> {
  const raw = request.cookies[PARTICIPANT_COOKIE];
  const ids = new Map<string, string>();
  if (raw === undefined) return ids;
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid) return ids;
  for (const pair of unsigned.value.split(',')) {
    const [eventId, participantId] = pair.split(':');
    if (eventId && participantId) ids.set(eventId, participantId);
  }
  return ids;
}

function setParticipantCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  ids: ReadonlyMap<string, string>,
): void {
  const value = [...ids]
    .slice(-MAX_COOKIE_EVENTS)
    .map(([e, p]) => `${e}:${p}`)
    .join(',');
  reply.setCookie(PARTICIPANT_COOKIE, value, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: request.protocol === 'https',
    signed: true,
    maxAge: 365 * 24 * 3600,
  });
}

/** Reads the one `file` part into the event photo store's temp area; checks it is an image. */
async function readPhoto(
  request: FastifyRequest,
  photos: BlobStore,
  limit: number,
): Promise<StagedBlob> {
  if (!request.isMultipart()) throw new NotAnImageError('Send the photo as multipart/form-data.');
  let staged: StagedBlob | null = null;
  try {
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue;
      if (part.fieldname !== 'file' || staged) {
        part.file.resume();
        throw new BadRequestError('Send one photo, in the field "file".');
      }
      staged = await photos.stage(part.file, limit);
      if (part.file.truncated) throw new PayloadTooLargeError(limit);
    }
    if (!staged) throw new BadRequestError('The upload has no "file" part.', 'validation_failed');
    await probeImage(await buffer(photos.readStaged(staged)));
    return staged;
  } catch (error) {
    if (staged) await photos.discard(staged);
    throw error;
  }
}
