/**
 * `mosaic node` stops cleanly (exit 0, after closing its stores) on SIGTERM at any moment after
 * it says "node listening", even while it still starts its background work (leases, folder
 * scans). A supervisor, a test or `mosaic cluster` stops a node as soon as it is listening.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { cleanup, makeTempDir, startNode } from '../helpers/node-process.js';

afterAll(cleanup);

test('SIGTERM right after "node listening", while a large folder is still scanned, exits 0', async () => {
  // Enough files that the folder's first scan is still running when the signal arrives.
  const folder = await makeTempDir('mosaic-stop-folder-');
  for (let d = 0; d < 20; d++) {
    const dir = join(folder, `d${d}`);
    await mkdir(dir);
    await Promise.all(
      Array.from({ length: 100 }, (_, f) => writeFile(join(dir, `f${f}.txt`), `${d}/${f}`)),
    );
  }
  for (let round = 0; round < 3; round++) {
    const node = await startNode({ args: ['--folder', `docs=${folder}`], backend: 'local' });
    expect(await node.stop()).toBe(0);
    expect(node.process.signalCode).toBeNull();
  }
});
