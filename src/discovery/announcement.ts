/**
 * Signed LAN discovery announcements: what a node says about itself on the discovery port, and
 * how a receiver decides whether to believe it. Pure: no sockets, no clock, no randomness — the
 * caller supplies `ts`, `nonce`, `now` and the replay cache.
 *
 * Wire format: one UDP datagram holding compact JSON with the fields in exactly this order
 *
 *   {"v":1,"cluster":"<16 hex>","node":"<hex>","port":7070,"scheme":"http","ts":<ms>,
 *    "nonce":"<32 hex>","sig":"<64 hex>"}
 *
 * `sig` is HMAC-SHA256 over the same JSON without `sig` (the canonical payload bytes), keyed with
 * a key derived from the cluster key. `cluster` is a public id derived from the cluster key, so a
 * receiver can tell "another Mosaic cluster on this LAN" (normal, quiet) from "a forgery" (loud)
 * without learning the key.
 *
 * Invariants:
 * - A receiver accepts only the canonical encoding: it re-encodes what it parsed and compares the
 *   bytes, so every byte of the datagram is covered by the signature (no whitespace, key-order or
 *   escape variants of a signed packet).
 * - The signature proves that a holder of the cluster key announced (node, port, scheme) at
 *   about `ts`; it says nothing about the sender's IP address, which the receiver takes from the
 *   datagram. Freshness and the replay cache stop a captured packet from being re-sent from
 *   another address; peer requests are authenticated separately, so the worst a spoofed address
 *   can do is hand out a useless peer URL.
 * - Nonces enter the replay cache only after the signature checks, so forgeries cannot fill it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/** How far an announcement's timestamp may be from the receiver's clock. */
export const MAX_SKEW_MS = 60_000;
/** Larger datagrams are refused before parsing; a real announcement is about 230 bytes. */
export const MAX_PACKET_BYTES = 1024;

export type Scheme = 'http' | 'https';

export interface Announcement {
  readonly v: 1;
  /** Public cluster id, {@link deriveDiscoveryKeys}. */
  readonly cluster: string;
  /** The announcing node's id (lowercase hex). */
  readonly node: string;
  /** Port and scheme of the node's HTTP server; the host is the datagram's source address. */
  readonly port: number;
  readonly scheme: Scheme;
  /** Sender's wall clock, milliseconds since the epoch. */
  readonly ts: number;
  /** 128 random bits, hex; makes every announcement unique for the replay cache. */
  readonly nonce: string;
}

export type RejectReason =
  'malformed' | 'other-cluster' | 'bad-signature' | 'self' | 'stale' | 'replay';

export type VerifyResult =
  | { readonly ok: true; readonly announcement: Announcement }
  | { readonly ok: false; readonly reason: RejectReason };

/** What a cluster key yields for discovery. Derive once, reuse for every packet. */
export interface DiscoveryKeys {
  /** Public: first 16 hex digits of HMAC-SHA256(clusterKey, "mosaic-cluster-id"). */
  readonly clusterId: string;
  /**
   * Secret: HMAC-SHA256(clusterKey, "mosaic-discovery-v1"). A derived key rather than the
   * cluster key itself, so an announcement signature can never double as a peer-request
   * signature or vice versa.
   */
  readonly signingKey: Buffer;
}

export function deriveDiscoveryKeys(clusterKey: string): DiscoveryKeys {
  return {
    clusterId: hmac(clusterKey, 'mosaic-cluster-id').toString('hex').slice(0, 16),
    signingKey: hmac(clusterKey, 'mosaic-discovery-v1'),
  };
}

const HEX = /^[0-9a-f]+$/;

const PacketSchema = z.strictObject({
  v: z.literal(1),
  cluster: z.string().length(16).regex(HEX),
  node: z.string().min(1).max(64).regex(HEX),
  port: z.number().int().min(1).max(65535),
  scheme: z.enum(['http', 'https']),
  ts: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  nonce: z.string().length(32).regex(HEX),
  sig: z.string().length(64).regex(HEX),
});

/** Encodes and signs an announcement as one datagram. */
export function encodeAnnouncement(a: Announcement, keys: DiscoveryKeys): Buffer {
  const payload = canonicalPayload(a);
  const sig = hmac(keys.signingKey, payload).toString('hex');
  return Buffer.from(canonicalPacket(a, sig), 'utf8');
}

