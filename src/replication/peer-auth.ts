/**
 * Peer request authentication: HMAC-SHA256 with the cluster key over the method, the path with
 * its query, the sender's node id and advertised URL, the destination node id, a timestamp, a
 * nonce, and the SHA-256 of the body. A request is accepted only by the node it was signed
 * for, inside a replay window, and only once per nonce.
 *
 *   x-mosaic-node       sender node id (16 hex digits)
 *   x-mosaic-url        sender's advertised URL (may be empty)
 *   x-mosaic-to         destination node id, or "*" (only for POST /peer/hello, see below)
 *   x-mosaic-timestamp  ms since the epoch
 *   x-mosaic-nonce      128 random bits, hex
 *   x-mosaic-signature  hex HMAC
 *
 * The destination: a sender learns a peer's node id from the peer's answer to POST
 * /peer/hello, so a hello is signed for "*" (any node). The verifier accepts "*" on that route
 * only; it changes nothing but "this URL is a peer" (and that URL is the signed sender's), so
 * a captured hello replayed to another node within the window teaches it nothing false. Every
 * other request is signed for one node id and refused by any other node ("signed for another
 * node"), so a request captured on its way to one node cannot be played to another.
 *
 * Verification is split so that the server decides on the headers before it reads a byte of
 * the body (`checkHeaders`), then on the body's hash computed while streaming (`checkBody`).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const REPLAY_WINDOW_MS = 60_000;

/**
 * Why a request stamped `offsetMs` from this node's clock is refused. Past the window it is
 * either a request replayed late or, far more often, two machines whose clocks disagree (a
 * board with no battery-backed clock that booted before its network time, a clock kept in local
 * time, a VM restored from a snapshot). Both nodes show the reason (the refusing one in its log,
 * the refused one on its cluster page, as the peer's answer), so it names the sides as sender
 * and receiver, which read the same from either, and says by how much.
 */
export function outsideWindow(offsetMs: number): string {
  const side = offsetMs > 0 ? 'ahead of' : 'behind';
  return (
    `timestamp outside the replay window: the sender's clock is ${spanOf(Math.abs(offsetMs))} ` +
    `${side} the receiver's (at most ${spanOf(REPLAY_WINDOW_MS)} apart allowed): check that ` +
    `both machines' clocks are set (NTP)`
  );
}

/** A duration as people read it: `45 s`, `10 min`, `3 h 5 min`, `2 days 4 h` (seconds below 2 min). */
export function spanOf(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
  const days = Math.floor(h / 24);
  return h % 24 === 0 ? `${days} days` : `${days} days ${h % 24} h`;
}

/** The destination of a hello, the one request sent before the peer's id is known. */
export const ANY_NODE = '*';
export const HELLO_PATH = '/peer/hello';

export const PEER_HEADERS = {
  node: 'x-mosaic-node',
  url: 'x-mosaic-url',
  to: 'x-mosaic-to',
  timestamp: 'x-mosaic-timestamp',
  nonce: 'x-mosaic-nonce',
  signature: 'x-mosaic-signature',
} as const;

const NODE_ID = /^[0-9a-f]{16}$/;
const MAX_URL_LENGTH = 2048;

