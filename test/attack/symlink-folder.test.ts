/**
 * Issue 12, row 4: a symlink inside a synced folder (`out -> /somewhere`) must not let a remote
 * path (`out/pwned.txt`) write outside the folder, whether it comes from a device's upload or
 * from a peer node's pull. Real node processes and a real `mosaic sync` device; the refusal is
 * a log line, nothing lands outside, and the folder keeps syncing its other files.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { createToken, startSync, syncOnce } from '../helpers/device-process.js';
import {
  ADMIN_PASSWORD,
  cleanup,
  makeTempDir,
  startNode,
  waitFor,
  type LogLine,
} from '../helpers/node-process.js';

afterAll(async () => {
  await cleanup();
});

const REFUSED = 'remote path refused: it would leave the folder through a symbolic link';

function refusal(path: string): (line: LogLine) => boolean {
  return (l) => l.msg === REFUSED && l['path'] === path;
}

/** Everything below `dir`, recursively (empty: nothing was written there). */
async function contents(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

describe('a symlinked directory inside a synced folder', () => {
  it('a device upload through it is refused; nothing is written outside; other files sync', async () => {
    const base = await makeTempDir('mosaic-attack-symlink-');
    const root = join(base, 'docs');
    const outside = join(base, 'outside');
    await mkdir(root);
    await mkdir(outside);
    await writeFile(join(root, 'a.txt'), 'node a\n');
    await symlink(outside, join(root, 'out'));
    const node = await startNode({ args: ['--folder', `docs=${root}`] });
    const token = await createToken(node.url, 'admin', ADMIN_PASSWORD);

    const device = await makeTempDir('mosaic-attack-device-');
    await mkdir(join(device, 'out', 'sub'), { recursive: true });
    await writeFile(join(device, 'out', 'pwned.txt'), 'written outside?\n');
    await writeFile(join(device, 'out', 'sub', 'deep.txt'), 'deeper\n');
    await writeFile(join(device, 'ok.txt'), 'an ordinary file\n');
    const run = await syncOnce(device, node.url, ['--token', token, '--folder', 'docs']);
    expect([0, 1, 2]).toContain(run.code); // whatever the device thinks, the node decides

    await waitFor(() => existsSync(join(root, 'ok.txt')), { what: 'ok.txt at the node' });
    await node.waitForLog(refusal('out/pwned.txt'), 20_000).catch(() => null);
    expect(await contents(outside)).toEqual([]);
    await node.waitForLog(refusal('out/pwned.txt'), 20_000);
    await node.waitForLog(refusal('out/sub/deep.txt'), 20_000);

    // The folder keeps syncing: a later file from the device arrives too.
    await writeFile(join(device, 'later.txt'), 'later\n');
    await syncOnce(device, node.url, ['--token', token, '--folder', 'docs']);
    await waitFor(() => existsSync(join(root, 'later.txt')), { what: 'later.txt at the node' });
    expect(await contents(outside)).toEqual([]);
  });

  it('a device downloading through its own symlinked directory refuses too', async () => {
    const base = await makeTempDir('mosaic-attack-devlink-');
    const root = join(base, 'docs');
    const device = join(base, 'device');
    const outside = join(base, 'outside');
    await mkdir(join(root, 'out'), { recursive: true });
    await mkdir(device);
    await mkdir(outside);
    await writeFile(join(root, 'out', 'pwned.txt'), 'from the node\n');
    await writeFile(join(root, 'ok.txt'), 'ordinary\n');
    await symlink(outside, join(device, 'out'));
    const node = await startNode({ args: ['--folder', `docs=${root}`] });
    const token = await createToken(node.url, 'admin', ADMIN_PASSWORD);

    // A running device (not --once: a parked path keeps it "not in sync", as it should).
    const sync = startSync(device, node.url, ['--token', token, '--folder', 'docs']);
    try {
      await waitFor(() => existsSync(join(device, 'ok.txt')), { what: 'ok.txt at the device' });
      const refused = (): Promise<unknown> =>
        waitFor(() => sync.logs.find(refusal('out/pwned.txt')), {
          what: 'the refusal in the device log',
        });
      await refused().catch(() => null);
      expect(await contents(outside)).toEqual([]);
      await refused();
    } finally {
      await sync.kill();
    }
  });

  it('a node pull through it is refused; the link target is neither written nor scanned', async () => {
    const bases = [await makeTempDir('mosaic-attack-n1-'), await makeTempDir('mosaic-attack-n2-')];
    const roots = bases.map((b) => join(b, 'folder'));
    const [root1 = '', root2 = ''] = roots;
    const outside = join(bases[1] ?? '', 'outside');
    await mkdir(join(root1, 'out', 'etc'), { recursive: true });
    await writeFile(join(root1, 'out', 'pwned.txt'), 'from the peer\n');
    await writeFile(join(root1, 'out', 'etc', 'x.txt'), 'deeper\n');
    await writeFile(join(root1, 'fine.txt'), 'fine\n');
    await mkdir(root2);
    // The link target holds a secret of node 2's host, in a directory the peer names too.
    await mkdir(join(outside, 'etc'), { recursive: true });
    await writeFile(join(outside, 'etc', 'secret.txt'), 'do not sync me\n');
    await symlink(outside, join(root2, 'out'));

    const cluster = new TestCluster({ syncIntervalMs: 300, folders: roots });
    const [n1, n2] = await cluster.startAll(2);
    if (!n1 || !n2) throw new Error('nodes did not start');

    await waitFor(() => existsSync(join(root2, 'fine.txt')), { what: 'fine.txt at node 2' });
    await n2.node.waitForLog(refusal('out/etc/x.txt'), 20_000).catch(() => null);
    expect(await contents(outside)).toEqual(['etc', 'etc/secret.txt']);
    await n2.node.waitForLog(refusal('out/pwned.txt'), 30_000);
    await n2.node.waitForLog(refusal('out/etc/x.txt'), 30_000);

    // The refused paths are hints for a rescan; the scan must not walk the link's target and
    // offer its files to the cluster. A later file still syncs, and the secret never does.
    await writeFile(join(root1, 'later.txt'), 'later\n');
    await waitFor(() => existsSync(join(root2, 'later.txt')), { what: 'later.txt at node 2' });
    expect(existsSync(join(root1, 'out', 'etc', 'secret.txt'))).toBe(false);
    expect(await contents(outside)).toEqual(['etc', 'etc/secret.txt']);
  });
});
