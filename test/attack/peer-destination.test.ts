/**
 * Issue 12, row 9: one captured signed peer request, sent to node 1, again to node 1, then to
 * node 2. The signature covers the destination node id, so node 2 refuses it (401) — for the
 * replication routes and the event routes alike — while real replication keeps working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allPictures, TestCluster, type ClusterNode } from '../helpers/cluster.js';
import { cleanup, makeImage, waitFor, type Picture } from '../helpers/node-process.js';
import { nodeIdAt, send, signed } from '../helpers/peer.js';

let cluster: TestCluster;
let n1: ClusterNode;
let n2: ClusterNode;
let id1: string;

beforeAll(async () => {
  cluster = new TestCluster();
  [n1, n2] = (await cluster.startAll(2)) as [ClusterNode, ClusterNode];
  id1 = await nodeIdAt(n1.node.url, cluster.key);
});

afterAll(async () => {
  await cleanup();
});

describe('peer requests are signed for one node (issue 12, row 9)', () => {
  it('a request captured on its way to node 1 is refused by node 2', async () => {
    const captured = signed(cluster.key, id1, 'POST', '/peer/pull', {
      vv: {},
      after: null,
      limit: 10,
    });
    expect((await send(n1.node.url, captured)).status).toBe(200);
    expect((await send(n1.node.url, captured)).status).toBe(401); // replay on the same node
    const replayed = await send(n2.node.url, captured);
    expect(replayed.status).toBe(401);
    expect(replayed.body).toMatchObject({ error: { code: 'unauthorized' } });
  });

  it('the same holds for event messages, and for a request never sent to node 1', async () => {
    const status = signed(cluster.key, id1, 'POST', '/peer/events/tx/status', { txId: 'tx_1' });
    expect((await send(n2.node.url, status)).status).toBe(401);
    expect((await send(n1.node.url, status)).status).toBe(200);
    const blob = signed(cluster.key, id1, 'GET', `/peer/blobs/${'a'.repeat(64)}`);
    expect((await send(n2.node.url, blob)).status).toBe(401);
    expect((await send(n1.node.url, blob)).status).toBe(404);
  });

  it('the nodes still replicate to each other', async () => {
    const file = await makeImage({ seed: 91 });
    const res = await (await n1.api()).upload<Picture>({ file, fields: { title: 'after' } });
    expect(res.status).toBe(201);
    const client = await n2.api();
    await waitFor(async () => (await allPictures(client)).some((p) => p.id === res.body.id), {
      timeoutMs: 20_000,
      what: 'the upload at node 2',
    });
  });
});
