/**
 * A node that disappears (SIGKILL) in the middle of a 200 MB device transfer, in each direction:
 * nothing partial is ever visible in either folder, the `mosaic sync --once` that was running
 * fails, and the next run resumes from the bytes already there (not from zero). Transfers are
 * slowed with MOSAIC_FAULTS so that the kill lands mid-way.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { open, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_PASSWORD,
  cleanup,
  makeTempDir,
  startNode,
  waitFor,
  type NodeProcess,
} from '../helpers/node-process.js';
import { createToken, startSync, syncOnce } from '../helpers/device-process.js';

const SIZE = 200 * 1024 * 1024;

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) hash.update(chunk);
  });
  return hash.digest('hex');
}

async function sizeOf(file: string): Promise<number> {
  return (await stat(file).catch(() => null))?.size ?? 0;
}

let node: NodeProcess;
let root: string;
let faults: string;
let token: string;

beforeAll(async () => {
  const data = await makeTempDir('mosaic-devres-node-');
  root = join(data, 'big');
  faults = join(data, 'faults.json');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(root);
  node = await startNode({
    dataDir: join(data, 'node'),
    args: ['--folder', `big=${root}`],
    env: { MOSAIC_FAULTS: `@${faults}` },
  });
  token = await createToken(node.url, 'admin', ADMIN_PASSWORD);
});
afterAll(cleanup);

describe('a node killed mid-transfer of a 200 MB file', () => {
  let hash: string;

  it('upload: the next run resumes, and the file arrives intact', async () => {
    const dev = await makeTempDir('mosaic-devres-up-');
    const source = join(dev, 'big.bin');
    {
      const handle = await open(source, 'w');
      const chunk = randomBytes(8 * 1024 * 1024);
      for (let written = 0; written < SIZE; written += chunk.length) await handle.write(chunk);
      await handle.close();
    }
    hash = await sha256(source);
    // ~20 MB/s into the node: the upload takes about 10 s.
    await writeFile(faults, JSON.stringify({ throttleUploadKBps: 20_000 }));
    const first = startSync(dev, node.url, ['--once', '--token', token, '--folder', 'big']);
    const part = join(root, '.mosaic', 'uploads', `${hash}.part`);
    await waitFor(async () => (await sizeOf(part)) > 30e6, {
      timeoutMs: 60_000,
      what: 'the node to have received 30 MB',
    });
    await node.kill();
    const kept = await sizeOf(part);
    expect(kept).toBeGreaterThan(30e6);
    expect(kept).toBeLessThan(SIZE);
    // The running sync gives up with an error code; nothing partial in the node's folder.
    expect(await first.exited).toBe(1);
    expect((await readdir(root)).filter((n) => n !== '.mosaic')).toEqual([]);

    await writeFile(faults, '{}');
    await node.restart();
    const second = await syncOnce(dev, node.url, ['--token', token, '--folder', 'big']);
    expect(second.code, second.stderr).toBe(0);
    const resumed = second.logs.find((l) => l.msg === 'upload resumed and done');
    expect(Number(resumed?.['resumedAt'])).toBeGreaterThanOrEqual(kept);
    const target = join(root, 'big.bin');
    await waitFor(() => existsSync(target), { timeoutMs: 60_000, what: 'big.bin at the node' });
    expect(await sha256(target)).toBe(hash);
    expect(existsSync(part)).toBe(false);
  });

  it('download: no partial file on the device, and the next run resumes', async () => {
    const dev = await makeTempDir('mosaic-devres-down-');
    await writeFile(faults, JSON.stringify({ throttleBlobKBps: 20_000 }));
    const first = startSync(dev, node.url, ['--once', '--token', token, '--folder', 'big']);
    const part = join(dev, '.mosaic', 'tmp', `${hash}.part`);
    await waitFor(async () => (await sizeOf(part)) > 30e6, {
      timeoutMs: 60_000,
      what: 'the device to have received 30 MB',
    });
    await node.kill();
    const kept = await sizeOf(part);
    expect(kept).toBeLessThan(SIZE);
    expect(await first.exited).not.toBe(0);
    expect((await readdir(dev)).filter((n) => n !== '.mosaic')).toEqual([]);

    await writeFile(faults, '{}');
    await node.restart();
    const second = await syncOnce(dev, node.url, ['--token', token, '--folder', 'big']);
    expect(second.code, second.stderr).toBe(0);
    const resumed = second.logs.find((l) => l.msg === 'folder fetch resumed and done');
    expect(Number(resumed?.['resumedAt'])).toBeGreaterThan(30e6);
    expect(await sha256(join(dev, 'big.bin'))).toBe(hash);
  });
});
