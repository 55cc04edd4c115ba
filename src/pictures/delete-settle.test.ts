/**
 * A deletion committed, then the store out of reach before its bytes move to the trash (Swift
 * or PostgreSQL stopped at that moment): the deletion is done, so the request says so. Found by
 * a walk of a scaled site with PostgreSQL stopped during traffic: DELETE answered 503 ("try
 * again") for a picture deleted at every node, and the retry got 404. The bytes move later
 * (BlobSync, asked again through `repairBytes`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { BlobStore } from '../blobs/blob-store.js';
import { UnavailableError } from '../core/errors.js';
import type { ChangeLog } from '../oplog/change-log.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { openMetadataStore } from '../storage/metadata/store.js';
import { Thumbnails } from './images.js';
import { SqlPictureRepository } from './picture.repository.js';
import { PictureService } from './picture.service.js';
import { addPicture, id } from './testing.js';

let dir = '';
let store: MetadataStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-delete-settle-'));
  store = await openMetadataStore(join(dir, 'mosaic.db'));
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

it('answers a committed deletion as done when its bytes cannot move yet, and asks again', async () => {
  await addPicture(store, 1, 1000, { hasBlob: true });
  const committed: unknown[] = [];
  const repairs: string[] = [];
  const outage = () => Promise.reject(new UnavailableError('The object store is not answering.'));
  const blobs = { has: outage, trash: outage, restore: outage } as unknown as BlobStore;
  const service = new PictureService({
    pictures: new SqlPictureRepository(store),
    blobs,
    thumbs: new Thumbnails(blobs),
    changes: {
      commit: (body: unknown) => {
        committed.push(body);
        return Promise.resolve();
      },
    } as unknown as ChangeLog,
    nodeName: 'n1',
    log: pino({ level: 'silent' }),
    justStored: new Set(),
    repairBytes: (picture) => repairs.push(picture),
  });

  await expect(service.delete({ username: 'ann', role: 'user' }, id(1))).resolves.toBeUndefined();
  expect(committed).toEqual([{ kind: 'picture.delete', id: id(1) }]);
  expect(repairs).toEqual([id(1)]);
});
