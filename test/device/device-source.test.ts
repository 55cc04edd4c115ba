/**
 * The device as the last holder of a content: a laptop moves a.txt into sub/ while the node
 * still has a.txt, so it uploads nothing (the node holds that content), and the node's user
 * deletes a.txt before the node applied the move. No node has the content any more, and nodes
 * cannot fetch from a device: before, the moved file was needed at every node for good while
 * the laptop held it (fault tier, seed 838184227). The node now names the contents it could
 * not get (GET /api/folders/:folder/wanted), its long-poll answer says when that list grew, and
 * the device uploads those it holds at once (not at its next push, up to an interval later).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceIdFor } from '../../src/devices/core/device-id.js';
import { markerPath } from '../../src/folders/marker.js';
import {
  ADMIN_PASSWORD,
  cleanup,
  makeTempDir,
  startNode,
  waitFor,
  type NodeProcess,
} from '../helpers/node-process.js';
import { createToken, startSync, syncOnce, type SyncProcess } from '../helpers/device-process.js';

interface FolderApi {
  id: string;
  needFiles: number;
  state: string;
}

let node: NodeProcess;
let root: string;
let token: string;

beforeAll(async () => {
  root = join(await makeTempDir('mosaic-devsrc-node-'), 'docs');
  await mkdir(root, { recursive: true });
  node = await startNode({ args: ['--folder', `docs=${root}`] });
  token = await createToken(node.url, 'admin', ADMIN_PASSWORD);
});
afterAll(cleanup);

async function folderAtNode(): Promise<FolderApi | undefined> {
  const res = await fetch(`${node.url}/api/folders`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return ((await res.json()) as FolderApi[]).find((f) => f.id === 'docs');
}

describe('a content only the device still holds', () => {
  it('is uploaded when the node asks for it, and the moved file arrives', async () => {
    const dev = await makeTempDir('mosaic-devsrc-dev-');
    const text = 'moved at the laptop, deleted at the server\n';
    await writeFile(join(dev, 'a.txt'), text);
    const args = ['--token', token, '--folder', 'docs'];
    expect((await syncOnce(dev, node.url, args)).code).toBe(0);
    await waitFor(
      async () => (await readFile(join(root, 'a.txt'), 'utf8').catch(() => '')) === text,
      {
        timeoutMs: 30_000,
        what: 'a.txt at the node',
      },
    );

    // The node's folder paused (its marker away): it takes the laptop's move, applies nothing.
    // The laptop syncs on, with an interval far longer than the test: only the node's answer
    // to its long poll can make it upload in time.
    const marker = markerPath(root);
    await rename(marker, `${marker}.away`);
    const laptop = startSync(dev, node.url, [...args, '--interval', '600']);
    let phone: SyncProcess | null = null;
    try {
      await mkdir(join(dev, 'sub'));
      await rename(join(dev, 'a.txt'), join(dev, 'sub', 'b.txt'));
      await waitFor(
        () =>
          laptop.logs.some(
            (l) => l.msg === 'synced' && ((l['sent'] as { ops: number } | undefined)?.ops ?? 0) > 0,
          ),
        { timeoutMs: 15_000, what: 'the laptop to send its move' },
      );

      // The node's user deletes a.txt; the folder is back (at the node's next rescan, or now:
      // when a phone sends a change). No peer can bring sub/b.txt: the node's pull stalls on
      // it, its long-poll answer tells the laptop, which uploads it.
      await rm(join(root, 'a.txt'));
      await rename(`${marker}.away`, marker);
      const phoneDir = await makeTempDir('mosaic-devsrc-phone-');
      await writeFile(join(phoneDir, 'd.txt'), 'from the phone\n');
      phone = startSync(phoneDir, node.url, args);
      await waitFor(
        async () => (await readFile(join(root, 'sub', 'b.txt'), 'utf8').catch(() => '')) === text,
        { timeoutMs: 20_000, what: 'sub/b.txt at the node' },
      );
      expect(laptop.logs.some((l) => l.msg === 'uploading contents the node asks for')).toBe(true);

      await writeFile(join(dev, 'c.txt'), 'next\n');
      await waitFor(
        async () => (await readFile(join(root, 'c.txt'), 'utf8').catch(() => '')) === 'next\n',
        { timeoutMs: 20_000, what: 'c.txt at the node' },
      );
    } finally {
      await laptop.kill();
      await phone?.kill();
    }
    await waitFor(async () => (await folderAtNode())?.needFiles === 0, {
      timeoutMs: 10_000,
      what: 'the node to need nothing',
    });
  });

  it('tags its long-poll answers only for a device that asks, and answers at once when the tag is new', async () => {
    const nonce = randomBytes(16).toString('hex');
    const deviceId = deviceIdFor('admin', nonce);
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const registered = await fetch(`${node.url}/api/folders/docs/devices`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ deviceId, name: 'tablet', nonce }),
    });
    expect(registered.status).toBe(200);
    const pull = async (body: Record<string, unknown>) => {
      const res = await fetch(`${node.url}/api/folders/docs/devices/${deviceId}/pull`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { cursor: Record<string, number>; wanted?: string };
    };
    // Caught up first; then an older device (no wantedSeen) never sees the field.
    let { cursor } = await pull({ cursor: {}, limit: 2000 });
    for (;;) {
      const page = (await pull({ cursor, limit: 2000 })) as {
        cursor: Record<string, number>;
        more?: boolean;
      };
      cursor = page.cursor;
      if (page.more !== true) break;
    }
    expect('wanted' in (await pull({ cursor, limit: 10 }))).toBe(false);
    // A device that has seen no tag yet is told the current one at once, not after waitMs.
    const started = Date.now();
    const first = await pull({ cursor, limit: 10, waitMs: 20_000, wantedSeen: '' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(first.wanted).toMatch(/^[0-9a-f]{8}\.\d+$/);
    // Asking with the tag it has just seen waits as usual (here: a short wait, no change).
    // Before, every long poll ended at once (the request's stream counts as destroyed once its
    // body is read, taken for the device hanging up): an idle laptop asked ~1000 times a second.
    const waitStarted = Date.now();
    const again = await pull({ cursor, limit: 10, waitMs: 1000, wantedSeen: first.wanted });
    expect(again.wanted).toBe(first.wanted);
    expect(Date.now() - waitStarted).toBeGreaterThanOrEqual(900);
    // A tag too long is bad input, not a 500.
    const bad = await fetch(`${node.url}/api/folders/docs/devices/${deviceId}/pull`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ cursor, limit: 10, wantedSeen: 'x'.repeat(65) }),
    });
    expect(bad.status).toBe(400);
  });

  it('an idle laptop waits on its long poll: a few requests, not a loop', async () => {
    const dev = await makeTempDir('mosaic-devsrc-idle-');
    const laptop = startSync(dev, node.url, ['--token', token, '--folder', 'docs']);
    try {
      await waitFor(() => laptop.logs.some((l) => l.msg === 'synced'), {
        timeoutMs: 20_000,
        what: 'the laptop to sync',
      });
      const from = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 3000)); // idle on purpose: no condition
      const pulls = node.logs.filter((l) => {
        const req = l['req'] as { url?: string } | undefined;
        return Number(l['time']) >= from && req?.url?.endsWith('/pull') === true;
      });
      expect(pulls.length).toBeLessThan(10);
    } finally {
      await laptop.kill();
    }
  });

  it('needs a login, and answers 404 for a folder the account cannot use', async () => {
    const anonymous = await fetch(`${node.url}/api/folders/docs/wanted`);
    expect(anonymous.status).toBe(401);
    const unknown = await fetch(`${node.url}/api/folders/nope/wanted`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});