export interface SignedParts {
  readonly method: string;
  readonly path: string;
  readonly nodeId: string;
  readonly url: string;
  readonly to: string;
  readonly timestamp: number;
  readonly nonce: string;
  readonly bodySha256: string;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function signature(key: string, parts: SignedParts): string {
  const text = [
    'mosaic-peer-v2',
    parts.method.toUpperCase(),
    parts.path,
    parts.nodeId,
    parts.url,
    parts.to,
    String(parts.timestamp),
    parts.nonce,
    parts.bodySha256,
  ].join('\n');
  return createHmac('sha256', key).update(text).digest('hex');
}

export interface PeerRequest {
  readonly method: string;
  readonly path: string;
  readonly nodeId: string;
  readonly url: string;
  /** The destination node id, or ANY_NODE for a hello. */
  readonly to: string;
  readonly body: Buffer | string;
}

/** Headers for an outgoing peer request. */
export function signRequest(
  key: string,
  req: PeerRequest,
  now: number = Date.now(),
): Record<string, string> {
  const parts: SignedParts = {
    method: req.method,
    path: req.path,
    nodeId: req.nodeId,
    url: req.url,
    to: req.to,
    timestamp: now,
    nonce: randomBytes(16).toString('hex'),
    bodySha256: sha256Hex(req.body),
  };
  return {
    [PEER_HEADERS.node]: parts.nodeId,
    [PEER_HEADERS.url]: parts.url,
    [PEER_HEADERS.to]: parts.to,
    [PEER_HEADERS.timestamp]: String(parts.timestamp),
    [PEER_HEADERS.nonce]: parts.nonce,
    [PEER_HEADERS.signature]: signature(key, parts),
  };
}

/** What the headers claim, checked for shape, destination, window and replay (not yet MAC). */
export interface PeerClaim {
  readonly parts: Omit<SignedParts, 'bodySha256'>;
  readonly signature: string;
}

export type ClaimResult =
  | { readonly ok: true; readonly claim: PeerClaim }
  | { readonly ok: false; readonly reason: string };

export type VerifyResult =
  | { readonly ok: true; readonly nodeId: string; readonly url: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Checks incoming requests for one node. Remembers nonces long enough to cover the replay window
 * (a request stamped up to a window ahead stays valid until a window after that, so entries are
 * kept for two windows from when they were seen), so a captured request cannot be played again.
 * Only requests whose MAC matched are remembered, so junk cannot fill the table; entries are in
 * the order seen, so dropping the expired ones stops at the first that is not.
 */
export class PeerVerifier {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly key: string,
    /** This node's id: requests signed for another node are refused. */
    private readonly selfId: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Everything that can be decided before reading the body. */
  checkHeaders(
    method: string,
    path: string,
    headers: Readonly<Record<string, string | string[] | undefined>>,
  ): ClaimResult {
    const get = (name: string) => {
      const v = headers[name];
      return typeof v === 'string' ? v : undefined;
    };
    const nodeId = get(PEER_HEADERS.node);
    const url = get(PEER_HEADERS.url) ?? '';
    const to = get(PEER_HEADERS.to);
    const ts = get(PEER_HEADERS.timestamp);
    const nonce = get(PEER_HEADERS.nonce);
    const sig = get(PEER_HEADERS.signature);
    if (!nodeId || !to || !ts || !nonce || !sig) {
      return { ok: false, reason: 'missing signature headers' };
    }
    if (
      !NODE_ID.test(nodeId) ||
      url.length > MAX_URL_LENGTH ||
      !/^\d{1,16}$/.test(ts) ||
      !/^[0-9a-f]{32}$/.test(nonce) ||
      !/^[0-9a-f]{64}$/.test(sig)
    ) {
      return { ok: false, reason: 'malformed signature headers' };
    }
    const forAnyNode = to === ANY_NODE && method === 'POST' && path === HELLO_PATH;
    if (to !== this.selfId && !forAnyNode) {
      return { ok: false, reason: 'signed for another node' };
    }
    const timestamp = Number(ts);
    const now = this.now();
    if (Math.abs(now - timestamp) > REPLAY_WINDOW_MS) {
      return { ok: false, reason: outsideWindow(timestamp - now) };
    }
    this.forgetOld(now);
    if (this.seen.has(nonce)) return { ok: false, reason: 'replayed request' };
    return {
      ok: true,
      claim: { parts: { method, path, nodeId, url, to, timestamp, nonce }, signature: sig },
    };
  }

  /** The MAC over the claim and the body's hash; remembers the nonce when it matches. */
  checkBody(claim: PeerClaim, bodySha256: string): VerifyResult {
    const expected = signature(this.key, { ...claim.parts, bodySha256 });
    if (!timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(claim.signature, 'hex'))) {
      return { ok: false, reason: 'bad signature' };
    }
    const { nonce, nodeId, url } = claim.parts;
    // Two copies of one request may pass checkHeaders together: only the first gets here.
    if (this.seen.has(nonce)) return { ok: false, reason: 'replayed request' };
    this.seen.set(nonce, this.now());
    return { ok: true, nodeId, url };
  }

  /** Both checks at once, for a body already in memory. */
  verify(
    method: string,
    path: string,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    body: Buffer,
  ): VerifyResult {
    const claim = this.checkHeaders(method, path, headers);
    if (!claim.ok) return claim;
    return this.checkBody(claim.claim, sha256Hex(body));
  }

  private forgetOld(now: number): void {
    for (const [nonce, seenAt] of this.seen) {
      if (now - seenAt <= 2 * REPLAY_WINDOW_MS) break;
      this.seen.delete(nonce);
    }
  }
}
