/**
 * The library's media features against one real node (issue 15): photo facts read from real
 * JPEGs with EXIF and from a real iPhone HEIC, the timeline by date taken with its month index,
 * HEIC thumbnails, and no server path in any error.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ADMIN_PASSWORD,
  api,
  cleanup,
  login,
  startNode,
  type Api,
  type NodeProcess,
  type Picture,
  waitFor,
} from '../helpers/node-process.js';
import { HEIC, photo, unzip, uploadTitled } from '../helpers/photos.js';

interface Facts {
  takenAt: string | null;
  camera: { make: string | null; model: string | null; lens: string | null } | null;
  exposure: Record<string, number | null> | null;
  gps: { latitude: number; longitude: number; altitude: number | null } | null;
  orientation: number | null;
}
type FactPicture = Picture & Facts;

let node: NodeProcess;
let admin: Api;

beforeAll(async () => {
  node = await startNode();
  admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
});

afterAll(cleanup);

describe('photo facts', () => {
  test('an uploaded JPEG shows its date taken, camera, exposure, GPS and orientation', async () => {
    const up = await admin.upload<FactPicture>({
      file: await photo(1, {
        taken: '2017:08:21 10:15:30',
        offset: '-06:00',
        gps: [40.7128, -74.006],
        orientation: 6,
      }),
      fields: { title: 'Eclipse' },
    });
    expect(up.status).toBe(201);
    expect(up.body.takenAt).toBe('2017-08-21T10:15:30-06:00');
    const got = await admin.get<FactPicture>(`/api/pictures/${up.body.id}`);
    expect(got.body).toMatchObject({
      takenAt: '2017-08-21T10:15:30-06:00',
      camera: { make: 'FUJIFILM', model: 'X-T4', lens: null },
      exposure: { exposureTime: 0.002, fNumber: 5.6, focalLength: 23, iso: 160 },
      orientation: 6,
      // A portrait orientation: the picture's displayed size is turned.
      width: 64,
      height: 96,
    });
    expect(got.body.gps?.latitude).toBeCloseTo(40.7128, 3);
    expect(got.body.gps?.longitude).toBeCloseTo(-74.006, 3);
    // The upload's answer carries the facts it recorded: the same as a read of the picture.
    expect(up.body).toEqual(got.body);
    const list = await admin.get<{ items: FactPicture[] }>('/api/pictures?sort=taken');
    expect(list.body.items.find((p) => p.id === up.body.id)).toEqual(got.body);
  });
});

describe('HEIC', () => {
  test('an iPhone HEIC is accepted, with its facts and a thumbnail, or refused without a server path', async () => {
    const res = await admin.upload<FactPicture | { error: { message: string } }>({
      file: await readFile(HEIC),
      filename: 'IMG_0001.HEIC',
      fields: { title: 'From the phone' },
    });
    const text = JSON.stringify(res.body);
    expect(text).not.toMatch(/\/tmp|\/work|[A-Za-z]:\\|\.mosaic|\/data\//);
    expect(res.status, text).toBe(201);
    const picture = res.body as FactPicture;
    expect(picture.contentType).toBe('image/heic');
    expect(picture.takenAt).toBe('2021-05-03T09:15:00-07:00');
    expect(picture.camera?.model).toBe('iPhone 12 mini');
    const thumb = await admin.fetch(`/api/pictures/${picture.id}/thumb?size=small`);
    expect(thumb.status).toBe(200);
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 320, 240]);
    // The original is kept as uploaded.
    const original = await admin.fetch(`/api/pictures/${picture.id}/file`);
    expect(Buffer.from(await original.arrayBuffer()).equals(await readFile(HEIC))).toBe(true);
  });
});

describe('timeline', () => {
  const list = async (query: string) => {
    const res = await admin.get<{ items: FactPicture[]; nextCursor: string | null }>(
      `/api/pictures?sort=taken&category=trip&${query}`,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };

  test('pictures come by date taken (upload time when unknown), in pages stable while pictures arrive', async () => {
    const shots: [string, string | undefined][] = [
      ['2016 summer', '2016:07:04 12:00:00'],
      ['2020 new year', '2020:01:01 00:10:00'],
      ['2023 autumn', '2023:10:15 08:00:00'],
      ['2019 spring', '2019:04:20 16:45:00'],
      ['no date', undefined],
    ];
    let seed = 100;
    const files: [string, Buffer][] = [];
    for (const [title, taken] of shots)
      files.push([title, await photo(seed++, taken ? { taken } : {})]);
    await uploadTitled(admin, files, { category: 'trip' });
    const first = await list('limit=2');
    expect(first.items.map((p) => p.title)).toEqual(['no date', '2023 autumn']);
    expect(first.items[1]?.takenAt).toBe('2023-10-15T08:00:00');
    // A picture taken in 2021 arrives while the client pages: the next page neither repeats
    // nor skips what was shown, and the new picture shows on a later pass.
    await admin.upload({
      file: await photo(seed++, { taken: '2021:06:01 10:00:00' }),
      fields: { title: '2021 arrived', category: 'trip' },
    });
    const second = await list(`limit=2&cursor=${first.nextCursor ?? ''}`);
    expect(second.items.map((p) => p.title)).toEqual(['2021 arrived', '2020 new year']);
    const third = await list(`limit=10&cursor=${second.nextCursor ?? ''}`);
    expect(third.items.map((p) => p.title)).toEqual(['2019 spring', '2016 summer']);
    expect(third.nextCursor).toBeNull();

    const months = await admin.get<{ months: { month: string; count: number }[] }>(
      '/api/timeline?category=trip',
    );
    const uploadMonth = new Date().toISOString().slice(0, 7);
    expect(months.body.months).toEqual([
      { month: uploadMonth, count: 1 },
      { month: '2023-10', count: 1 },
      { month: '2021-06', count: 1 },
      { month: '2020-01', count: 1 },
      { month: '2019-04', count: 1 },
      { month: '2016-07', count: 1 },
    ]);
  });

  test('a cursor from another sort, or forged, is a 400', async () => {
    const res = await admin.get('/api/pictures?sort=taken&cursor=bm9wZQ');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'validation_failed' } });
    const bad = await admin.get('/api/pictures?sort=when');
    expect(bad.status).toBe(400);
  });
});

describe('facts for pictures stored before', () => {
  test('the background job derives them at start, and they survive restarts unchanged', async () => {
    const up = await admin.upload<FactPicture>({
      file: await photo(300, { taken: '2014:02:14 19:00:00', offset: '+01:00' }),
      fields: { title: 'Old one' },
    });
    await node.stop();
    // As a data directory from before photo facts: no row for it.
    const db = new Database(join(node.dataDir, 'mosaic.db'));
    const removed = db.prepare('DELETE FROM picture_facts').run().changes;
    db.close();
    expect(removed).toBeGreaterThan(1);
    await node.restart();
    admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    const got = await waitFor(async () => {
      const res = await admin.get<FactPicture>(`/api/pictures/${up.body.id}`);
      return res.body.takenAt ? res.body : undefined;
    });
    expect(got.takenAt).toBe('2014-02-14T19:00:00+01:00');
    expect(got.camera?.model).toBe('X-T4');
  });
});

describe('zip download', () => {
  test('a selection downloads as one zip of the originals, named by title', async () => {
    const files = [await photo(400), await photo(401), await readFile(HEIC)];
    const ids: string[] = [];
    for (const [i, file] of files.entries()) {
      const res = await admin.upload<FactPicture>({
        file,
        fields: { title: i < 2 ? 'Beach: day 1/2' : 'From the phone' },
      });
      ids.push(res.body.id);
    }
    const unknown = 'ef'.repeat(32);
    const res = await admin.fetch('/api/pictures/zip', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [...ids, unknown, ids[0]] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="mosaic-.*\.zip"$/,
    );
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(bytes.length);
    const entries = await unzip(bytes);
    expect([...entries.keys()]).toEqual([
      'Beach_ day 1_2.jpg',
      'Beach_ day 1_2 (2).jpg',
      'From the phone.heic',
    ]);
    expect([...entries.values()].map((b) => b.toString('base64'))).toEqual(
      files.map((b) => b.toString('base64')),
    );

    // The same as a plain link (GET, ids in the query).
    const link = await admin.fetch(`/api/pictures/zip?ids=${ids.slice(0, 2).join(',')}`);
    expect(link.status).toBe(200);
    expect((await unzip(Buffer.from(await link.arrayBuffer()))).size).toBe(2);
  });

  test('refused without an account, without pictures, or with a malformed id', async () => {
    const anonymous = api(node.url);
    expect((await anonymous.post('/api/pictures/zip', { ids: ['ab'.repeat(32)] })).status).toBe(
      401,
    );
    expect((await admin.post('/api/pictures/zip', { ids: ['ab'.repeat(32)] })).status).toBe(404);
    expect((await admin.post('/api/pictures/zip', { ids: ['../etc'] })).status).toBe(400);
    expect((await admin.post('/api/pictures/zip', { ids: [] })).status).toBe(400);
  });
});
