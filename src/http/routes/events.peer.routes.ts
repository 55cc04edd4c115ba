/**
 * The peer side of the event protocol (/peer/events/...): 2PC prepare, decision and status,
 * voting notices, vote reports, joins, and photo bytes by hash. Authenticated exactly like the
 * other /peer routes (HMAC with the cluster key for this node, checked before the body is read,
 * replay window; anything else 401, logged, nothing changed); bodies validated with the schemas of src/events/event-messages.ts. Every
 * handler accepts duplicates. A 409 tells the sender "not yet": its outbox retries later.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { BlobStore } from '../../blobs/blob-store.js';
import type { EventService } from '../../events/event.service.js';
import {
  Ack,
  CollectRequest,
  DecisionRequest,
  ParticipantNotice,
  PhotoParams,
  PrepareRequest,
  PrepareVoteSchema,
  StatusRequest,
  StatusResponse,
  VoteCollection,
  VoteReport,
  VotingNotice,
} from '../../events/event-messages.js';
import type { TxParticipant } from '../../events/two-phase.participant.js';
import type { Faults } from '../../faults/faults.js';
import type { PeerVerifier } from '../../replication/peer-auth.js';
import { ErrorBody } from '../schemas.js';
import { installPeerGuard } from '../peer-guard.js';

export interface EventPeerRoutesDeps {
  readonly verifier: PeerVerifier;
  readonly faults: Faults;
  readonly events: EventService;
  readonly participant: TxParticipant;
  readonly photos: BlobStore;
}

/** Room for a photo inlined in its prepare request (base64) and the JSON around it. */
const MAX_BODY = 5 * 1024 * 1024;

export const eventPeerRoutes =
  (deps: EventPeerRoutesDeps): FastifyPluginAsyncZod =>
  async (app) => {
    installPeerGuard(app, { verifier: deps.verifier, faults: deps.faults });

    const errors = { 400: ErrorBody, 401: ErrorBody, 409: ErrorBody, 413: ErrorBody };
    const ok = { ok: true as const };

    app.post(
      '/peer/events/tx/prepare',
      {
        bodyLimit: MAX_BODY,
        schema: {
          hide: true,
          body: PrepareRequest,
          response: { 200: PrepareVoteSchema, ...errors },
        },
      },
      async (request) => deps.participant.prepare(request.body),
    );

    app.post(
      '/peer/events/tx/decision',
      {
        bodyLimit: MAX_BODY,
        schema: { hide: true, body: DecisionRequest, response: { 200: Ack, ...errors } },
      },
      async (request) => {
        await deps.participant.decide(
          request.body.txId,
          request.body.eventId,
          request.body.decision,
        );
        return ok;
      },
    );

    app.post(
      '/peer/events/tx/status',
      {
        bodyLimit: MAX_BODY,
        schema: { hide: true, body: StatusRequest, response: { 200: StatusResponse, ...errors } },
      },
      async (request) => ({ state: await deps.events.txStatus(request.body.txId) }),
    );

    app.post(
      '/peer/events/voting',
      {
        bodyLimit: MAX_BODY,
        schema: { hide: true, body: VotingNotice, response: { 200: Ack, ...errors } },
      },
      async (request) => {
        await deps.events.rounds.onVotingNotice(request.body);
        return ok;
      },
    );

    app.post(
      '/peer/events/votes',
      {
        bodyLimit: MAX_BODY,
        schema: { hide: true, body: VoteReport, response: { 200: Ack, ...errors } },
      },
      async (request) => {
        await deps.events.rounds.onVoteReport(request.body);
        return ok;
      },
    );

    app.post(
      '/peer/events/votes/collect',
      {
        schema: { hide: true, body: CollectRequest, response: { 200: VoteCollection, ...errors } },
      },
      async (request) => deps.events.rounds.onCollect(request.body),
    );

    app.post(
      '/peer/events/participant',
      {
        bodyLimit: MAX_BODY,
        schema: { hide: true, body: ParticipantNotice, response: { 200: Ack, ...errors } },
      },
      async (request) => {
        await deps.events.onParticipantNotice(request.body.eventId, request.body.participant);
        return ok;
      },
    );

    app.get(
      '/peer/events/photos/:hash',
      { bodyLimit: 1, schema: { hide: true, params: PhotoParams } },
      async (request, reply) => {
        const { hash } = request.params;
        const size = await deps.photos.size(hash);
        if (size === null) {
          return reply
            .status(404)
            .send({ error: { code: 'not_found', message: 'No such photo here.' } });
        }
        return reply
          .header('Content-Type', 'application/octet-stream')
          .header('Content-Length', size)
          .send(await deps.photos.read(hash));
      },
    );
  };
