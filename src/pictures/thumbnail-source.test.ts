/**
 * Where a thumbnail's decoder gets a stored picture's bytes (PictureService.thumbnail): the
 * local store's file, read by libvips itself, never a copy read whole into the process (a 20 MB
 * picture cost ~100 ms of CPU and 20 MB of RSS that way); and a blob trashed while its
 * thumbnail is being made is absent (404), not a bad image (422). Real SQLite file, real local
 * blob store, real sharp.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import pino from 'pino';
import sharp from 'sharp';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { LocalBytes } from '../blobs/blob-store.js';
import { LocalBlobStore } from '../blobs/local-blob-store.js';
import { NotFoundError } from '../core/errors.js';
import type { ChangeLog } from '../oplog/change-log.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { openMetadataStore } from '../storage/metadata/store.js';
import { Thumbnails } from './images.js';
import { SqlPictureRepository } from './picture.repository.js';
import { PictureService } from './picture.service.js';

/** A local store whose whole reads are counted, and which can act between two calls. */
class WatchedStore extends LocalBlobStore {
  wholeReads = 0;
  beforeDecode: (() => Promise<void>) | null = null;

  override async read(hash: string, range?: { start: number; end: number }): Promise<Readable> {
    if (range === undefined) this.wholeReads++;
    return super.read(hash, range);
  }

  override async localBytes(hash: string): Promise<LocalBytes | null> {
    const local = await super.localBytes(hash);
    await this.beforeDecode?.();
    return local;
  }
}

let dir = '';
let store: MetadataStore;
let blobs: WatchedStore;
let thumbs: Thumbnails;
let service: PictureService;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-thumb-source-'));
  store = await openMetadataStore(join(dir, 'mosaic.db'));
  blobs = new WatchedStore(join(dir, 'data'));
  await blobs.init();
  thumbs = new Thumbnails(blobs);
  service = new PictureService({
    pictures: new SqlPictureRepository(store),
    blobs,
    thumbs,
    // Not used: making a thumbnail commits no operation.
    changes: {} as unknown as ChangeLog,
    nodeName: 'n1',
    log: pino({ level: 'silent' }),
    justStored: new Set(),
  });
});
afterEach(async () => {
  await store.close();
  await blobs.close();
  await rm(dir, { recursive: true, force: true });
});

async function storedJpeg(): Promise<string> {
  const jpeg = await sharp({
    create: { width: 1200, height: 900, channels: 3, background: '#336699' },
  })
    .jpeg()
    .toBuffer();
  const staged = await blobs.stage(Readable.from([jpeg]), jpeg.length + 1);
  await blobs.commit(staged);
  return staged.hash;
}

it("makes a stored picture's thumbnail from its file, without reading it into the process", async () => {
  const id = await storedJpeg();
  const webp = await buffer(await service.thumbnail(id, 'large'));
  const made = await sharp(webp).metadata();
  expect([made.format, made.width, made.height]).toEqual(['webp', 1200, 900]);
  expect(blobs.wholeReads).toBe(0);
});

it('says NotFound, not a bad image, when the blob is trashed while its thumbnail is made', async () => {
  const id = await storedJpeg();
  blobs.beforeDecode = () => blobs.trash(id);
  await expect(service.thumbnail(id, 'small')).rejects.toBeInstanceOf(NotFoundError);
  expect(await thumbs.has(id, 'small')).toBe(false);
});
