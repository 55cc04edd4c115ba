/**
 * Devices on different nodes of a 2-node cluster converge through replication: a device of n1
 * and a device of n2 (same account, same folder) and both nodes' own folders end identical.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, type ClusterNode } from '../helpers/cluster.js';
import { ADMIN_PASSWORD, cleanup, makeTempDir } from '../helpers/node-process.js';
import {
  converged,
  createToken,
  sha,
  startSync,
  type SyncProcess,
} from '../helpers/device-process.js';

let cluster: TestCluster;
let roots: string[];
const syncs: SyncProcess[] = [];

beforeAll(async () => {
  roots = [];
  for (let i = 0; i < 2; i++) {
    const root = join(await makeTempDir(`mosaic-devc-n${i + 1}-`), 'shared');
    await mkdir(root);
    await writeFile(join(root, `node-${i + 1}.txt`), `from node ${i + 1}\n`);
    roots.push(root);
  }
  cluster = new TestCluster({ syncIntervalMs: 300, folders: roots });
  await cluster.startAll(2);
});

afterAll(async () => {
  await Promise.all(syncs.map((s) => s.kill()));
  await cleanup();
});

describe('devices on different nodes of a cluster', () => {
  it('converge through replication, with the nodes', async () => {
    const [n1, n2] = cluster.nodes as [ClusterNode, ClusterNode];
    const devA = await makeTempDir('mosaic-devc-a-');
    const devB = await makeTempDir('mosaic-devc-b-');
    await writeFile(join(devA, 'device-a.txt'), 'from device a\n');
    await writeFile(join(devB, 'device-b.txt'), 'from device b\n');
    const [tokenA, tokenB] = await Promise.all([
      createToken(n1.node.url, 'admin', ADMIN_PASSWORD),
      createToken(n2.node.url, 'admin', ADMIN_PASSWORD),
    ]);
    syncs.push(startSync(devA, n1.node.url, ['--token', tokenA, '--interval', '2']));
    syncs.push(startSync(devB, n2.node.url, ['--token', tokenB, '--interval', '2']));
    const all = [...roots, devA, devB];
    const first = await converged(
      all,
      (t) => ['node-1.txt', 'node-2.txt', 'device-a.txt', 'device-b.txt'].every((p) => t.has(p)),
      60_000,
    );
    expect(first.get('device-b.txt')).toBe(sha('from device b\n'));

    const t0 = Date.now();
    await writeFile(join(devA, 'device-a.txt'), 'edited on device a\n');
    await converged(all, (t) => t.get('device-a.txt') === sha('edited on device a\n'), 60_000);
    console.log(`device a (n1) -> device b (n2): ${Date.now() - t0} ms`);
  });
});
