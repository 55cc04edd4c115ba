/**
 * A device started while its node is down (a laptop opened on a train): one that synced its
 * directory before keeps running, works on the directory, and syncs both ways once the node is
 * back; a directory that never synced, and `--once`, still end at once with the reason.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_PASSWORD,
  cleanup,
  makeTempDir,
  startNode,
  waitFor,
  type NodeProcess,
} from '../helpers/node-process.js';
import {
  converged,
  createToken,
  sha,
  startSync,
  syncOnce,
  type SyncProcess,
} from '../helpers/device-process.js';

let node: NodeProcess;
let root: string;
let token: string;
let device: string;
const devices: SyncProcess[] = [];

beforeAll(async () => {
  root = join(await makeTempDir('mosaic-devoff-node-'), 'docs');
  await mkdir(root);
  await writeFile(join(root, 'from-node.txt'), 'node\n');
  node = await startNode({ args: ['--folder', `docs=${root}`] });
  token = await createToken(node.url, 'admin', ADMIN_PASSWORD);
  device = await makeTempDir('mosaic-devoff-dev-');
  const first = await syncOnce(device, node.url, ['--token', token]);
  expect(first.code).toBe(0);
  await node.kill();
});

afterAll(async () => {
  await Promise.all(devices.map((d) => d.kill()));
  await cleanup();
});

describe('mosaic sync started while its node is down', () => {
  it('a directory that never synced: exit 1, the node named, nothing made', async () => {
    const fresh = await makeTempDir('mosaic-devoff-fresh-');
    const run = await syncOnce(fresh, node.url, ['--token', token]);
    expect(run.code).toBe(1);
    expect(JSON.stringify(run.logs)).toContain('cannot be reached');
    const again = startSync(fresh, node.url, ['--token', token]);
    expect(await again.exited).toBe(1);
  });

  it('--once on a directory that synced before: exit 1 (not in sync), at once', async () => {
    const run = await syncOnce(device, node.url, ['--token', token]);
    expect(run.code).toBe(1);
  });

  it('a directory that synced before: keeps running, and syncs both ways once the node is back', async () => {
    await writeFile(join(device, 'offline.txt'), 'written offline\n');
    const sync = startSync(device, node.url, ['--token', token, '--interval', '1']);
    devices.push(sync);
    await waitFor(
      () => {
        if (sync.child.exitCode !== null) {
          throw new Error(`mosaic sync exited ${sync.child.exitCode}: ${sync.stderr()}`);
        }
        return sync.logs.some((l) => l.msg === 'device sync started');
      },
      {
        timeoutMs: 20_000,
        what: 'the device to start',
      },
    );
    expect(JSON.stringify(sync.logs)).toContain('cannot be reached; syncing once it is back');
    expect(sync.child.exitCode).toBeNull();

    await node.restart();
    await writeFile(join(root, 'while-back.txt'), 'node again\n');
    const tree = await converged(
      [root, device],
      (t) => t.has('offline.txt') && t.has('while-back.txt'),
      60_000,
    );
    expect(tree.get('offline.txt')).toBe(sha('written offline\n'));
    expect(tree.get('from-node.txt')).toBe(sha('node\n'));
  });
});
