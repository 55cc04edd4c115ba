import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readStreamNoFollow, regularFileSize } from './read-no-follow.js';

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('reading a located folder file without following a link put there since', () => {
  let dir: string;
  const data = randomBytes(1000);
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mosaic-nofollow-'));
    await writeFile(join(dir, 'file'), data);
    await symlink(join(dir, 'file'), join(dir, 'link'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the size of a regular file only', async () => {
    expect(await regularFileSize(join(dir, 'file'))).toBe(1000);
    expect(await regularFileSize(join(dir, 'link'))).toBeNull();
    expect(await regularFileSize(join(dir, 'gone'))).toBeNull();
    expect(await regularFileSize(dir)).toBeNull();
  });

  it('streams a file or a range of it; a link or a missing file errors the stream', async () => {
    expect((await bytesOf(await readStreamNoFollow(join(dir, 'file'), null))).equals(data)).toBe(
      true,
    );
    const part = await bytesOf(await readStreamNoFollow(join(dir, 'file'), { start: 10, end: 19 }));
    expect(part.equals(data.subarray(10, 20))).toBe(true);
    await expect(bytesOf(await readStreamNoFollow(join(dir, 'link'), null))).rejects.toMatchObject({
      code: 'ELOOP',
    });
    await expect(bytesOf(await readStreamNoFollow(join(dir, 'gone'), null))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
