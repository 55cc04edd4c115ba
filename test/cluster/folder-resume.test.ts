/**
 * A large folder file whose receiver is killed mid-transfer: after the restart the transfer
 * resumes from what the temp file holds (not from zero), and at no moment does the folder show
 * a partial file. A later small edit of that file transfers only the changed blocks. Two real node processes; the sender's link is slowed by MOSAIC_FAULTS so that
 * the kill lands mid-transfer.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, setFaults, type ClusterNode } from '../helpers/cluster.js';
import { cleanup, makeTempDir, waitFor } from '../helpers/node-process.js';

const SIZE = 200 * 1024 * 1024;

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) hash.update(chunk);
  });
  return hash.digest('hex');
}

async function metric(node: ClusterNode, name: string): Promise<number> {
  const text = await (await (await node.api()).fetch('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
  return Number(line?.split(' ').at(-1) ?? Number.NaN);
}

let cluster: TestCluster;
let roots: string[];

beforeAll(async () => {
  roots = [await makeTempDir('mosaic-f1-'), await makeTempDir('mosaic-f2-')];
  cluster = new TestCluster({ folders: roots.map((r) => `big=${r}`) });
  await cluster.startAll(2);
});
afterAll(cleanup);

describe('a large folder transfer interrupted by SIGKILL', () => {
  it('resumes after the restart; no partial file is ever visible in the folder', async () => {
    const [n1, n2] = cluster.nodes as [ClusterNode, ClusterNode];
    const [r1, r2] = roots as [string, string];
    // ~20 MB/s from n1: the 200 MB transfer takes about 10 s.
    await setFaults(n1, { throttleBlobKBps: 20_000 });
    const source = join(r1, 'big.bin');
    {
      const handle = await open(source, 'w');
      const chunk = randomBytes(8 * 1024 * 1024);
      for (let written = 0; written < SIZE; written += chunk.length) await handle.write(chunk);
      await handle.close();
    }
    const hash = await sha256(source);
    const partial = join(r2, '.mosaic', 'tmp', `${hash}.part`);
    const target = join(r2, 'big.bin');

    await waitFor(async () => ((await stat(partial).catch(() => null))?.size ?? 0) > 30e6, {
      timeoutMs: 90_000,
      what: 'n2 to have received 30 MB of the file',
    });
    expect(existsSync(target)).toBe(false);
    await n2.node.kill();
    const kept = (await stat(partial)).size;
    expect(kept).toBeGreaterThan(30e6);
    expect(kept).toBeLessThan(SIZE);
    // Nothing but the folder's own directory holds the partial bytes.
    expect((await readdir(r2)).filter((name) => name !== '.mosaic')).toEqual([]);

    await setFaults(n1, {});
    await n2.node.restart();
    await waitFor(async () => existsSync(target), { timeoutMs: 90_000, what: 'big.bin at n2' });
    expect((await stat(target)).size).toBe(SIZE);
    expect(await sha256(target)).toBe(hash);

    const resumed = n2.node.logs.find((l) => l.msg === 'folder fetch resumed and done');
    expect(resumed?.['resumedAt']).toBeGreaterThan(0);
    // Only what was missing came over the wire after the restart.
    expect(await metric(n2, 'mosaic_folder_fetched_bytes_total')).toBe(
      SIZE - Number(resumed?.['resumedAt']),
    );
    expect(existsSync(partial)).toBe(false);

    // A later edit of 1 MiB in the middle: only the changed blocks travel.
    const fetchedBefore = await metric(n2, 'mosaic_folder_fetched_bytes_total');
    {
      const handle = await open(source, 'r+');
      await handle.write(randomBytes(1024 * 1024), 0, 1024 * 1024, 100 * 1024 * 1024 + 12_345);
      await handle.close();
    }
    const edited = await sha256(source);
    await waitFor(async () => (await sha256(target).catch(() => '')) === edited, {
      timeoutMs: 90_000,
      what: 'the edit at n2',
    });
    const delta = (await metric(n2, 'mosaic_folder_fetched_bytes_total')) - fetchedBefore;
    // 1 MiB spans 9 blocks of 128 KiB (the block size of a 200 MB file).
    expect(delta).toBe(9 * 128 * 1024);
    // The old version went to the trash, as any replaced file does.
    expect(existsSync(join(r2, '.mosaic', 'trash'))).toBe(true);
  });
});
