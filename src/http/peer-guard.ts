/**
 * What every /peer route plugin installs first. The order is the point: nothing from an
 * unauthenticated sender is read beyond its headers.
 *
 * 1. onRequest, before any body byte is read: the signature headers (shape, sender id, the
 *    destination is this node, timestamp window, nonce not seen) and a declared Content-Length
 *    within the route's `bodyLimit`. Failing either answers at once (401 / 413); Node discards
 *    whatever of the body still arrives (never buffered). Closing the connection instead would
 *    make the kernel reset it over the unread bytes, and the client would often lose the answer.
 * 2. The JSON body is streamed up to the route's `bodyLimit` while its SHA-256 is computed; the
 *    MAC is checked on that hash, and only then is the body parsed. A body over the limit is 413.
 * 3. preValidation: requests without a body are MAC-checked on the empty body's hash; a node
 *    that MOSAIC_FAULTS cuts off gets no answer at all, like a cut link.
 *
 * A request that fails gets 401 (or 413), is logged, and changes nothing. Each route sets its
 * own `bodyLimit` to what it needs. A refusal is logged once a minute per reason and sender
 * (with how many were refused meanwhile): a node of another cluster, or one given another key,
 * retries for as long as it runs, and a line per request filled the log at several a second.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AppError, BadRequestError, UnauthorizedError } from '../core/errors.js';
import type { Faults } from '../faults/faults.js';
import { sha256Hex, type PeerClaim, type PeerVerifier } from '../replication/peer-auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    peerClaim?: PeerClaim;
    /** The verified sender's node id (set before validation). */
    peerId?: string;
    peerUrl?: string;
  }
}

export interface PeerGuardOptions {
  readonly verifier: PeerVerifier;
  readonly faults: Faults;
  /** Called for every verified request (the node id, and the URL it says it is reachable at). */
  readonly contacted?: (nodeId: string, url: string) => void;
  readonly now?: () => number;
}

/** A refusal of the same reason from the same sender is logged again after this long. */
export const REFUSAL_LOG_EVERY_MS = 60_000;
/** At most this many (reason, sender) pairs remembered: junk from many addresses stays bounded. */
const REFUSALS_KEPT = 1000;

/** What the operator can do about a refusal, by its reason. */
const HINTS: Record<string, string> = {
  'bad signature':
    'the sender signs with another cluster key: give both nodes the same --cluster-key',
  'signed for another node':
    'the sender takes this address for another node (an old peer list, or two nodes behind one address)',
};

/** The reason without what varies from one request to the next (a clock's offset). */
function kindOf(reason: string): string {
  return reason.startsWith('timestamp outside') ? 'timestamp outside the replay window' : reason;
}

const EMPTY_SHA256 = sha256Hex('');

class PeerBodyTooLargeError extends AppError {
  constructor(limit: number) {
    super(413, 'payload_too_large', `A peer request body here is at most ${limit} bytes.`);
  }
}

/** Installs the header check, the streaming body check and the JSON parser on a plugin's scope. */
export function installPeerGuard(app: FastifyInstance, options: PeerGuardOptions): void {
  const { verifier } = options;
  const now = options.now ?? Date.now;
  /** Per reason and sender: when it was last logged, and how many were refused since. */
  const logged = new Map<string, { at: number; since: number }>();

  const refuse = (request: FastifyRequest, reason: string) => {
    // Who the sender says it is (unchecked: its signature is what failed, or was not looked at).
    const claim = request.peerClaim?.parts;
    const sender = claim ? `${claim.nodeId} ${claim.url}` : request.ip;
    const key = `${kindOf(reason)}\n${sender}`;
    const last = logged.get(key);
    const at = now();
    if (last !== undefined && at - last.at < REFUSAL_LOG_EVERY_MS) {
      last.since++;
    } else {
      logged.delete(key);
      if (logged.size >= REFUSALS_KEPT) logged.delete(logged.keys().next().value ?? '');
      logged.set(key, { at, since: 0 });
      request.log.warn(
        {
          reason,
          hint: HINTS[reason],
          ip: request.ip,
          url: request.url,
          ...(claim ? { claimsNode: claim.nodeId, claimsUrl: claim.url || undefined } : {}),
          ...(last ? { refusedSinceLastLine: last.since } : {}),
        },
        'peer request refused',
      );
    }
    return new UnauthorizedError(`Peer request refused: ${reason}.`);
  };

  app.addHook('onRequest', async (request) => {
    const result = verifier.checkHeaders(request.method, request.url, request.headers);
    if (!result.ok) throw refuse(request, result.reason);
    const limit = request.routeOptions.bodyLimit;
    const declared = Number(request.headers['content-length'] ?? '0');
    if (!Number.isFinite(declared) || declared > limit) throw new PeerBodyTooLargeError(limit);
    request.peerClaim = result.claim;
  });

  // JSON only, through the hashed reader: no other parser (Fastify's text/plain) may read a
  // body whose MAC is not checked; any other type is 415 before a byte is read.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', (request, payload, done) => {
    const claim = request.peerClaim;
    if (claim === undefined) {
      done(new UnauthorizedError('Peer request refused: not checked.'), undefined);
      return;
    }
    const limit = request.routeOptions.bodyLimit;
    readHashed(payload, limit).then(
      ({ body, sha256 }) => {
        const result = verifier.checkBody(claim, sha256);
        if (!result.ok) {
          done(refuse(request, result.reason), undefined);
          return;
        }
        request.peerId = result.nodeId;
        request.peerUrl = result.url;
        try {
          done(null, JSON.parse(body.toString('utf8')));
        } catch {
          done(
            new BadRequestError('The request body is not valid JSON.', 'malformed_json'),
            undefined,
          );
        }
      },
      (error: unknown) => {
        done(error as Error, undefined);
      },
    );
  });

  app.addHook('preValidation', async (request, reply) => {
    if (request.peerId === undefined) {
      // No body was parsed (a GET, or an empty POST): the MAC covers the empty body.
      const claim = request.peerClaim;
      if (claim === undefined) throw refuse(request, 'not checked');
      const result = verifier.checkBody(claim, EMPTY_SHA256);
      if (!result.ok) throw refuse(request, result.reason);
      request.peerId = result.nodeId;
      request.peerUrl = result.url;
    }
    if (options.faults.isBlocked(request.peerId)) {
      request.raw.socket.destroy();
      return reply.hijack();
    }
    options.contacted?.(request.peerId, request.peerUrl ?? '');
    return undefined;
  });
}

/**
 * Reads a body up to `limit` bytes, hashing as it goes. Over the limit it stops collecting and
 * fails with 413 (Node discards the rest once the answer is sent).
 */
function readHashed(
  payload: IncomingMessage,
  limit: number,
): Promise<{ body: Buffer; sha256: string }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      payload.off('data', onData);
      payload.off('end', onEnd);
      payload.off('error', onError);
      payload.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        payload.pause();
        reject(new PeerBodyTooLargeError(limit));
        return;
      }
      hash.update(chunk);
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve({ body: Buffer.concat(chunks, size), sha256: hash.digest('hex') });
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onAborted = () => {
      cleanup();
      reject(new BadRequestError('The request body was cut short.'));
    };
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
    payload.on('aborted', onAborted);
  });
}
