/**
 * Issue 12, row 7: a signed operation that claims the receiving node as its origin, with seq
 * 1000. It is refused; the node keeps numbering its own operations from its contiguous counter,
 * so its sequence has no gap, new uploads replicate and file changes still reach devices.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allPictures, TestCluster, type ClusterNode } from '../helpers/cluster.js';
import { cleanup, makeImage, makeTempDir, waitFor, type Picture } from '../helpers/node-process.js';
import { hlcAt, nodeIdAt, send, signed, TESTER_ID } from '../helpers/peer.js';

let cluster: TestCluster;
let n1: ClusterNode;
let n2: ClusterNode;
let id1: string;
let root1: string;

interface WireOp {
  origin: string;
  seq: number;
  hlc: string;
  body: { kind: string; path?: string };
}

beforeAll(async () => {
  const roots: string[] = [];
  for (let i = 0; i < 2; i++) {
    const root = join(await makeTempDir(`mosaic-origin-n${i + 1}-`), 'shared');
    await mkdir(root);
    roots.push(root);
  }
  root1 = roots[0] ?? '';
  cluster = new TestCluster({ folders: roots });
  [n1, n2] = (await cluster.startAll(2)) as [ClusterNode, ClusterNode];
  id1 = await nodeIdAt(n1.node.url, cluster.key);
});

afterAll(async () => {
  await cleanup();
});

/** Every operation of `origin` that node `url` holds, in order (a signed pull). */
async function opsOf(url: string, to: string, origin: string): Promise<WireOp[]> {
  const res = await send(
    url,
    signed(cluster.key, to, 'POST', '/peer/pull', { vv: {}, after: null, limit: 5000 }),
  );
  expect(res.status).toBe(200);
  return (res.body as { ops: WireOp[] }).ops.filter((op) => op.origin === origin);
}

describe('operations that claim the receiving node as origin (issue 12, row 7)', () => {
  it('are refused, and the node sequence, replication and device feeds keep working', async () => {
    const forged = {
      origin: id1,
      seq: 1000,
      hlc: hlcAt(Date.now(), id1),
      body: { kind: 'picture.delete', id: 'b'.repeat(64) },
    };
    for (const sender of [id1, TESTER_ID]) {
      const res = await send(
        n1.node.url,
        signed(cluster.key, id1, 'POST', '/peer/ops', { ops: [forged] }, { nodeId: sender }),
      );
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        applied: 0,
        rejected: [{ origin: id1, seq: 1000, code: 'own_origin' }],
      });
    }

    // A new upload at node 1 gets the next contiguous number and replicates.
    const file = await makeImage({ seed: 77 });
    const up = await (await n1.api()).upload<Picture>({ file, fields: { title: 'after attack' } });
    expect(up.status).toBe(201);
    const client2 = await n2.api();
    await waitFor(async () => (await allPictures(client2)).some((p) => p.id === up.body.id), {
      timeoutMs: 20_000,
      what: 'the upload at node 2',
    });
    const own = await opsOf(n1.node.url, id1, id1);
    expect(own.map((op) => op.seq)).toEqual(own.map((_, i) => i + 1));

    // A file change at node 1 reaches a device's feed.
    const admin = await n1.api();
    const deviceId = '0a0b0c0d0e0f1011';
    const reg = await admin.post('/api/folders/shared/devices', { deviceId, name: 'phone' });
    expect(reg.status).toBe(200);
    await writeFile(join(root1, 'after-attack.txt'), 'still syncing\n');
    await waitFor(
      async () => {
        const page = await admin.post<{ ops: WireOp[] }>(
          `/api/folders/shared/devices/${deviceId}/pull`,
          { cursor: {}, limit: 1000, waitMs: 0 },
        );
        return page.body.ops.some((op) => op.body.path === 'after-attack.txt');
      },
      { timeoutMs: 20_000, what: 'the file change in the device feed' },
    );
  });
});
