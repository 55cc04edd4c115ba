/**
 * `POST /peer/auth/events`: sign-in outcomes from another node (login-fanout.ts), folded into
 * this node's back-off. Signed with the cluster key like every /peer route.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { LoginLimiter } from '../../accounts/login-limiter.js';
import type { Faults } from '../../faults/faults.js';
import { LoginEventsRequest, LoginEventsResponse } from '../../replication/login-fanout.js';
import type { PeerVerifier } from '../../replication/peer-auth.js';
import { installPeerGuard } from '../peer-guard.js';
import { ErrorBody } from '../schemas.js';

export interface LoginPeerRoutesDeps {
  readonly verifier: PeerVerifier;
  readonly faults: Faults;
  readonly limiter: LoginLimiter;
}

export const loginPeerRoutes =
  (deps: LoginPeerRoutesDeps): FastifyPluginAsyncZod =>
  async (app) => {
    installPeerGuard(app, { verifier: deps.verifier, faults: deps.faults });
    app.post(
      '/peer/auth/events',
      {
        bodyLimit: 256 * 1024,
        schema: {
          hide: true,
          body: LoginEventsRequest,
          response: { 200: LoginEventsResponse, 400: ErrorBody, 401: ErrorBody },
        },
      },
      async (request) => {
        deps.limiter.receive(request.body.events);
        return { received: request.body.events.length };
      },
    );
  };
