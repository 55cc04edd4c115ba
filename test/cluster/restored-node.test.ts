/**
 * A node whose data directory is put back to an older copy (a backup restored, a VM snapshot
 * rolled back) while its peer holds what it sent after that copy was taken. Before, its own
 * operations coming back from the peer were refused as forged ("own_origin"), so what it had
 * made after the copy never came back to it, and its next operations took numbers the peer
 * already held: refused there as conflicts, lost for good, with the cluster diverged. Now the
 * first hello tells it (an error in its log), it takes its past back from the peer with the
 * bytes, and its new operations reach the peer.
 */
import { cp, rm } from 'node:fs/promises';
import { afterAll, expect, test } from 'vitest';
import { TestCluster, type ClusterNode } from '../helpers/cluster.js';
import {
  ADMIN_PASSWORD,
  api,
  cleanup,
  login,
  makeImage,
  makeTempDir,
  waitFor,
  type Api,
  type NodeProcess,
  type Picture,
  type PictureList,
} from '../helpers/node-process.js';

afterAll(async () => {
  await cleanup();
});

async function titles(client: Api): Promise<string[]> {
  const res = await client.get<PictureList>('/api/pictures?limit=100');
  return res.status === 200 ? res.body.items.map((p) => p.title).sort() : [];
}

async function upload(node: NodeProcess, title: string, seed: number): Promise<Picture> {
  const client = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
  const file = await makeImage({ width: 64, height: 48, format: 'jpeg', seed });
  const res = await client.upload<Picture>({ file, fields: { title } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function has(node: NodeProcess, wanted: readonly string[]): Promise<boolean> {
  const client = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
  const listed = await titles(client);
  return wanted.every((t) => listed.includes(t));
}

test(
  'a node put back to an older copy of its data takes its past back and loses nothing after',
  { timeout: 120_000 },
  async () => {
    // Two nodes, each the other's peer (n1 is the one put back, n2 holds what it sent).
    const [n1, n2] = await new TestCluster().startAll(2);
    const [a, b] = [(n1 as ClusterNode).node, (n2 as ClusterNode).node];
    await upload(a, 'before the backup', 1);
    await waitFor(() => has(b, ['before the backup']), { timeoutMs: 20_000, what: 'B to list it' });

    // The backup: A stopped, its data directory copied.
    expect(await a.stop()).toBe(0);
    const backup = await makeTempDir('mosaic-restored-backup-');
    await cp(a.dataDir, backup, { recursive: true });

    // A runs on and makes more, which B takes in.
    await a.restart();
    await upload(a, 'after the backup 1', 2);
    await upload(a, 'after the backup 2', 3);
    await waitFor(() => has(b, ['after the backup 1', 'after the backup 2']), {
      timeoutMs: 20_000,
      what: 'B to list what A made after the backup',
    });

    // A's disk dies; its data directory is restored from the backup.
    expect(await a.stop()).toBe(0);
    await rm(a.dataDir, { recursive: true, force: true });
    await cp(backup, a.dataDir, { recursive: true });
    await a.restart();
    await a.waitForLog(
      (l) => String(l.msg).includes("this node's data is older than what it had sent"),
      20_000,
    );

    // It takes back what it had made after the backup, bytes included.
    await waitFor(() => has(a, ['after the backup 1', 'after the backup 2']), {
      timeoutMs: 30_000,
      what: 'A to take back what it made after the backup',
    });
    const client = api(a.url, await login(a.url, 'admin', ADMIN_PASSWORD));
    const list = await client.get<PictureList>('/api/pictures?limit=100');
    for (const p of list.body.items) {
      const file = await client.fetch(`/api/pictures/${p.id}/file`);
      expect(file.status, p.title).toBe(200);
    }

    // What it makes now reaches B (it took a number B already held, and B refused it).
    await upload(a, 'after the restore', 4);
    await waitFor(() => has(b, ['after the restore']), {
      timeoutMs: 20_000,
      what: 'B to list what A made after the restore',
    });
    const both = await Promise.all(
      [a, b].map(async (n) => titles(api(n.url, await login(n.url, 'admin', ADMIN_PASSWORD)))),
    );
    expect(both[0]).toEqual(both[1]);
    expect(both[0]).toHaveLength(4);
  },
);

test(
  'a restored node holds its first changes until its peers have said how far its past went',
  { timeout: 120_000 },
  async () => {
    const [n1, n2] = await new TestCluster().startAll(2);
    const [a, b] = [(n1 as ClusterNode).node, (n2 as ClusterNode).node];
    await upload(a, 'before the backup', 11);
    await waitFor(() => has(b, ['before the backup']), { timeoutMs: 20_000, what: 'B to list it' });
    expect(await a.stop()).toBe(0);
    const backup = await makeTempDir('mosaic-restored-early-');
    await cp(a.dataDir, backup, { recursive: true });
    await a.restart();
    await upload(a, 'after the backup', 12);
    await waitFor(() => has(b, ['after the backup']), { timeoutMs: 20_000, what: 'B to list it' });
    expect(await a.stop()).toBe(0);
    await rm(a.dataDir, { recursive: true, force: true });
    await cp(backup, a.dataDir, { recursive: true });

    // B is frozen as A comes back: A's hello to it is accepted by B's kernel and not answered,
    // so A cannot yet know that B holds more of its operations than its restored log has.
    const frozen = b.process.pid;
    if (frozen === undefined) throw new Error('B has no pid');
    process.kill(frozen, 'SIGSTOP');
    try {
      await a.restart();
      // A change made the moment A listens. Numbered at once, it took the number of 'after the
      // backup', which B holds: refused there as a conflict, never seen at B.
      const early = upload(a, 'made at once after the restore', 13);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      process.kill(frozen, 'SIGCONT');
      await early;
    } finally {
      process.kill(frozen, 'SIGCONT');
    }
    const all = ['before the backup', 'after the backup', 'made at once after the restore'];
    await waitFor(() => has(b, all), { timeoutMs: 20_000, what: 'B to list the early change' });
    await waitFor(() => has(a, all), { timeoutMs: 20_000, what: 'A to list its past' });
  },
);