export interface VerifyContext {
  readonly keys: DiscoveryKeys;
  /** This node's id: its own announcements come back to it and are refused as `self`. */
  readonly selfNodeId: string;
  /** Receiver's wall clock, milliseconds since the epoch. */
  readonly now: number;
  readonly replay: ReplayCache;
  readonly maxSkewMs?: number;
}

/**
 * Decides whether to believe a datagram. Checks run cheapest and least trusting first; only an
 * announcement that passes every check is remembered in the replay cache.
 */
export function verifyAnnouncement(packet: Uint8Array, ctx: VerifyContext): VerifyResult {
  const parsed = parsePacket(packet);
  if (parsed === null) return { ok: false, reason: 'malformed' };
  const { sig, ...announcement } = parsed;
  if (announcement.cluster !== ctx.keys.clusterId) return { ok: false, reason: 'other-cluster' };

  const expected = hmac(ctx.keys.signingKey, canonicalPayload(announcement));
  const given = Buffer.from(sig, 'hex'); // schema guarantees 64 hex digits, so 32 bytes
  if (!timingSafeEqual(expected, given)) return { ok: false, reason: 'bad-signature' };

  if (announcement.node === ctx.selfNodeId) return { ok: false, reason: 'self' };
  const maxSkewMs = ctx.maxSkewMs ?? MAX_SKEW_MS;
  if (Math.abs(announcement.ts - ctx.now) > maxSkewMs) return { ok: false, reason: 'stale' };
  // Past ts + maxSkewMs the packet is stale anyway, so the nonce need not be kept longer.
  if (!ctx.replay.remember(announcement.nonce, announcement.ts + maxSkewMs, ctx.now)) {
    return { ok: false, reason: 'replay' };
  }
  return { ok: true, announcement };
}

/**
 * Nonces of accepted announcements, each until the moment its packet turns stale. Bounded: when
 * full it drops expired entries, then the oldest. Dropping a live nonce would let that one packet
 * be replayed, so the capacity should exceed what a cluster announces within 2 × MAX_SKEW_MS
 * (about 60 per node at the default 2 s interval).
 */
export class ReplayCache {
  private readonly expiries = new Map<string, number>();

  constructor(readonly capacity = 4096) {}

  get size(): number {
    return this.expiries.size;
  }

  /** Records a nonce; false if it was already seen and has not expired. */
  remember(nonce: string, expiresAt: number, now: number): boolean {
    const known = this.expiries.get(nonce);
    if (known !== undefined && known >= now) return false;
    if (known === undefined && this.expiries.size >= this.capacity) this.evict(now);
    this.expiries.set(nonce, expiresAt);
    return true;
  }

  private evict(now: number): void {
    for (const [nonce, expiresAt] of this.expiries) {
      if (expiresAt < now) this.expiries.delete(nonce);
    }
    // Still full: Map iteration follows insertion order, so the first key is the oldest.
    while (this.expiries.size >= this.capacity) {
      const oldest = this.expiries.keys().next();
      if (oldest.done === true) break;
      this.expiries.delete(oldest.value);
    }
  }
}

function parsePacket(packet: Uint8Array): z.infer<typeof PacketSchema> | null {
  if (packet.byteLength > MAX_PACKET_BYTES) return null;
  const bytes = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  const result = PacketSchema.safeParse(json);
  if (!result.success) return null;
  // Only the canonical encoding is accepted (see the header): this makes the byte string, not
  // just the parsed value, what the signature protects.
  const { sig, ...announcement } = result.data;
  if (!Buffer.from(canonicalPacket(announcement, sig), 'utf8').equals(bytes)) return null;
  return result.data;
}

/** The signed bytes: the announcement's fields in a fixed order. */
function canonicalPayload(a: Announcement): string {
  return JSON.stringify({
    v: a.v,
    cluster: a.cluster,
    node: a.node,
    port: a.port,
    scheme: a.scheme,
    ts: a.ts,
    nonce: a.nonce,
  });
}

function canonicalPacket(a: Announcement, sig: string): string {
  return `${canonicalPayload(a).slice(0, -1)},"sig":${JSON.stringify(sig)}}`;
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}
