/**
 * The blob store contract against the S3 adapter on a real S3 server: OpenStack Swift with
 * s3api (test/helpers/swift.ts). Fails, never skips, when Swift is not installed.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { blobStoreContract } from '../../src/blobs/blob-store.contract.js';
import type { BlobStore } from '../../src/blobs/blob-store.js';
import { S3BlobStore } from '../../src/blobs/s3-blob-store.js';
import { makeTempDir } from '../helpers/node-process.js';
import { startSwift, type SwiftServer } from '../helpers/swift.js';

let running: SwiftServer | undefined;
beforeAll(async () => {
  running = await startSwift();
});
afterAll(async () => {
  await running?.stop();
});

const PART = 5 * 1024 * 1024;

blobStoreContract(
  'S3 (OpenStack Swift s3api)',
  async () => {
    const scratch = await makeTempDir('mosaic-s3-scratch-');
    // One bucket per run; a key prefix per test, so tests do not see each other's trash.
    const prefix = `t-${randomUUID()}/`;
    const swift = running;
    if (!swift) throw new Error('Swift did not start');
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
