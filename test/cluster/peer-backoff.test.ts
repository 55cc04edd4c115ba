/**
 * A peer that is not up yet when a node starts is retried with a short back-off, not only at
 * the periodic cycle: nodes of a cluster start one after another, and a node that comes back
 * after a crash must be seen at once (issue 11, cause 7).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { cleanup, waitFor } from '../helpers/node-process.js';

interface ClusterView {
  peers: { name: string | null; state: string }[];
}

afterAll(async () => {
  await cleanup();
});

describe('peer back-off', () => {
  it('a node started before its peer sees the peer up within about a second', async () => {
    // The default periodic cycle (5 s): only the back-off can make it fast.
    const cluster = new TestCluster({ syncIntervalMs: 5000 });
    await cluster.reserve(2);
    const a = await cluster.start(0, [1]);
    const client = await a.api();
    // A has tried B and failed: B is down (or still unknown) at A.
    await waitFor(
      async () => (await client.get<ClusterView>('/api/cluster')).body.peers[0]?.state === 'down',
      { what: 'A to find B down' },
    );
    // B has no --peer: only A's own retries can notice it.
    await cluster.start(1, []);
    const listening = Date.now();
    await waitFor(
      async () => (await client.get<ClusterView>('/api/cluster')).body.peers[0]?.state === 'up',
      { timeoutMs: 10_000, intervalMs: 20, what: 'A to see B up' },
    );
    const seenAfter = Date.now() - listening;
    console.log(`peer seen up ${seenAfter} ms after it listened`);
    expect(seenAfter).toBeLessThan(1500);
  });
});
