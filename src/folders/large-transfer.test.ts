import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashFile, type BlockList } from './blocks.js';
import { fetchLarge, type RangeSource, type WantedFile } from './large-transfer.js';

const BLOCK = 128 * 1024;
const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** A peer holding `content`, serving byte ranges like the HTTP route, recording what it sent. */
function peerWith(
  content: Buffer,
  list: BlockList | null,
): RangeSource & { served: [number, number][] } {
  const served: [number, number][] = [];
  return {
    baseUrl: 'test://peer',
    served,
    async folderBlocks(_folder, hash) {
      return hash === sha(content) ? list : null;
    },
    async folderContent(_folder, hash, start, end) {
      if (hash !== sha(content)) return null;
      const last = Math.min(end ?? content.length - 1, content.length - 1);
      served.push([start, last + 1]);
      return { body: Readable.from([content.subarray(start, last + 1)]), start };
    },
  };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-large-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What a peer holding `content` would answer: the wanted file and its block list. */
async function indexed(content: Buffer): Promise<{ wanted: WantedFile; list: BlockList }> {
  const file = join(dir, 'source');
  await writeFile(file, content);
  const hashed = await hashFile(file, { blockSize: BLOCK });
  return {
    wanted: { folder: 'f', hash: hashed.hash, size: content.length },
    list: { blockSize: hashed.blockSize, blocks: hashed.blocks },
  };
}

describe('fetchLarge', () => {
  it('writes a large suffix that arrives in small chunks, flushed along the way, intact', async () => {
    // Past one flush during the transfer (every 64 MiB), not a whole number of 1 MiB writes.
    const content = randomBytes(67 * 1024 * 1024 + 5);
    const wanted = { folder: 'f', hash: sha(content), size: content.length };
    const chunks = Array.from({ length: Math.ceil(content.length / 65536) }, (_, i) =>
      content.subarray(i * 65536, (i + 1) * 65536),
    );
    const peer: RangeSource = {
      baseUrl: 'test://peer',
      folderBlocks: async () => null,
      folderContent: async () => ({ body: Readable.from(chunks), start: 0 }),
    };
    const tmp = join(dir, 'tmp');
    const result = await fetchLarge(peer, wanted, tmp, null);
    expect(result.done).toBe(true);
    expect((await readFile(tmp)).equals(content)).toBe(true);
  });

  it('fetches a whole file when nothing is here, hashing it as it arrives', async () => {
    const content = randomBytes(5 * BLOCK + 77);
    const { wanted, list } = await indexed(content);
    const peer = peerWith(content, list);
    const tmp = join(dir, 'tmp');
    const result = await fetchLarge(peer, wanted, tmp, null);
    expect(result).toEqual({
      done: true,
      lacked: false,
      fetchedBytes: content.length,
      firstFetchedAt: 0,
    });
    expect((await readFile(tmp)).equals(content)).toBe(true);
  });

  it('fetches only the changed blocks of a file whose older version is here', async () => {
    const older = randomBytes(10 * BLOCK);
    const newer = Buffer.from(older);
    randomBytes(10).copy(newer, 3 * BLOCK + 5); // block 3
    randomBytes(10).copy(newer, 4 * BLOCK + 5); // block 4
    randomBytes(10).copy(newer, 8 * BLOCK); // block 8
    const grown = Buffer.concat([newer, randomBytes(1000)]); // and a new last block
    const seed = join(dir, 'older');
    await writeFile(seed, older);
    const { wanted, list } = await indexed(grown);
    const peer = peerWith(grown, list);
    const tmp = join(dir, 'tmp');
    const result = await fetchLarge(peer, wanted, tmp, seed);
    expect(result.done).toBe(true);
    expect(peer.served).toEqual([
      [3 * BLOCK, 5 * BLOCK],
      [8 * BLOCK, 9 * BLOCK],
      [10 * BLOCK, 10 * BLOCK + 1000],
    ]);
    expect(result.fetchedBytes).toBe(3 * BLOCK + 1000);
    expect((await readFile(tmp)).equals(grown)).toBe(true);
  });

  it('resumes a temp file left by an interrupted attempt from its last whole block', async () => {
    const content = randomBytes(6 * BLOCK);
    const tmp = join(dir, 'tmp');
    await writeFile(tmp, content.subarray(0, 2 * BLOCK + 100));
    const { wanted, list } = await indexed(content);
    const peer = peerWith(content, list);
    // The temp file as the transfer starts: still the prefix, not a file of the full size with
    // holes (whose size would no longer say how much arrived, and whose holes were hashed).
    const sizes: number[] = [];
    const watched: RangeSource = {
      ...peer,
      async folderContent(...args) {
        sizes.push((await stat(tmp)).size);
        return peer.folderContent(...args);
      },
    };
    const result = await fetchLarge(watched, wanted, tmp, null);
    expect(sizes).toEqual([2 * BLOCK + 100]);
    expect(result).toMatchObject({ done: true, firstFetchedAt: 2 * BLOCK });
    expect(peer.served).toEqual([[2 * BLOCK, 6 * BLOCK]]);
    expect((await readFile(tmp)).equals(content)).toBe(true);
  });

  it('resumes byte for byte when the peer has no block list for that content', async () => {
    const content = randomBytes(3 * BLOCK);
    const tmp = join(dir, 'tmp');
    await writeFile(tmp, content.subarray(0, 1000));
    const { wanted } = await indexed(content);
    const peer = peerWith(content, null);
    const result = await fetchLarge(peer, wanted, tmp, null);
    expect(result).toMatchObject({ done: true, firstFetchedAt: 1000 });
    expect((await readFile(tmp)).equals(content)).toBe(true);
  });

  it('says not done when the peer sends other bytes than the hash promises', async () => {
    const content = randomBytes(3 * BLOCK);
    const { wanted } = await indexed(content);
    const liar: RangeSource = {
      baseUrl: 'test://liar',
      async folderBlocks() {
        return null;
      },
      async folderContent(_f, _h, start) {
        return { body: Readable.from([randomBytes(content.length - start)]), start };
      },
    };
    const result = await fetchLarge(liar, wanted, join(dir, 'tmp'), null);
    expect(result).toMatchObject({ done: false, lacked: false });
  });

  it('says when the peer lacks the file (which is not a failure)', async () => {
    const { wanted } = await indexed(randomBytes(2 * BLOCK));
    const without: RangeSource = {
      baseUrl: 'test://without',
      folderBlocks: async () => null,
      folderContent: async () => null,
    };
    const result = await fetchLarge(without, wanted, join(dir, 'tmp'), null);
    expect(result).toMatchObject({ done: false, lacked: true, fetchedBytes: 0 });
  });
});
