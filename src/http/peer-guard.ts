/**
 * What every /peer route plugin installs first: the exact body bytes kept (the HMAC signature
 * covers them as sent) and parsed as JSON, then the signature checked before validation. A
 * request that fails gets 401, is logged, and changes nothing; one from a node that
 * MOSAIC_FAULTS cuts off gets no answer at all, like a cut link.
 */
import type { FastifyInstance } from 'fastify';
import { UnauthorizedError } from '../core/errors.js';
import type { Faults } from '../faults/faults.js';
import type { PeerVerifier } from '../replication/peer-auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer;
    peerId?: string;
  }
}

export interface PeerGuardOptions {
  readonly verifier: PeerVerifier;
  readonly faults: Faults;
  /** The largest JSON body accepted. */
  readonly bodyLimit: number;
  /** Called for every verified request (the node id, and the URL it says it is reachable at). */
  readonly contacted?: (nodeId: string, url: string) => void;
}

/** Installs the raw JSON parser and the signature check on a plugin's scope. */
export function installPeerGuard(app: FastifyInstance, options: PeerGuardOptions): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: options.bodyLimit },
    (request, body: Buffer, done) => {
      request.rawBody = body;
      try {
        done(null, JSON.parse(body.toString('utf8')));
      } catch {
        const error = new Error('The request body is not valid JSON.') as Error & {
          statusCode: number;
        };
        error.statusCode = 400;
        done(error, undefined);
      }
    },
  );

  app.addHook('preValidation', async (request, reply) => {
    const result = options.verifier.verify(
      request.method,
      request.url,
      request.headers,
      request.rawBody ?? Buffer.alloc(0),
    );
    if (!result.ok) {
      request.log.warn(
        { reason: result.reason, ip: request.ip, url: request.url },
        'peer request refused',
      );
      throw new UnauthorizedError(`Peer request refused: ${result.reason}.`);
    }
    if (options.faults.isBlocked(result.nodeId)) {
      request.raw.socket.destroy();
      return reply.hijack();
    }
    request.peerId = result.nodeId;
    options.contacted?.(result.nodeId, result.url);
    return undefined;
  });
}
