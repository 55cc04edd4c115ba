/**
 * Where tus keeps uploads in progress, chosen with the blob store:
 *
 * - local blobs: files under `<data>/tus/` (@tus/file-store), the node's own disk, kept across
 *   restarts; one process, so tus's in-memory lock is enough.
 * - S3 blobs: the bucket itself (@tus/s3-store): an upload is an S3 multipart upload at the
 *   bucket's root under its id, `<id>.info` holds its metadata and `<id>.part` a tail shorter
 *   than a part (5 MiB). Every process of a site sees the same uploads, so a phone that lost
 *   the network resumes through whichever process the balancer picks. When the site shares its
 *   database (several processes), a lease per upload (tus-lock.ts) keeps two processes from
 *   writing one upload at once.
 *
 * Either way a finished upload is read once into the blob store (hashed on the way) and its
 * tus leftovers removed; unfinished ones go after `expiryMs`.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { DataStore, Locker } from '@tus/server';
import type { Logger } from 'pino';
import type { BlobsConfig } from '../config/blobs-url.js';
import type { Faults } from '../faults/faults.js';
import type { LeaseRepository } from '../storage/metadata/lease.repository.js';

export interface TusArea {
  readonly datastore: DataStore;
  /** Undefined: tus's own lock, for one process. */
  readonly locker: Locker | undefined;
  /**
   * The bytes of a finished upload; null when they are gone while its metadata is still there
   * (its removal, which deletes the bytes first, was cut short; or the store lost them in a
   * crash: a whole upload on S3 is one whose `.info` has no multipart upload left).
   */
  read(id: string): Promise<Readable | null>;
  /** Removes what is left of an upload, finished or not (idempotent). */
  remove(id: string): Promise<void>;
  /** Removes the uploads not finished within the expiry; returns how many. */
  sweep(): Promise<number>;
}

export interface TusAreaOptions {
  readonly dataDir: string;
  readonly blobs: BlobsConfig;
  /** The site's leases when several processes share its database, else null. */
  readonly leases: LeaseRepository | null;
  readonly expiryMs: number;
  readonly log: Logger;
  /** Crash points for the tests (tus-s3-store.ts). */
  readonly faults: Faults;
}

/** Where the tus area is, before anything of tus is loaded (a node may never see an upload). */
export interface TusAreaSpot {
  /** Loads the tus store for this area and opens it. */
  open(): Promise<TusArea>;
  /** False when there is surely no upload in it (nothing to sweep, nothing to load). */
  mayHoldUploads(): Promise<boolean>;
}

export function tusArea(options: TusAreaOptions): TusAreaSpot {
  return {
    open: () => openTusArea(options),
    async mayHoldUploads() {
      if (options.blobs.kind !== 'local') return true;
      const entries = await readdir(join(options.dataDir, 'tus')).catch(() => []);
      return entries.length > 0;
    },
  };
}

async function openTusArea(options: TusAreaOptions): Promise<TusArea> {
  const { LeaseLocker } = await import('./tus-lock.js');
  const locker = options.leases === null ? undefined : new LeaseLocker(options.leases, options.log);
  const sweepLocks = async () => (locker === undefined ? 0 : locker.sweep());
  if (options.blobs.kind === 'local') {
    const { FileStore } = await import('@tus/file-store');
    const store = new FileStore({
      directory: join(options.dataDir, 'tus'),
      expirationPeriodInMilliseconds: options.expiryMs,
    });
    return {
      datastore: store,
      locker,
      read: async (id) =>
        (await isFile(join(options.dataDir, 'tus', id))) ? store.read(id) : null,
      remove: (id) => store.remove(id).catch(() => undefined),
      async sweep() {
        await sweepLocks();
        return store.deleteExpired();
      },
    };
  }
  const { bucket, region, endpoint, credentials, timeoutMs } = options.blobs;
  // Loaded only for a node on S3 (the default node never pays for it).
  const { S3Store } = await import('@tus/s3-store');
  const { tusS3StoreClass } = await import('./tus-s3-store.js');
  const S3UploadStore = tusS3StoreClass(S3Store, {
    bucket,
    faults: options.faults,
    log: options.log,
  });
  const store = new S3UploadStore({
    s3ClientConfig: {
      bucket,
      region,
      forcePathStyle: true,
      // As S3BlobStore: Swift's s3api refuses aws-chunked bodies.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // As S3Bucket's: a store that stops answering must not hold an upload's requests for ever.
      requestHandler: { connectionTimeout: timeoutMs, socketTimeout: timeoutMs },
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(credentials === undefined ? {} : { credentials }),
    },
    partSize: 8 * 1024 * 1024,
    // Object tags are not on every S3 server (Swift's s3api has none); expiry goes by the
    // multipart upload's start instead.
    useTags: false,
    expirationPeriodInMilliseconds: options.expiryMs,
    // The store keeps each upload's `.info` in the process's memory by default. Another process
    // of the site (or this one's own `remove` below, which goes around the store) may finish or
    // remove the upload meanwhile, and a stale copy makes a removed upload look whole. The
    // bucket is the truth: one GET of `.info` per request.
    cache: {
      get: () => Promise.resolve(undefined),
      set: () => Promise.resolve(),
      delete: () => Promise.resolve(),
    },
  });
  // The store's own remove aborts the multipart upload and fails once it is complete (the
  // upload is then gone), leaving the object and its .info behind: delete each key instead.
  // Its S3 client is made in its constructor.
  const client = (store as unknown as { client: S3Like }).client;
  return {
    datastore: store,
    locker,
    async read(id) {
      const missing = (error: unknown) => {
        if (
          (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
        )
          return null;
        throw error;
      };
      const bytes = await store.read(id).catch(missing);
      if (bytes !== null || !(await store.completeIfWhole(id).catch(() => false))) return bytes;
      return store.read(id).catch(missing);
    },
    async remove(id) {
      await store.remove(id).catch(() => undefined);
      for (const key of [id, `${id}.info`, `${id}.part`]) {
        await client.deleteObject({ Bucket: bucket, Key: key }).catch((err: unknown) => {
          options.log.warn({ err, key }, 'tus leftover not removed');
        });
      }
    },
    async sweep() {
      await sweepLocks();
      return store.deleteExpired();
    },
  };
}

interface S3Like {
  deleteObject(input: { Bucket: string; Key: string }): Promise<unknown>;
  headObject(input: { Bucket: string; Key: string }): Promise<unknown>;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (st) => st.isFile(),
    (error: unknown) => {
      if ((error as { code?: unknown }).code === 'ENOENT') return false;
      throw error;
    },
  );
}
