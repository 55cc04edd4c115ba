/**
 * Chooses the blob store adapter once, for the composition root: local files under the data
 * directory (the default) or an S3 bucket (`--blobs s3://…`). A node has two stores: the
 * pictures (whose named-object area holds the thumbnails) and the group-event photos. The S3
 * adapter (and the AWS SDK, ~38 MB RSS once loaded) is loaded only for an S3 store.
 */
import { join } from 'node:path';
import { parseBlobsUrl } from '../config/blobs-url.js';
import type { BlobStore } from './blob-store.js';
import { LocalBlobStore } from './local-blob-store.js';

export interface BlobStores {
  readonly pictures: BlobStore;
  readonly eventPhotos: BlobStore;
  close(): Promise<void>;
}

export async function openBlobStores(
  config: { readonly dataDir: string; readonly blobs?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): Promise<BlobStores> {
  const where = parseBlobsUrl(config.blobs, env);
  let pictures: BlobStore;
  let eventPhotos: BlobStore;
  if (where.kind === 'local') {
    pictures = new LocalBlobStore(config.dataDir, { namedDir: join(config.dataDir, 'thumbs') });
    eventPhotos = new LocalBlobStore(join(config.dataDir, 'events'));
  } else {
    const { S3BlobStore } = await import('./s3-blob-store.js');
    const shared = {
      bucket: where.bucket,
      region: where.region,
      timeoutMs: where.timeoutMs,
      ...(where.endpoint === undefined ? {} : { endpoint: where.endpoint }),
      ...(where.credentials === undefined ? {} : { credentials: where.credentials }),
    };
    pictures = new S3BlobStore({
      ...shared,
      prefix: where.prefix,
      scratchDir: join(config.dataDir, 's3-scratch', 'pictures'),
    });
    eventPhotos = new S3BlobStore({
      ...shared,
      prefix: `${where.prefix}events/`,
      scratchDir: join(config.dataDir, 's3-scratch', 'events'),
    });
  }
  await pictures.init();
  await eventPhotos.init();
  return {
    pictures,
    eventPhotos,
    async close() {
      await Promise.all([pictures.close(), eventPhotos.close()]);
    },
  };
}
