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
import { cleanup } from '../helpers/node-process.js';
import { converged, nodeAndLaptop, sha, type NodeAndLaptop } from '../helpers/device-process.js';

let pair: NodeAndLaptop;

beforeAll(async () => {
  pair = await nodeAndLaptop('mosaic-devnfd');
});

afterAll(async () => {
  await pair.sync.kill();
  await cleanup();
});

describe('a name in NFD made on a laptop', () => {
  it('reaches the node under its NFC name, and edits there come back', async () => {
    const { root, laptop } = pair;
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
