import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blobStoreContract } from './blob-store.contract.js';
import { LocalBlobStore } from './local-blob-store.js';

blobStoreContract(
  'local files',
  async () => {
    const root = await mkdtemp(join(tmpdir(), 'mosaic-blobs-'));
    const store = new LocalBlobStore(root);
    await store.init();
    return {
      store,
      async reopen() {
        const again = new LocalBlobStore(root);
        await again.init();
        return again;
      },
      async cleanup() {
        await rm(root, { recursive: true, force: true });
      },
    };
  },
  { largeBytes: 12 * 1024 * 1024 },
);

describe('local blob store layout', () => {
  let root: string;
  let store: LocalBlobStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'mosaic-blobs-'));
    store = new LocalBlobStore(root, { namedDir: join(root, 'thumbs') });
    await store.init();
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps <root>/blobs/ab/abcd…, leaves no temp file, and named objects in their directory', async () => {
    const bytes = Buffer.from('hello mosaic');
    const staged = await store.stage(Readable.from([bytes]), 1000);
    await store.commit(staged);
    const file = join(root, 'blobs', staged.hash.slice(0, 2), staged.hash);
    expect(await readFile(file)).toEqual(bytes);
    expect(await readdir(store.tmpDir)).toEqual([]);
    await store.putNamed('x.small.webp', Buffer.from('t'));
    expect(await readdir(join(root, 'thumbs'))).toEqual(['x.small.webp']);
  });

  it('restores and receives into prefix directories removed by hand after a restart', async () => {
    const bytes = Buffer.from('kept in the trash');
    const staged = await store.stage(Readable.from([bytes]), 1000);
    await store.commit(staged);
    await store.trash(staged.hash);
    const fetched = Buffer.from('fetched in a batch');
    const fetchedHash = createHash('sha256').update(fetched).digest('hex');
    await mkdir(join(root, 'blobs', fetchedHash.slice(0, 2)), { recursive: true });
    // A restart reads the prefix directories there are; then two of them are removed by hand.
    const again = new LocalBlobStore(root, { namedDir: join(root, 'thumbs') });
    await again.init();
    for (const hash of [staged.hash, fetchedHash]) {
      await rm(join(root, 'blobs', hash.slice(0, 2)), { recursive: true, force: true });
    }
    expect(await again.restore(staged.hash)).toBe(true);
    expect(await buffer(await again.read(staged.hash))).toEqual(bytes);
    const never = createHash('sha256').update('never stored').digest('hex');
    expect(await again.restore(never)).toBe(false);
    const batch = (async function* () {
      yield await Promise.resolve({ hash: fetchedHash, data: fetched });
    })();
    expect(await again.receiveMany(batch)).toEqual([fetchedHash]);
    expect(await buffer(await again.read(fetchedHash))).toEqual(fetched);
  });

  it('a failed upload leaves no temp file', async () => {
    await expect(store.stage(Readable.from([Buffer.alloc(2000)]), 1000)).rejects.toThrow();
    expect(await readdir(store.tmpDir)).toEqual([]);
  });
});
