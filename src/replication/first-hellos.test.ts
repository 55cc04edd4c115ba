/**
 * Replicator.firstHellos: how long a node's own changes wait at start (node.ts) for its peers
 * to say how far its operations got. Real sockets: a port nobody listens on (refused at once)
 * and a server that takes the connection and never answers (a frozen or cut-off peer).
 */
import { createServer, type Server, type Socket } from 'node:net';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { openDatabase } from '../db/database.js';
import { Faults } from '../faults/faults.js';
import { Agent } from '../http/undici-client.js';
import { openReplicaState } from '../oplog/replica-state.js';
import { sqliteStoreOver } from '../storage/metadata/sqlite.js';
import { PeerRepository } from './peer.repository.js';
import { Replicator } from './replicator.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean();
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A port that refuses connections: one a server held, then gave back. */
async function refusedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A peer that accepts connections and never answers. */
async function silentPeer(): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => sockets.add(socket));
  const port = await listen(server);
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return port;
}

async function replicatorTo(urls: readonly string[]): Promise<Replicator> {
  const store = sqliteStoreOver(openDatabase(':memory:'));
  const { changes, oplog } = openReplicaState(store, 'aaaaaaaaaaaaaaaa');
  const agent = new Agent({ connections: 4 });
  const replicator = new Replicator({
    selfId: 'aaaaaaaaaaaaaaaa',
    selfName: 'a',
    key: 'k'.repeat(32),
    oplog,
    changes,
    peers: new PeerRepository(store),
    faults: Faults.none(),
    agent,
    log: pino({ level: 'silent' }),
    syncIntervalMs: 60_000,
    onPeerUp: () => undefined,
  });
  await replicator.start('http://127.0.0.1:1', urls);
  cleanups.push(async () => {
    await agent.destroy();
    await replicator.stop();
    await store.close();
  });
  return replicator;
}

it('ends as soon as every peer has answered or failed (refused at once)', async () => {
  const replicator = await replicatorTo([
    `http://127.0.0.1:${await refusedPort()}`,
    `http://127.0.0.1:${await refusedPort()}`,
  ]);
  const started = performance.now();
  expect(await replicator.firstHellos(10_000)).toBe(true);
  expect(performance.now() - started).toBeLessThan(5_000);
});

it('ends at its bound when a peer takes the connection and never answers', async () => {
  const replicator = await replicatorTo([
    `http://127.0.0.1:${await refusedPort()}`,
    `http://127.0.0.1:${await silentPeer()}`,
  ]);
  const started = performance.now();
  expect(await replicator.firstHellos(300)).toBe(false);
  expect(performance.now() - started).toBeGreaterThanOrEqual(290);
});

it('ends at once without peers', async () => {
  const replicator = await replicatorTo([]);
  expect(await replicator.firstHellos(10_000)).toBe(true);
});
