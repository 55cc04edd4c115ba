/**
 * The start-up check of every picture's byte flag against the store (PictureService
 * .repairAllBytes): the store's hashes and the rows are merged in id order a page at a time,
 * and each disagreement is settled. Real SQLite file and real local blob store.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { LocalBlobStore } from '../blobs/local-blob-store.js';
import type { ChangeLog } from '../oplog/change-log.js';
import type { MetadataStore } from '../storage/metadata/dialect.js';
import { openMetadataStore } from '../storage/metadata/store.js';
import { Thumbnails } from './images.js';
import { SqlPictureRepository } from './picture.repository.js';
import { PictureService } from './picture.service.js';
import { addPicture } from './testing.js';

let dir = '';
let store: MetadataStore;
let blobs: LocalBlobStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-repair-'));
  store = await openMetadataStore(join(dir, 'mosaic.db'));
  blobs = new LocalBlobStore(join(dir, 'data'));
  await blobs.init();
});
afterEach(async () => {
  await store.close();
  await blobs.close();
  await rm(dir, { recursive: true, force: true });
});

/** Stores bytes and returns their hash (the picture id). */
async function stored(seed: number): Promise<string> {
  const bytes = Buffer.from(`picture bytes ${seed}`);
  const staged = await blobs.stage(Readable.from([bytes]), 1000);
  await blobs.commit(staged);
  return createHash('sha256').update(bytes).digest('hex');
}

it('finds and settles every flag that disagrees with the store, across many pages', async () => {
  const pictures = new SqlPictureRepository(store);
  // 30 pictures whose bytes are stored, 30 whose bytes are not, interleaved in id order.
  const withBytes = new Set<string>();
  for (let seed = 0; seed < 30; seed++) withBytes.add(await stored(seed));
  const ids = [...withBytes];
  const rows: { id: string; alive: boolean; hasBlob: boolean }[] = [];
  for (const [i, hash] of ids.entries()) rows.push({ id: hash, alive: true, hasBlob: i % 3 !== 0 });
  for (let n = 1; n <= 30; n++) {
    const hash = createHash('sha256').update(`absent ${n}`).digest('hex');
    rows.push({ id: hash, alive: true, hasBlob: n % 4 === 0 });
  }
  // Living pictures (the fixture's rows) under these ids, with these flags.
  let n = 0;
  for (const row of rows) {
    await addPicture(store, ++n, 1000, { hasBlob: row.hasBlob });
    await store.db.updateTable('pictures').set({ id: row.id }).where('rowid', '=', n).execute();
  }
  const wrong = rows.filter((r) => r.hasBlob !== withBytes.has(r.id)).length;
  expect(wrong).toBe(10 + 7);

  const service = new PictureService({
    pictures,
    blobs,
    thumbs: new Thumbnails(blobs),
    // Not used by the check: it moves bytes and records flags, it commits no operation.
    changes: {} as unknown as ChangeLog,
    nodeName: 'n1',
    log: pino({ level: 'silent' }),
    justStored: new Set(),
  });
  expect(await service.repairAllBytes()).toBe(wrong);
  for await (const row of pictures.byteFlags(7)) {
    expect(row.hasBlob, row.id).toBe(withBytes.has(row.id));
  }
  // Nothing left to repair.
  expect(await service.repairAllBytes()).toBe(0);
});
