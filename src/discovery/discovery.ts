/**
 * LAN discovery: every node periodically sends a signed announcement (./announcement.ts) of its
 * HTTP port to a few UDP targets, listens on the same port, and reports each cluster peer it
 * hears as `{nodeId, url}`. The URL's host is the datagram's source address, so a node behind
 * NAT-free Docker networking or DHCP needs no configured address.
 *
 * Transport — one UDP socket per node, bound to 0.0.0.0:discoveryPort with SO_REUSEADDR so that
 * several nodes on one host share the port, sending to every address in `targets`:
 *
 * - `239.255.77.77` (DEFAULT_GROUP, organisation-local multicast, TTL 1): reaches the LAN. The
 *   socket joins the group on the default interface; multicast loopback also delivers it to
 *   nodes on the same host that joined there.
 * - `127.255.255.255` (LOOPBACK_BROADCAST, SO_BROADCAST): reaches every node on this host, even
 *   with no network at all. This is what `mosaic cluster` and the tests rely on.
 *
 * Observed on Linux 6.18 (lo has no MULTICAST flag, 127.0.0.1/8, local table has
 * "broadcast 127.255.255.255 dev lo"), three sockets sharing one port with SO_REUSEADDR, in one
 * process and in three processes:
 * - broadcast to 127.255.255.255: all three receive every packet (source 127.0.0.1), but only
 *   when bound to 0.0.0.0 (bound to 127.0.0.1 they get nothing); without SO_BROADCAST the send
 *   fails with EACCES;
 * - multicast to 239.255.77.77 with setMulticastInterface('127.0.0.1') and
 *   addMembership(group, '127.0.0.1'): all three receive (again only when bound to 0.0.0.0);
 * - unicast to 127.0.0.1: only the socket bound last receives anything, so it cannot serve as a
 *   shared channel.
 * Loopback broadcast was chosen for the same-host path because it needs no group membership and
 * keeps every test packet inside 127.0.0.0/8.
 *
 * Limits:
 * - IPv4 only. Multicast is joined on the default interface only; on a multi-homed host, list a
 *   subnet broadcast (e.g. 192.168.1.255) in `targets` or use static --peer URLs.
 * - macOS/BSD do not deliver 127.255.255.255 broadcasts; there same-host nodes find each other
 *   through multicast loopback, which needs a network interface with a multicast route.
 * - A node reachable only on 127.0.0.1 should not announce to the LAN: peers would get a URL it
 *   does not listen on. {@link defaultTargets} picks loopback-only targets for such a host.
 * - A same-host peer may be heard by both paths; the copies share a nonce, so the second is
 *   dropped as a replay (logged at debug) and the first path's URL is reported.
 * - Best effort: UDP may drop packets; announcements repeat every `intervalMs`.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  ReplayCache,
  deriveDiscoveryKeys,
  encodeAnnouncement,
  verifyAnnouncement,
  type RejectReason,
  type Scheme,
} from './announcement.js';

export const DEFAULT_GROUP = '239.255.77.77';
export const LOOPBACK_BROADCAST = '127.255.255.255';
export const DEFAULT_INTERVAL_MS = 2000;

export interface DiscoveredPeer {
  readonly nodeId: string;
  /** Base URL of the peer's HTTP server, e.g. "http://192.168.1.20:7070". */
  readonly url: string;
}

export interface DiscoveryOptions {
  readonly clusterKey: string;
  readonly nodeId: string;
  /** Port and scheme of this node's HTTP server, as peers should reach it. */
  readonly httpPort: number;
  readonly scheme?: Scheme | undefined;
  /** UDP port shared by every node of the LAN (config: discoveryPort, default 7077). */
  readonly discoveryPort: number;
  /**
   * IPv4 addresses announcements are sent to: multicast groups (joined for receiving too),
   * broadcast or unicast addresses. Default: {@link defaultTargets}() — the LAN group and
   * loopback broadcast.
   */
  readonly targets?: readonly string[] | undefined;
  readonly intervalMs?: number | undefined;
  readonly log: Logger;
  /**
   * Called once per distinct (nodeId, url) heard during this instance's life, never for this
   * node itself. An exception thrown here is logged and does not stop discovery.
   */
  readonly onPeer: (peer: DiscoveredPeer) => void;
}

export interface Discovery {
  /** Stops announcing and listening. Idempotent. */
  close(): Promise<void>;
}

/**
 * Targets for a node whose HTTP server listens on `httpHost`: loopback broadcast always, the LAN
 * group unless the server is reachable only on loopback.
 */
export function defaultTargets(httpHost = '0.0.0.0'): string[] {
  const loopbackOnly = httpHost === 'localhost' || httpHost === '::1' || /^127\./.test(httpHost);
  return loopbackOnly ? [LOOPBACK_BROADCAST] : [LOOPBACK_BROADCAST, DEFAULT_GROUP];
}

