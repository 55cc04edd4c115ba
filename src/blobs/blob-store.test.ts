import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PayloadTooLargeError } from '../core/errors.js';
import { BlobStore } from './blob-store.js';

let root: string;
let store: BlobStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'mosaic-blobs-'));
  store = new BlobStore(root);
  await store.init();
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function chunks(total: number, chunk = 64 * 1024): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(chunk, total - sent);
      this.push(Buffer.alloc(n, sent % 251));
      sent += n;
    },
  });
}

describe('blob store', () => {
  it('names a blob by the SHA-256 of its bytes and stores the same bytes once', async () => {
    const bytes = Buffer.from('hello mosaic');
    const a = await store.stage(Readable.from([bytes]), 1000);
    expect(a.hash).toBe(createHash('sha256').update(bytes).digest('hex'));
    await store.commit(a);
    const b = await store.stage(Readable.from([bytes]), 1000);
    await store.commit(b);
    expect(await readFile(store.path(a.hash))).toEqual(bytes);
    expect(await readdir(store.tmpDir)).toEqual([]);
  });

  it('stops at the limit and leaves no temp file', async () => {
    await expect(store.stage(chunks(300_000), 100_000)).rejects.toBeInstanceOf(
      PayloadTooLargeError,
    );
    expect(await readdir(store.tmpDir)).toEqual([]);
  });

  it('removes temp files left by a crash when it starts', async () => {
    const staged = await store.stage(chunks(1000), 10_000);
    await new BlobStore(root).init();
    expect(await readdir(store.tmpDir)).toEqual([]);
    expect(await store.has(staged.hash)).toBe(false);
  });

  it('moves deleted bytes to the trash, restores them, and sweeps them after the retention', async () => {
    const staged = await store.stage(chunks(1000), 10_000);
    await store.commit(staged);
    await store.trash(staged.hash);
    expect(await store.has(staged.hash)).toBe(false);
    expect(await store.restore(staged.hash)).toBe(true);
    expect(await store.has(staged.hash)).toBe(true);
    await store.trash(staged.hash);
    const now = Date.now();
    expect(await store.sweepTrash(3600_000, now)).toEqual([]);
    const old = new Date(now - 2 * 3600_000);
    await utimes(join(store.trashDir, staged.hash), old, old);
    expect(await store.sweepTrash(3600_000, now)).toEqual([staged.hash]);
    expect(await store.restore(staged.hash)).toBe(false);
  });

  it('refuses names that are not SHA-256 digests', () => {
    expect(() => store.path('../../etc/passwd')).toThrow();
    expect(() => store.path('A'.repeat(64))).toThrow();
  });
});
