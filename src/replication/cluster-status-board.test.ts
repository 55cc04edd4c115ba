import pino from 'pino';
import { expect, it } from 'vitest';
import { describeEachDialect } from '../../test/helpers/dialects.js';
import { MetaRepository } from '../storage/metadata/meta.repository.js';
import { CLUSTER_STATUS_KEY, ClusterStatusBoard } from './cluster-status-board.js';
import type { PeerStatus } from './replicator.js';

const log = pino({ level: 'silent' });

const peerB: PeerStatus = {
  id: 'node-b',
  name: 'b',
  url: 'http://127.0.0.1:4002',
  source: 'static',
  state: 'up',
  lastSeen: '2026-11-30T12:00:00.000Z',
  error: null,
  lag: { ops: 3, bytes: 1200 },
};

describeEachDialect('the peers status a site shows in each of its processes', (ctx) => {
  it('a process that does not lead shows the leader’s latest snapshot, then unknown once stale', async () => {
    const [storeLeader, storeFollower] = await ctx.openWriters(2);
    if (!storeLeader || !storeFollower) throw new Error('two stores expected');
    let now = 1_000_000;
    const leader = new ClusterStatusBoard({
      meta: new MetaRepository(storeLeader),
      status: () => Promise.resolve([peerB]),
      leads: () => true,
      log,
      now: () => now,
      intervalMs: 1000,
    });
    const follower = new ClusterStatusBoard({
      meta: new MetaRepository(storeFollower),
      status: () => Promise.resolve([]),
      leads: () => false,
      log,
      now: () => now,
      intervalMs: 1000,
    });
    // Nothing published yet: no peers known (rather than made up).
    expect(await follower.peers()).toEqual([]);
    // The follower's own links are not asked and it publishes nothing.
    await follower.publish();
    expect(await new MetaRepository(storeLeader).get(CLUSTER_STATUS_KEY)).toBeNull();

    await leader.publish();
    expect(await leader.peers()).toEqual([peerB]);
    expect(await follower.peers()).toEqual([peerB]);

    now += 3000;
    expect(await follower.peers()).toEqual([peerB]);
    now += 1;
    const stale = await follower.peers();
    expect(stale).toHaveLength(1);
    expect(stale[0]).toMatchObject({ id: 'node-b', url: peerB.url, state: 'unknown' });
    expect(stale[0]?.error).toContain(new Date(1_000_000).toISOString());
  });

  it('a node without a cluster key has no peers and writes nothing', async () => {
    const store = await ctx.open();
    const board = new ClusterStatusBoard({
      meta: new MetaRepository(store),
      status: null,
      leads: () => true,
      log,
    });
    await board.publish();
    expect(await board.peers()).toEqual([]);
    expect(await new MetaRepository(store).get(CLUSTER_STATUS_KEY)).toBeNull();
  });

  it('a damaged snapshot reads as none', async () => {
    const store = await ctx.open();
    await new MetaRepository(store).set(CLUSTER_STATUS_KEY, '{"at":"soon"');
    const board = new ClusterStatusBoard({
      meta: new MetaRepository(store),
      status: () => Promise.resolve([peerB]),
      leads: () => false,
      log,
    });
    expect(await board.peers()).toEqual([]);
  });
});
