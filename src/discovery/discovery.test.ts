/**
 * Real UDP sockets, all on loopback: every instance sends only to 127.255.255.255 (the test
 * machine has no network, and tests must never send beyond 127.0.0.0/8).
 */
import dgram from 'node:dgram';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { deriveDiscoveryKeys, encodeAnnouncement } from './announcement.js';
import {
  LOOPBACK_BROADCAST,
  startDiscovery,
  type DiscoveredPeer,
  type Discovery,
} from './discovery.js';

const KEY = 'the cluster key for discovery tests';
const OTHER_KEY = 'a different cluster key entirely';
const TARGETS = [LOOPBACK_BROADCAST];

interface Instance {
  readonly nodeId: string;
  readonly httpPort: number;
  readonly peers: DiscoveredPeer[];
  readonly logs: Record<string, unknown>[];
  readonly discovery: Discovery;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((close) => close()));
});

async function freeUdpPort(): Promise<number> {
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => probe.bind({ port: 0, address: '0.0.0.0' }, resolve));
  const { port } = probe.address();
  await new Promise<void>((resolve) => probe.close(resolve));
  return port;
}

async function start(
  nodeId: string,
  httpPort: number,
  discoveryPort: number,
  clusterKey = KEY,
): Promise<Instance> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const peers: DiscoveredPeer[] = [];
  const discovery = await startDiscovery({
    clusterKey,
    nodeId,
    httpPort,
    discoveryPort,
    targets: TARGETS,
    intervalMs: 200,
    log: pino({ level: 'debug' }, sink),
    onPeer: (peer) => peers.push(peer),
  });
  cleanups.push(() => discovery.close());
  return { nodeId, httpPort, peers, logs, discovery };
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const knows = (a: Instance, b: Instance) =>
  a.peers.some((p) => p.nodeId === b.nodeId && p.url === `http://127.0.0.1:${b.httpPort}`);
const refused = (i: Instance, reason: string) => i.logs.some((l) => l['reason'] === reason);

/** A raw socket on the discovery port, as an attacker on the LAN would have. */
async function rawSocket(port: number): Promise<{ socket: dgram.Socket; heard: Buffer[] }> {
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const heard: Buffer[] = [];
  socket.on('message', (msg) => heard.push(msg));
  await new Promise<void>((resolve) => socket.bind({ port, address: '0.0.0.0' }, resolve));
  socket.setBroadcast(true);
  cleanups.push(() => new Promise<void>((resolve) => socket.close(resolve)));
  return { socket, heard };
}

function sendTo(socket: dgram.Socket, packet: Buffer, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.send(packet, port, LOOPBACK_BROADCAST, (err) => {
      if (err) reject(err);
      else resolve();
    });
  });
}

describe('LAN discovery on loopback', () => {
  it('lets three nodes find each other and ignores another cluster', async () => {
    const port = await freeUdpPort();
    const nodes = [
      await start('0a0a0a0a0a0a0a0a', 17001, port),
      await start('0b0b0b0b0b0b0b0b', 17002, port),
      await start('0c0c0c0c0c0c0c0c', 17003, port),
    ];
    const stranger = await start('0d0d0d0d0d0d0d0d', 17004, port, OTHER_KEY);

    await until(
      () => nodes.every((a) => nodes.every((b) => a === b || knows(a, b))),
      'every node knows the other two',
    );
    await until(
      () => nodes.every((n) => refused(n, 'other-cluster')) && refused(stranger, 'other-cluster'),
      'the other cluster has been heard and refused',
    );

    for (const n of nodes) {
      expect(n.peers.map((p) => p.nodeId)).not.toContain(n.nodeId);
      expect(n.peers.map((p) => p.nodeId)).not.toContain(stranger.nodeId);
      expect(n.peers).toHaveLength(2); // reported once each, not once per announcement
    }
    expect(stranger.peers).toEqual([]);
  });

  it('ignores forged and replayed announcements', async () => {
    const port = await freeUdpPort();
    const node = await start('0a0a0a0a0a0a0a0a', 17001, port);
    const attacker = await rawSocket(port);

    // Forged: the right (public) cluster id, signed without the cluster key.
    const forger = {
      clusterId: deriveDiscoveryKeys(KEY).clusterId,
      signingKey: deriveDiscoveryKeys(OTHER_KEY).signingKey,
    };
    const forged = encodeAnnouncement(
      {
        v: 1,
        cluster: forger.clusterId,
        node: 'baadf00d',
        port: 6666,
        scheme: 'http',
        ts: Date.now(),
        nonce: 'f'.repeat(32),
      },
      forger,
    );
    await sendTo(attacker.socket, forged, port);
    await until(() => refused(node, 'bad-signature'), 'the forgery is refused');

    // Replayed: a genuine announcement of another node, captured and sent again.
    const honest = await start('0b0b0b0b0b0b0b0b', 17002, port);
    await until(() => knows(node, honest) && attacker.heard.length > 0, 'a genuine announcement');
    const captured = attacker.heard.find((p) => p.includes('"node":"0b0b0b0b0b0b0b0b"'));
    expect(captured).toBeDefined();
    if (captured) await sendTo(attacker.socket, captured, port);
    await until(() => refused(node, 'replay'), 'the replay is refused');

    await sendTo(attacker.socket, Buffer.from('not an announcement'), port);
    await until(() => refused(node, 'malformed'), 'junk is refused');

    expect(node.peers).toEqual([{ nodeId: honest.nodeId, url: 'http://127.0.0.1:17002' }]);
    const warned = node.logs.filter((l) => l['level'] === 40 && l['reason'] === 'bad-signature');
    expect(warned).toHaveLength(1);
  });

  it('closes idempotently and stops announcing', async () => {
    const port = await freeUdpPort();
    const a = await start('0a0a0a0a0a0a0a0a', 17001, port);
    await Promise.all([a.discovery.close(), a.discovery.close()]);
    const b = await start('0b0b0b0b0b0b0b0b', 17002, port);
    const listener = await rawSocket(port);
    await until(() => listener.heard.length >= 2, 'b has announced twice');
    expect(b.peers).toEqual([]);
    expect(listener.heard.every((p) => !p.includes('0a0a0a0a0a0a0a0a'))).toBe(true);
  });
});
