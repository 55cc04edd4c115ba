/**
 * A synced folder's files that no reachable peer could send, and a peer that has them coming
 * back: the files must arrive as soon as the link is up again, not at the pull's next stall
 * retry (2 s doubling to a minute, pull-stalls.ts). Found by the fault tier: after a heal, one
 * seed's folders took 23.5 s to agree where the others took 1-2 s.
 *
 * Three real nodes. n1 and n2 sync the folder; n3 syncs none but relays every operation, so n2
 * learns of n1's new file from n3 while n1, the only holder of its bytes, is cut off from n2
 * (MOSAIC_FAULTS: which also stops n2's requests for the content, not only the link's
 * exchanges). Waits on conditions, never fixed sleeps.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { cleanup, makeTempDir, waitFor } from '../helpers/node-process.js';

afterAll(async () => {
  await cleanup();
});

it('brings a stalled file as soon as the peer that holds it is back', async () => {
  const roots: string[] = [];
  for (const name of ['n1', 'n2']) {
    const root = join(await makeTempDir(`mosaic-back-${name}-`), 'folder');
    await mkdir(root, { recursive: true });
    roots.push(root);
  }
  const [root1, root2] = roots as [string, string];
  const cluster = new TestCluster({
    syncIntervalMs: 500,
    folders: [`shared=${root1}`, `shared=${root2}`],
  });
  const [n1, n2] = await cluster.startAll(3);
  if (n1 === undefined || n2 === undefined) throw new Error('the cluster did not start');
  await cluster.partition([n1], [n2]);
  // n2 sees n1 down before the file exists (no content request of n2's can reach n1).
  await waitFor(
    async () => {
      const res = await (
        await n2.api()
      ).get<{ peers: { name: string; state: string }[] }>('/api/cluster');
      return res.body.peers.some((p) => p.name === 'n1' && p.state === 'down');
    },
    { timeoutMs: 10_000, intervalMs: 50, what: "n2's link to n1 down" },
  );

  await writeFile(join(root1, 'report.txt'), 'only n1 has these bytes\n');
  // n2 has the operation (through n3) and cannot get the bytes: its pull stalls, and retries
  // with a growing back-off. Once the next try is 8 s away, n1 comes back.
  await n2.node.waitForLog(
    (line) =>
      line.msg === 'folder files not brought up to date; retrying' &&
      Number(line['retryInMs']) >= 8000,
    30_000,
  );
  await cluster.heal();
  const healed = performance.now();
  await waitFor(
    async () =>
      (await readFile(join(root2, 'report.txt'), 'utf8').catch(() => null)) ===
      'only n1 has these bytes\n',
    // Well before the stalled pull's own retry (8 s): n2's link to n1 retries within 1 s.
    { timeoutMs: 5_000, intervalMs: 50, what: 'the file at n2 soon after n1 is back' },
  );
  expect(performance.now() - healed).toBeLessThan(5_000);
}, 90_000);
