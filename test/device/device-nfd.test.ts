/**
 * Names in another Unicode form than NFC (NFD: what macOS's HFS+ and archives made there hand
 * out) on a Linux laptop sync. The index keeps paths in NFC, and only the scan went by the name
 * on disk: the content of an NFD `café.txt` could not be read for the node ("file changed since
 * it was indexed", again and again), a version written at the node was never placed beside it,
 * and the folder never got in sync (found by hand). The scan now renames such a name to its NFC
 * form (src/folders/scan-list.ts `toNfc`).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_PASSWORD,
  cleanup,
  makeTempDir,
  startNode,
  type NodeProcess,
} from '../helpers/node-process.js';
import {
  converged,
  createToken,
  sha,
  startSync,
  type SyncProcess,
} from '../helpers/device-process.js';

let node: NodeProcess;
let root: string;
let laptop: string;
let sync: SyncProcess;

beforeAll(async () => {
  root = join(await makeTempDir('mosaic-devnfd-node-'), 'docs');
  await mkdir(root);
  node = await startNode({ args: ['--folder', `docs=${root}`, '--sync-interval-ms', '300'] });
  laptop = await makeTempDir('mosaic-devnfd-laptop-');
  const token = await createToken(node.url, 'admin', ADMIN_PASSWORD);
  sync = startSync(laptop, node.url, ['--token', token, '--folder', 'docs', '--interval', '2']);
});

afterAll(async () => {
  await sync.kill();
  await cleanup();
});

describe('a name in NFD made on a laptop', () => {
  it('reaches the node under its NFC name, and edits there come back', async () => {
    const file = 'café.txt'.normalize('NFC');
    const dir = 'Résumés'.normalize('NFC');
    expect(file.normalize('NFD')).not.toBe(file);
    await writeFile(join(laptop, file.normalize('NFD')), 'written on the laptop\n');
    await mkdir(join(laptop, dir.normalize('NFD')));
    await writeFile(join(laptop, dir.normalize('NFD'), 'cv.txt'), 'cv\n');

    await converged(
      [root, laptop],
      (t) =>
        t.get(file) === sha('written on the laptop\n') && t.get(`${dir}/cv.txt`) === sha('cv\n'),
    );
    expect((await readdir(laptop)).filter((n) => n !== n.normalize('NFC'))).toEqual([]);

    await writeFile(join(root, file), 'edited at the node\n');
    const t = await converged([root, laptop], (t) => t.get(file) === sha('edited at the node\n'));
    expect([...t.keys()].filter((p) => p.includes('sync-conflict'))).toEqual([]);
  });
});
