/**
 * A node whose disk fills up while pictures replicate to it: it keeps running, says why (its
 * link's error is the real one, not "cannot rollback - no transaction is active"), and once
 * space is freed it catches up with everything by itself, the edits made meanwhile included,
 * without a restart; the node pushing to it keeps it up, with the full node's 507 as the link's
 * error. Its data directory is a tmpfs of a few MB, grown afterwards by a remount:
 * root only (as CI runs), skipped otherwise.
 */
import { execFileSync } from 'node:child_process';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { freePort, newClusterKey } from '../helpers/cluster.js';
import {
  ADMIN_PASSWORD,
  api,
  cleanup,
  login,
  makeImage,
  makeTempDir,
  startNode,
  waitFor,
  type Picture,
  type PictureList,
} from '../helpers/node-process.js';

const mounts: string[] = [];

afterAll(async () => {
  // Detached first (lazily: the nodes may still hold files there), so that the empty mount
  // point is removed with the other temp dirs.
  for (const dir of mounts) execFileSync('umount', ['-l', dir]);
  await cleanup();
});

const PICTURES = 8;

test.skipIf(process.getuid?.() !== 0)(
  'a node whose disk filled up catches up once there is room again',
  { timeout: 180_000 },
  async () => {
    const disk = await makeTempDir('mosaic-disk-full-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', disk]);
    mounts.push(disk);
    const key = newClusterKey();
    const [portA, portB] = [await freePort(), await freePort()];
    const common = ['--cluster-key', key, '--sync-interval-ms', '500', '--discovery', 'off'];
    const a = await startNode({
      args: [
        '--port',
        String(portA),
        '--name',
        'a',
        '--peer',
        `http://127.0.0.1:${portB}`,
        ...common,
      ],
    });
    const b = await startNode({
      dataDir: join(disk, 'b'),
      args: [
        '--port',
        String(portB),
        '--name',
        'b',
        '--peer',
        `http://127.0.0.1:${portA}`,
        ...common,
      ],
    });
    const clientA = api(a.url, await login(a.url, 'admin', ADMIN_PASSWORD));
    const clientB = api(b.url, await login(b.url, 'admin', ADMIN_PASSWORD));

    // About 3.6 MB each: more than B's disk holds.
    const uploaded = new Map<string, Buffer>();
    for (let i = 0; i < PICTURES; i++) {
      const file = await makeImage({ width: 1100, height: 1100, format: 'png', seed: 7000 + i });
      const res = await clientA.upload<Picture>({ file, fields: { title: `picture ${i}` } });
      expect(res.status).toBe(201);
      uploaded.set(res.body.id, file);
    }
    const noSpace = (line: Record<string, unknown>): boolean =>
      /no space left|ENOSPC/i.test(JSON.stringify(line));
    await b.waitForLog(noSpace, 60_000);
    // And not a byte left for its database either.
    await fillUp(join(disk, 'filler'));
    // Edited on A meanwhile: B cannot take the operations in.
    for (const id of uploaded.keys()) {
      const res = await clientA.patch<Picture>(`/api/pictures/${id}`, { title: `edited ${id}` });
      expect(res.status).toBe(200);
    }
    // B keeps answering, and says why its exchanges with A fail: its disk, not a failed
    // rollback; and A, which answers all along, stays up (not down and up at each retry).
    await waitFor(
      async () => {
        const res = await clientB.get<{ peers: { state: string; error: string | null }[] }>(
          '/api/cluster',
        );
        const peer = res.body.peers[0];
        return res.status === 200 && peer?.state === 'up' && /disk is full/.test(peer.error ?? '');
      },
      { timeoutMs: 30_000, intervalMs: 100, what: "B's link to A: up, its error B's full disk" },
    );
    // A's pushes are refused by B (507): A's link to B stays up too, with B's answer as its
    // error, and A does not log B down and up again at each retry.
    await waitFor(
      async () => {
        const res = await clientA.get<{ peers: { state: string; error: string | null }[] }>(
          '/api/cluster',
        );
        const peer = res.body.peers[0];
        return res.status === 200 && peer?.state === 'up' && /answered 507/.test(peer.error ?? '');
      },
      { timeoutMs: 30_000, intervalMs: 100, what: "A's link to B: up, its error B's 507" },
    );
    expect(a.logs.filter((line) => line.msg === 'peer down')).toEqual([]);

    execFileSync('mount', ['-o', 'remount,size=200m', disk]);
    await waitFor(
      async () => {
        const res = await clientB.get<PictureList>('/api/pictures?limit=50');
        return (
          res.status === 200 &&
          res.body.items.length === PICTURES &&
          res.body.items.every((p) => p.title === `edited ${p.id}`)
        );
      },
      { timeoutMs: 120_000, intervalMs: 250, what: 'B to hold every picture, edited' },
    );
    for (const [id, bytes] of uploaded) {
      const res = await clientB.fetch(`/api/pictures/${id}/file`);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    }
  },
);

/** Writes zeros at `file` until the file system has no room left. */
async function fillUp(file: string): Promise<void> {
  const handle = await open(file, 'w');
  const chunk = Buffer.alloc(1024 * 1024);
  try {
    for (;;) await handle.write(chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await handle.close();
  }
}
