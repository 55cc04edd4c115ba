/**
 * Peer request authentication: HMAC-SHA256 with the cluster key over the method, the path with
 * its query, a timestamp, a nonce, the sender's node id and advertised URL, and the SHA-256 of
 * the body. A request is accepted only inside a replay window and only once per nonce.
 *
 *   x-mosaic-node       sender node id
 *   x-mosaic-url        sender's advertised URL (may be empty)
 *   x-mosaic-timestamp  ms since the epoch
 *   x-mosaic-nonce      128 random bits, hex
 *   x-mosaic-signature  hex HMAC
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const REPLAY_WINDOW_MS = 60_000;

export const PEER_HEADERS = {
  node: 'x-mosaic-node',
  url: 'x-mosaic-url',
  timestamp: 'x-mosaic-timestamp',
  nonce: 'x-mosaic-nonce',
  signature: 'x-mosaic-signature',
} as const;

export interface SignedParts {
  readonly method: string;
  readonly path: string;
  readonly nodeId: string;
  readonly url: string;
  readonly timestamp: number;
  readonly nonce: string;
  readonly bodySha256: string;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function signature(key: string, parts: SignedParts): string {
  const text = [
    'mosaic-peer-v1',
    parts.method.toUpperCase(),
    parts.path,
    parts.nodeId,
    parts.url,
    String(parts.timestamp),
    parts.nonce,
    parts.bodySha256,
  ].join('\n');
  return createHmac('sha256', key).update(text).digest('hex');
}

/** Headers for an outgoing peer request. */
export function signRequest(
  key: string,
  req: { method: string; path: string; nodeId: string; url: string; body: Buffer | string },
  now: number = Date.now(),
): Record<string, string> {
  const parts: SignedParts = {
    method: req.method,
    path: req.path,
    nodeId: req.nodeId,
    url: req.url,
    timestamp: now,
    nonce: randomBytes(16).toString('hex'),
    bodySha256: sha256Hex(req.body),
  };
  return {
    [PEER_HEADERS.node]: parts.nodeId,
    [PEER_HEADERS.url]: parts.url,
    [PEER_HEADERS.timestamp]: String(parts.timestamp),
    [PEER_HEADERS.nonce]: parts.nonce,
    [PEER_HEADERS.signature]: signature(key, parts),
  };
}

export type VerifyResult =
  | { readonly ok: true; readonly nodeId: string; readonly url: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Checks an incoming request. Remembers nonces for the replay window (bounded by the window
 * itself: entries older than it are dropped), so a captured request cannot be played again.
 */
export class PeerVerifier {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly key: string,
    private readonly now: () => number = Date.now,
  ) {}

  verify(
    method: string,
    path: string,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    body: Buffer,
  ): VerifyResult {
    const get = (name: string) => {
      const v = headers[name];
      return typeof v === 'string' ? v : undefined;
    };
    const nodeId = get(PEER_HEADERS.node);
    const url = get(PEER_HEADERS.url) ?? '';
    const ts = get(PEER_HEADERS.timestamp);
    const nonce = get(PEER_HEADERS.nonce);
    const sig = get(PEER_HEADERS.signature);
    if (!nodeId || !ts || !nonce || !sig) return { ok: false, reason: 'missing signature headers' };
    if (!/^\d{1,16}$/.test(ts) || !/^[0-9a-f]{32}$/.test(nonce) || !/^[0-9a-f]{64}$/.test(sig)) {
      return { ok: false, reason: 'malformed signature headers' };
    }
    const timestamp = Number(ts);
    const now = this.now();
    if (Math.abs(now - timestamp) > REPLAY_WINDOW_MS) {
      return { ok: false, reason: 'timestamp outside the replay window' };
    }
    const expected = signature(this.key, {
      method,
      path,
      nodeId,
      url,
      timestamp,
      nonce,
      bodySha256: sha256Hex(body),
    });
    if (!timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(sig, 'hex'))) {
      return { ok: false, reason: 'bad signature' };
    }
    this.forgetOld(now);
    if (this.seen.has(nonce)) return { ok: false, reason: 'replayed request' };
    this.seen.set(nonce, timestamp);
    return { ok: true, nodeId, url };
  }

  private forgetOld(now: number): void {
    for (const [nonce, ts] of this.seen) {
      if (now - ts > REPLAY_WINDOW_MS) this.seen.delete(nonce);
    }
  }
}
