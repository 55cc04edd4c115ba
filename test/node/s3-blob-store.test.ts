/**
 * The S3 blob store adapter on a real S3 server, OpenStack Swift with s3api
 * (test/helpers/swift.ts): the blob store contract, processes opening one new bucket at once,
 * the requests an upload and a read send, the local cache, and a store that cannot be reached.
 * Nodes on --blobs s3://…: s3-node.test.ts. Fails, never skips, when Swift is not installed.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { blobStoreContract } from '../../src/blobs/blob-store.contract.js';
import type { BlobStore } from '../../src/blobs/blob-store.js';
import { S3BlobStore } from '../../src/blobs/s3-blob-store.js';
import { NotFoundError } from '../../src/core/errors.js';
import { filesUnder, makeTempDir, waitFor } from '../helpers/node-process.js';
import { freePort } from '../helpers/cluster.js';
import { useSwift } from '../helpers/use-swift.js';

const swiftServer = useSwift();

const PART = 5 * 1024 * 1024;

blobStoreContract(
  'S3 (OpenStack Swift s3api)',
  async () => {
    const scratch = await makeTempDir('mosaic-s3-scratch-');
    // One bucket per run; a key prefix per test, so tests do not see each other's trash.
    const prefix = `t-${randomUUID()}/`;
    const swift = swiftServer();
    const make = async (): Promise<BlobStore> => {
      const store = new S3BlobStore({
        bucket: 'mosaic-test',
        prefix,
        endpoint: swift.endpoint,
        region: swift.region,
        credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
        scratchDir: join(scratch, 'scratch'),
        partSize: PART,
      });
      await store.init();
      return store;
    };
    const first = await make();
    const opened = [first];
    return {
      store: first,
      async reopen() {
        const again = await make();
        opened.push(again);
        return again;
      },
      async cleanup() {
        await Promise.all(opened.map((s) => s.close()));
        await rm(scratch, { recursive: true, force: true });
      },
    };
  },
  // Above the part size: a multipart upload, which Swift keeps as a static large object (slo).
  { largeBytes: 2 * PART + 123_457 },
);

test('processes of one site starting at once on a new bucket all open it', async () => {
  const swift = swiftServer();
  const scratch = await makeTempDir('mosaic-s3-scratch-');
  const bucket = `site-${randomUUID().slice(0, 8)}`;
  const stores = Array.from(
    { length: 3 },
    (_, i) =>
      new S3BlobStore({
        bucket,
        prefix: '',
        endpoint: swift.endpoint,
        region: swift.region,
        credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
        scratchDir: join(scratch, `p${i}`),
      }),
  );
  try {
    // Each sees no bucket and creates it; all but one are told it exists already (409).
    await Promise.all(stores.map((s) => s.init()));
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    await rm(scratch, { recursive: true, force: true });
  }
});

/** A store on a fresh bucket, with every S3 command it sends counted by name. */
async function countedStore(): Promise<{
  store: S3BlobStore;
  scratch: string;
  sent: string[];
  done: () => Promise<void>;
}> {
  const swift = swiftServer();
  const scratch = await makeTempDir('mosaic-s3-scratch-');
  const store = new S3BlobStore({
    bucket: `count-${randomUUID().slice(0, 8)}`,
    endpoint: swift.endpoint,
    region: swift.region,
    credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
    scratchDir: join(scratch, 'scratch'),
    partSize: PART,
  });
  await store.init();
  const sent: string[] = [];
  store.client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return {
    store,
    scratch,
    sent,
    done: async () => {
      await store.close();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

/**
 * `bytes` in the store as another process of the site would leave them: stored, with no copy in
 * this store's cache (the trash drops it, the restore does not bring it back). Returns the hash.
 */
async function storedWithoutCopy(store: S3BlobStore, bytes: Buffer): Promise<string> {
  const staged = await store.stage(Readable.from([bytes]), 1_000_000);
  await store.commit(staged);
  await store.trash(staged.hash);
  await store.restore(staged.hash);
  return staged.hash;
}

test('an upload that fits one PUT is one request: no HEAD first, no scratch file', async () => {
  const { store, scratch, sent, done } = await countedStore();
  try {
    const bytes = randomBytes(300_000);
    const staged = await store.stage(Readable.from([bytes]), 1_000_000);
    expect(await filesUnder(join(scratch, 'scratch', 'tmp'))).toEqual([]);
    await store.commit(staged);
    expect(sent).toEqual(['PutObjectCommand']);
    expect((await buffer(await store.read(staged.hash))).equals(bytes)).toBe(true);
  } finally {
    await done();
  }
});

test('the store checks the bytes of a PUT against their SHA-256: a wrong name is refused', async () => {
  const { store, done } = await countedStore();
  try {
    const bytes = randomBytes(50_000);
    const staged = await store.stage(Readable.from([bytes]), 1_000_000);
    const wrong = createHash('sha256').update('other bytes').digest('hex');
    await expect(store.commit({ ...staged, hash: wrong })).rejects.toMatchObject({
      name: 'BadDigest',
    });
    expect(await store.has(wrong)).toBe(false);
  } finally {
    await done();
  }
});

test('a blob uploaded or read whole is then read from the local cache: no request, ranges too; trash drops it', async () => {
  const { store, sent, done } = await countedStore();
  try {
    const bytes = randomBytes(200_000);
    const staged = await store.stage(Readable.from([bytes]), 1_000_000);
    await store.commit(staged);
    sent.length = 0;
    // Kept since the upload (its bytes were hashed on the way in).
    expect((await buffer(await store.read(staged.hash))).equals(bytes)).toBe(true);
    expect(sent).toEqual([]);
    // A blob this store did not write: the first whole read GETs it and keeps it.
    const other = randomBytes(150_000);
    const otherHash = await storedWithoutCopy(store, other);
    sent.length = 0;
    expect((await buffer(await store.read(otherHash))).equals(other)).toBe(true);
    expect(sent).toEqual(['GetObjectCommand']);
    // The copy is kept once the read has ended (renamed in after the last byte).
    await waitFor(async () => {
      sent.length = 0;
      const again = await buffer(await store.read(otherHash));
      return again.equals(other) && sent.length === 0;
    });
    const range = await buffer(await store.read(staged.hash, { start: 1000, end: 1999 }));
    expect(range.equals(bytes.subarray(1000, 2000))).toBe(true);
    expect(sent).toEqual([]);
    await store.trash(staged.hash);
    await expect(store.read(staged.hash)).rejects.toBeInstanceOf(NotFoundError);
  } finally {
    await done();
  }
});

test('a whole read for a peer is one GET, none once cached (too long or not), one for a missing blob', async () => {
  const { store, sent, done } = await countedStore();
  try {
    const bytes = randomBytes(120_000);
    const hash = await storedWithoutCopy(store, bytes);
    sent.length = 0;
    expect((await store.readWhole(hash, 1_000_000))?.equals(bytes)).toBe(true);
    // No HEAD for its size first: the GET's length says whether it fits.
    expect(sent).toEqual(['GetObjectCommand']);
    // Kept on the way: the next whole read makes no request.
    await waitFor(async () => {
      sent.length = 0;
      const again = await store.readWhole(hash, 1_000_000);
      return again?.equals(bytes) === true && sent.length === 0;
    });
    // Too long for the caller (answered from the cache): nothing, and no request.
    expect(await store.readWhole(hash, bytes.length - 1)).toBeNull();
    expect(sent).toEqual([]);
    const missing = createHash('sha256').update('never stored').digest('hex');
    expect(await store.readWhole(missing, 1_000_000)).toBeNull();
    expect(sent).toEqual(['GetObjectCommand']);
  } finally {
    await done();
  }
});

test('a store that cannot be reached is refused at start with a message that says which', async () => {
  const scratch = await makeTempDir('mosaic-s3-scratch-');
  const store = new S3BlobStore({
    bucket: 'mosaic-test',
    endpoint: `http://127.0.0.1:${await freePort()}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    scratchDir: scratch,
  });
  try {
    await expect(store.init()).rejects.toThrow(
      /The blob store \(bucket "mosaic-test" at http:\/\/127\.0\.0\.1:\d+\) cannot be used/,
    );
  } finally {
    await store.close();
  }
});

test('credentials the store refuses are said to be the cause, not "UnknownError"', async () => {
  const swift = swiftServer();
  const scratch = await makeTempDir('mosaic-s3-scratch-');
  const store = new S3BlobStore({
    bucket: 'mosaic-test',
    endpoint: swift.endpoint,
    region: swift.region,
    credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: 'not-the-secret' },
    scratchDir: scratch,
  });
  try {
    await expect(store.init()).rejects.toThrow(
      `The blob store (bucket "mosaic-test" at ${swift.endpoint}) cannot be used: the store ` +
        'refuses these credentials (HTTP 403): check the access key and secret (KEY:SECRET@ in ' +
        'the URL, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and that they may use this bucket',
    );
  } finally {
    await store.close();
  }
});