/** Binds the discovery socket, sends a first announcement and returns once listening. */
export async function startDiscovery(opts: DiscoveryOptions): Promise<Discovery> {
  const keys = deriveDiscoveryKeys(opts.clusterKey);
  const scheme = opts.scheme ?? 'http';
  const targets = opts.targets ?? defaultTargets();
  const intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
  const log = opts.log.child({ component: 'discovery' });
  const replay = new ReplayCache();
  const reported = new BoundedSet(1024);
  const warnings = new WarnLimiter(60_000);
  const failingTargets = new Set<string>();

  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    // Bound to 0.0.0.0, not to an interface address: only then does Linux deliver broadcast and
    // multicast datagrams to the socket (see the header).
    socket.bind({ port: opts.discoveryPort, address: '0.0.0.0' }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', (err) => {
    log.warn({ err }, 'discovery socket error');
  });

  socket.setBroadcast(true);
  socket.setMulticastTTL(1); // announcements never leave the local network
  socket.setMulticastLoopback(true); // same-host nodes hear the LAN group too
  for (const group of targets.filter(isMulticast)) {
    try {
      socket.addMembership(group);
    } catch (err) {
      log.warn({ err, group }, 'cannot join the discovery group; LAN discovery limited');
    }
  }

  socket.on('message', (packet, rinfo) => {
    const result = verifyAnnouncement(packet, {
      keys,
      selfNodeId: opts.nodeId,
      now: Date.now(),
      replay,
    });
    if (!result.ok) {
      logRejection(result.reason, rinfo.address);
      return;
    }
    const { node, port, scheme: peerScheme } = result.announcement;
    const peer: DiscoveredPeer = { nodeId: node, url: `${peerScheme}://${rinfo.address}:${port}` };
    if (!reported.add(`${peer.nodeId} ${peer.url}`)) return;
    log.info(peer, 'discovered peer');
    try {
      opts.onPeer(peer);
    } catch (err) {
      log.error({ err, peer }, 'onPeer failed');
    }
  });

  function logRejection(reason: RejectReason, from: string): void {
    switch (reason) {
      case 'self': // our own announcement looped back
        return;
      case 'malformed': // stray traffic on the port
      case 'other-cluster': // another Mosaic cluster on the same LAN
      case 'replay': // also a same-host peer heard over two paths
        log.debug({ reason, from }, 'ignored discovery packet');
        return;
      case 'bad-signature': // someone knows our cluster id but not the key
      case 'stale': // clocks more than a minute apart, or a replay of an old packet
        if (warnings.shouldWarn(`${reason} ${from}`, Date.now())) {
          log.warn({ reason, from }, 'refused discovery announcement');
        } else {
          log.debug({ reason, from }, 'refused discovery announcement');
        }
        return;
    }
  }

  function announce(): void {
    const packet = encodeAnnouncement(
      {
        v: 1,
        cluster: keys.clusterId,
        node: opts.nodeId,
        port: opts.httpPort,
        scheme,
        ts: Date.now(),
        nonce: randomBytes(16).toString('hex'),
      },
      keys,
    );
    for (const target of targets) {
      socket.send(packet, opts.discoveryPort, target, (err) => {
        if (err === null) {
          failingTargets.delete(target);
        } else if (!failingTargets.has(target)) {
          // Warn once per outage (an offline laptop cannot reach the LAN group), then stay quiet.
          failingTargets.add(target);
          log.warn({ err, target }, 'cannot send discovery announcement');
        }
      });
    }
  }

  announce();
  const timer = setInterval(announce, intervalMs);
  log.info({ port: opts.discoveryPort, targets, intervalMs }, 'LAN discovery started');

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(timer);
        socket.close(() => {
          resolve();
        });
      });
      return closing;
    },
  };
}

function isMulticast(address: string): boolean {
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
}

/** A set that forgets its oldest members beyond `capacity`. */
class BoundedSet {
  private readonly items = new Set<string>();

  constructor(private readonly capacity: number) {}

  /** Adds an item; false if it was already there. */
  add(item: string): boolean {
    if (this.items.has(item)) return false;
    if (this.items.size >= this.capacity) {
      const oldest = this.items.values().next();
      if (oldest.done !== true) this.items.delete(oldest.value);
    }
    this.items.add(item);
    return true;
  }
}

/** At most one warning per key per period, so a flood of forgeries cannot flood the log. */
class WarnLimiter {
  private readonly last = new Map<string, number>();

  constructor(private readonly periodMs: number) {}

  shouldWarn(key: string, now: number): boolean {
    const at = this.last.get(key);
    if (at !== undefined && now - at < this.periodMs) return false;
    if (this.last.size >= 1024) this.last.clear();
    this.last.set(key, now);
    return true;
  }
}
