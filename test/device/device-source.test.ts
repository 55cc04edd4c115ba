/**
 * The device as the last holder of a content: a laptop moves a.txt into sub/ while the node
 * still has a.txt, so it uploads nothing (the node holds that content), and the node's user
 * deletes a.txt before the node applied the move. No node has the content any more, and nodes
 * cannot fetch from a device: before, the moved file was needed at every node for good while
 * the laptop held it (fault tier, seed 838184227). The node now names the contents it could
 * not get (GET /api/folders/:folder/wanted) and the device uploads those it holds.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markerPath } from '../../src/folders/marker.js';
import {
  ADMIN_PASSWORD,
  cleanup,
  makeTempDir,
  startNode,
  waitFor,
  type NodeProcess,
} from '../helpers/node-process.js';
import { createToken, startSync, syncOnce } from '../helpers/device-process.js';

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
    const marker = markerPath(root);
    await rename(marker, `${marker}.away`);
    await mkdir(join(dev, 'sub'));
    await rename(join(dev, 'a.txt'), join(dev, 'sub', 'b.txt'));
    const moved = await syncOnce(dev, node.url, args);
    expect(moved.code).toBe(0);

    // The node's user deletes a.txt; the folder is back. No peer can bring sub/b.txt: the
    // laptop, syncing on, uploads it when the node asks for it.
    await rm(join(root, 'a.txt'));
    await rename(`${marker}.away`, marker);
    const laptop = startSync(dev, node.url, [...args, '--interval', '1']);
    try {
      await writeFile(join(dev, 'c.txt'), 'next\n');
      await waitFor(
        async () => (await readFile(join(root, 'sub', 'b.txt'), 'utf8').catch(() => '')) === text,
        { timeoutMs: 30_000, what: 'sub/b.txt at the node' },
      );
      expect(laptop.logs.some((l) => l.msg === 'uploading contents the node asks for')).toBe(true);
    } finally {
      await laptop.kill();
    }
    expect(await readFile(join(root, 'c.txt'), 'utf8')).toBe('next\n');
    await waitFor(async () => (await folderAtNode())?.needFiles === 0, {
      timeoutMs: 10_000,
      what: 'the node to need nothing',
    });
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
