/**
 * Requests in flight end when their caller loses access (in-flight.ts keeps them): every
 * request let in with a token or a session is tracked until its answer ends, and what its
 * route says happens when its caller is refused later (`onAccessLoss`):
 *
 * - `cut` (the default): the connection is closed. A download stops where it is (its status
 *   and headers went out long ago: nothing else can be said), an upload's body stops arriving
 *   (what came is kept, resumable), anything else ends unanswered;
 * - `answer`: `request.accessLost` is aborted and the handler answers (a long poll: 401);
 * - `none`: not tracked. The live feed checks its caller itself; a password change, a
 *   sign-out or a token revoked with itself end their own caller's access and must answer it.
 *
 * A route that ends access no operation announces (a sign-out: sessions are this node's own)
 * says so with `endsAccess`: once it has answered, the callers in flight are checked again.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { credentialOf, type StillSignedIn } from './auth.js';
import { InFlight } from './in-flight.js';

export type OnAccessLoss = 'cut' | 'answer' | 'none';

declare module 'fastify' {
  interface FastifyRequest {
    /** Aborted when the caller loses access while this request is in flight; null: untracked. */
    accessLost: AbortSignal | null;
  }
  interface FastifyContextConfig {
    /** What happens to a request in flight whose caller loses access (default `cut`). */
    onAccessLoss?: OnAccessLoss;
    /** It ends access that no operation announces: callers in flight are checked after it. */
    endsAccess?: boolean;
  }
}

export const ACCESS_CUT_LOG = 'request cut: its caller lost access';

/** How often callers with requests in flight are checked again unasked (the stream's heartbeat). */
export const RECHECK_MS = 25_000;

export interface AccessCutOptions {
  readonly stillSignedIn: StillSignedIn;
  /** Calls `listener` when operations that may take access away arrive (LiveFeed). */
  readonly onAccessChange: (listener: () => void) => () => void;
  readonly everyMs?: number;
}

/** Tracks the app's requests in flight (see the file's comment); returns the registry. */
export function installAccessCut(app: FastifyInstance, options: AccessCutOptions): InFlight {
  const { stillSignedIn } = options;
  const inFlight = new InFlight({
    everyMs: options.everyMs ?? RECHECK_MS,
    onCheckError: (err, cut) => {
      app.log.warn(
        { err },
        cut
          ? 'could not check the caller of a request in flight again for too long: cut'
          : 'could not check the caller of a request in flight again: checked at the next round',
      );
    },
  });
  const unwatch = options.onAccessChange(() => void inFlight.recheck());
  app.decorateRequest('accessLost', null);
  // After the auth hook (added before this one): the principal is known.
  app.addHook('onRequest', async (request, reply) => {
    const { principal } = request;
    const config = request.routeOptions.config;
    if (principal === null || request.is404 || config.public === true) return;
    const mode = config.onAccessLoss ?? 'cut';
    if (mode === 'none') return;
    const key = credentialOf(request);
    if (key === null) return;
    const lost = new AbortController();
    request.accessLost = lost.signal;
    const release = inFlight.track(key, {
      check: () => stillSignedIn(request),
      cut: () => {
        request.log.info({ username: principal.username }, ACCESS_CUT_LOG);
        lost.abort();
        if (mode === 'cut') closeConnection(reply);
      },
      expiresAt: principal.tokenExpiresAt,
    });
    reply.raw.once('close', release);
  });
  app.addHook('onResponse', async (request) => {
    if (request.routeOptions.config.endsAccess === true) void inFlight.recheck();
  });
  app.addHook('onClose', async () => {
    unwatch();
    inFlight.close();
  });
  return inFlight;
}

/**
 * Closes the request's connection, as a client hanging up would: the server then aborts the
 * request as it does for one (`aborted`, ECONNRESET), which every reader of a body handles
 * (destroying the request itself first ended an upload's body as a write error instead).
 */
function closeConnection(reply: FastifyReply): void {
  reply.raw.destroy();
}
