/**
 * The picture API end to end against one real node process: upload, dedup, list, search,
 * pagination, download (ETag, Range), thumbnails, edit, delete to trash, restart. Tests run in
 * order and share the node. Tokens, logout, health, metrics and docs: access.test.ts.
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { beforeAll, expect, test } from 'vitest';
import { describeEachBackend } from '../helpers/backends.js';
import {
  ADMIN_PASSWORD,
  api,
  filesUnder,
  login,
  makeImage,
  startNode,
  type Api,
  type NodeProcess,
  type Picture,
  type PictureList,
} from '../helpers/node-process.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describeEachBackend('pictures', (backend) => {
  let node: NodeProcess;
  let cookie: string;
  let admin: Api;
  /** Pictures that should be visible, by id. */
  const alive = new Map<string, Picture>();
  /** Ids whose bytes should be in the trash. */
  const trashed = new Set<string>();

  let sunset: { bytes: Buffer; picture: Picture };

  beforeAll(async () => {
    node = await startNode();
    cookie = await login(node.url, 'admin', ADMIN_PASSWORD);
    admin = api(node.url, cookie);
  });

  async function upload(
    client: Api,
    bytes: Buffer,
    fields: Record<string, string>,
    expected = 201,
  ): Promise<Picture> {
    const res = await client.upload<Picture>({ file: bytes, fields });
    expect(res.status, JSON.stringify(res.body)).toBe(expected);
    alive.set(res.body.id, res.body);
    return res.body;
  }

  /** Follows nextCursor to the end; returns the pages. */
  async function allPages(query: string): Promise<Picture[][]> {
    const pages: Picture[][] = [];
    let cursor: string | null = null;
    do {
      const suffix: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const res = await admin.get<PictureList>(`/api/pictures?${query}${suffix}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      pages.push(res.body.items);
      cursor = res.body.nextCursor;
      expect(pages.length).toBeLessThan(1000);
    } while (cursor !== null);
    return pages;
  }

  async function search(query: string): Promise<string[]> {
    const res = await admin.get<PictureList>(`/api/pictures?${query}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.items.map((p) => p.title).sort();
  }

  async function mapLimit<T, R>(items: T[], limit: number, run: (item: T) => Promise<R>) {
    const results: R[] = [];
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await run(items[index] as T);
      }
    };
    await Promise.all(Array.from({ length: limit }, worker));
    return results;
  }

  test('upload answers 201 with id = sha256 of the bytes; the same bytes again 200, stored once', async () => {
    const bytes = await makeImage({ width: 2000, height: 1000, format: 'jpeg', seed: 1 });
    const fields = {
      title: 'Sunset over the lake',
      category: 'travel',
      desc: 'Taken from the north shore',
    };
    const picture = await upload(admin, bytes, fields);
    expect(picture).toMatchObject({
      ...fields,
      id: sha256(bytes),
      contentType: 'image/jpeg',
      size: bytes.length,
      width: 2000,
      height: 1000,
      owner: 'admin',
    });
    expect(picture.origin).toMatch(/^node-/);
    expect(Date.parse(picture.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    sunset = { bytes, picture };

    const again = await admin.upload<Picture>({ file: bytes, fields: { title: 'Other title' } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(picture);

    expect(await backend.stored(node, 'blobs')).toEqual([picture.id]);
    expect(await filesUnder(backend.scratch(node, 'tmp'))).toEqual([]);
    const list = await admin.get<PictureList>('/api/pictures');
    expect(list.body).toEqual({ items: [picture], nextCursor: null });
  });

  test('the same bytes uploaded concurrently: one 201, the others 200 with that picture', async () => {
    const bytes = await makeImage({ width: 400, height: 300, format: 'jpeg', seed: 6 });
    const results = await Promise.all(
      ['One', 'Two', 'Three', 'Four'].map((title) =>
        admin.upload<Picture>({ file: bytes, fields: { title, category: 'race' } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 201]);
    const created = results.find((r) => r.status === 201)?.body;
    if (!created) throw new Error('no 201');
    for (const r of results) expect(r.body).toEqual(created);
    expect((await admin.get<Picture>(`/api/pictures/${created.id}`)).body).toEqual(created);
    const blobs = await backend.stored(node, 'blobs');
    expect(blobs.filter((f) => f === created.id)).toHaveLength(1);
    expect(await filesUnder(backend.scratch(node, 'tmp'))).toEqual([]);
    // Not needed by the tests below.
    expect((await admin.delete(`/api/pictures/${created.id}`)).status).toBe(204);
    trashed.add(created.id);
  });

  test('GET info and download with Content-Type, ETag, If-None-Match and Range', async () => {
    const { bytes, picture } = sunset;
    const info = await admin.get<Picture>(`/api/pictures/${picture.id}`);
    expect(info.status).toBe(200);
    expect(info.body).toEqual(picture);

    const file = await admin.fetch(`/api/pictures/${picture.id}/file`);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('image/jpeg');
    expect(file.headers.get('content-length')).toBe(String(bytes.length));
    const etag = file.headers.get('etag');
    expect(etag).toBe(`"${picture.id}"`);
    expect(Buffer.from(await file.arrayBuffer()).equals(bytes)).toBe(true);

    const cached = await admin.fetch(`/api/pictures/${picture.id}/file`, {
      headers: { 'if-none-match': etag ?? '' },
    });
    expect(cached.status).toBe(304);
    expect(await cached.text()).toBe('');

    const part = await admin.fetch(`/api/pictures/${picture.id}/file`, {
      headers: { range: 'bytes=100-1123' },
    });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-1123/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 1124))).toBe(true);

    const tail = await admin.fetch(`/api/pictures/${picture.id}/file`, {
      headers: { range: 'bytes=-10' },
    });
    expect(tail.status).toBe(206);
    expect(tail.headers.get('content-range')).toBe(
      `bytes ${bytes.length - 10}-${bytes.length - 1}/${bytes.length}`,
    );
    expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(-10))).toBe(true);

    const outside = await admin.fetch(`/api/pictures/${picture.id}/file`, {
      headers: { range: `bytes=${bytes.length}-` },
    });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
    expect(await outside.json()).toMatchObject({ error: { code: 'range_not_satisfiable' } });
  });

  test('thumbnails are WebP with max edge 320 (small, the default) and 1600 (large)', async () => {
    const { id } = sunset.picture;
    for (const [query, width, height] of [
      ['?size=small', 320, 160],
      ['', 320, 160],
      ['?size=large', 1600, 800],
    ] as const) {
      const res = await admin.fetch(`/api/pictures/${id}/thumb${query}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/webp');
      const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
      expect({ format: meta.format, width: meta.width, height: meta.height }).toEqual({
        format: 'webp',
        width,
        height,
      });
    }
    // A picture smaller than a thumbnail is not enlarged.
    const tiny = await upload(admin, await makeImage({ width: 60, height: 90, seed: 2 }), {
      title: 'Cat',
      category: 'pets',
    });
    const res = await admin.fetch(`/api/pictures/${tiny.id}/thumb?size=large`);
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 60, 90]);
  });

  test('list newest first, filter by category, search title and description by word prefix', async () => {
    await upload(admin, await makeImage({ seed: 3, format: 'webp' }), {
      title: 'Birthday cake',
      category: 'family',
      desc: 'Grandma baked it',
    });
    await upload(admin, await makeImage({ seed: 4, format: 'jpeg' }), {
      title: 'Mountain hike',
      category: 'travel',
      desc: 'Summit at dawn, a birthday trip',
    });

    const list = await admin.get<PictureList>('/api/pictures');
    expect(list.body.nextCursor).toBeNull();
    expect(list.body.items.map((p) => p.id).sort()).toEqual([...alive.keys()].sort());
    const created = list.body.items.map((p) => Date.parse(p.createdAt));
    expect(created).toEqual([...created].sort((a, b) => b - a));

    expect(await search('category=travel')).toEqual(['Mountain hike', 'Sunset over the lake']);
    expect(await search('category=pets')).toEqual(['Cat']);
    expect(await search('category=nothing')).toEqual([]);
    expect(await search('q=birth')).toEqual(['Birthday cake', 'Mountain hike']);
    expect(await search('q=SUN')).toEqual(['Sunset over the lake']);
    expect(await search('q=north%20sho')).toEqual(['Sunset over the lake']);
    expect(await search('q=grandma%20cake')).toEqual(['Birthday cake']);
    expect(await search('q=lake%20cake')).toEqual([]);
    expect(await search('q=set')).toEqual([]); // prefixes of words, not substrings
    expect(await search('q=birth&category=travel')).toEqual(['Mountain hike']);
    // FTS operators are plain text.
    expect(await search('q=cake%20OR%20lake')).toEqual([]);
    expect(await search('q=%22cake')).toEqual(['Birthday cake']);
  });

  test('PATCH changes only the given fields, and search and filters follow', async () => {
    const { id } = sunset.picture;
    const title = await admin.patch<Picture>(`/api/pictures/${id}`, {
      title: 'Sunrise over the lake',
    });
    expect(title.status).toBe(200);
    expect(title.body).toMatchObject({
      title: 'Sunrise over the lake',
      category: 'travel',
      desc: 'Taken from the north shore',
      createdAt: sunset.picture.createdAt,
    });
    expect(Date.parse(title.body.updatedAt)).toBeGreaterThanOrEqual(
      Date.parse(sunset.picture.updatedAt),
    );

    const both = await admin.patch<Picture>(`/api/pictures/${id}`, {
      category: 'nature',
      desc: 'Line one\nline two',
    });
    expect(both.status).toBe(200);
    expect(both.body).toMatchObject({
      title: 'Sunrise over the lake',
      category: 'nature',
      desc: 'Line one\nline two',
    });
    const empty = await admin.patch<Picture>(`/api/pictures/${id}`, {});
    expect(empty.body).toEqual(both.body);

    expect((await admin.get<Picture>(`/api/pictures/${id}`)).body).toEqual(both.body);
    expect(await search('q=sunrise')).toEqual(['Sunrise over the lake']);
    expect(await search('q=sunset')).toEqual([]);
    expect(await search('q=north')).toEqual([]);
    expect(await search('q=line%20two')).toEqual(['Sunrise over the lake']);
    expect(await search('category=travel')).toEqual(['Mountain hike']);
    expect(await search('category=nature')).toEqual(['Sunrise over the lake']);
    alive.set(id, both.body);
    sunset.picture = both.body;
  });

  test('paginates 250 pictures: pages disjoint, complete, ordered, nextCursor null at the end', async () => {
    const seeds = Array.from({ length: 250 }, (_, i) => 1000 + i);
    const bulk = await mapLimit(seeds, 6, async (seed) =>
      upload(admin, await makeImage({ width: 8, height: 8, seed }), {
        title: `Bulk ${seed}`,
        category: 'bulk',
      }),
    );
    expect(new Set(bulk.map((p) => p.id)).size).toBe(250);

    const pages = await allPages('category=bulk&limit=40');
    expect(pages.map((p) => p.length)).toEqual([40, 40, 40, 40, 40, 40, 10]);
    const ids = pages.flat().map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length); // disjoint
    expect(new Set(ids)).toEqual(new Set(bulk.map((p) => p.id))); // complete

    // Strictly ordered by (createdAt, id) descending across page boundaries.
    const keys = pages.flat().map((p) => [Date.parse(p.createdAt), p.id] as const);
    for (let i = 1; i < keys.length; i++) {
      const [t0, id0] = keys[i - 1] ?? [0, ''];
      const [t1, id1] = keys[i] ?? [0, ''];
      expect(t0 > t1 || (t0 === t1 && id0 > id1), `order at ${i}`).toBe(true);
    }

    // Unfiltered, with the default limit (50) and the largest one (200).
    const all = (await allPages('')).flat();
    expect(all.map((p) => p.id).sort()).toEqual([...alive.keys()].sort());
    const big = await allPages('limit=200');
    expect(big.map((p) => p.length)).toEqual([200, alive.size - 200]);
    // An exact multiple of the limit ends with nextCursor null, not an empty page.
    const exact = await allPages('category=bulk&limit=125');
    expect(exact.map((p) => p.length)).toEqual([125, 125]);
  });

  test('DELETE answers 204, then 404; the bytes move to the trash', async () => {
    const cat = [...alive.values()].find((p) => p.title === 'Cat');
    if (!cat) throw new Error('no Cat');
    const bytes = await backend.read(node, 'blobs', cat.id);
    if (!bytes) throw new Error('no bytes for Cat');

    const res = await admin.delete(`/api/pictures/${cat.id}`);
    expect(res.status).toBe(204);
    expect(res.body).toBe('');
    alive.delete(cat.id);
    trashed.add(cat.id);

    for (const path of ['', '/file', '/thumb']) {
      const gone = await admin.get(`/api/pictures/${cat.id}${path}`);
      expect(gone.status, path).toBe(404);
      expect(gone.body).toMatchObject({ error: { code: 'not_found' } });
    }
    expect((await admin.delete(`/api/pictures/${cat.id}`)).status).toBe(404);
    expect((await admin.patch(`/api/pictures/${cat.id}`, { title: 'x' })).status).toBe(404);
    expect(await search('category=pets')).toEqual([]);
    expect(await backend.stored(node, 'blobs')).not.toContain(cat.id);
    expect((await backend.read(node, 'trash', cat.id))?.equals(bytes)).toBe(true);
    // The small thumbnail stays while the bytes are in the trash (the trash page shows it),
    // served only by the trash's route; the large one goes.
    const thumbs = await backend.stored(node, 'thumbs');
    expect(thumbs).toContain(`${cat.id}.small.webp`);
    expect(thumbs).not.toContain(`${cat.id}.large.webp`);

    // The same bytes uploaded again make a living picture again.
    const back = await upload(admin, bytes, { title: 'Cat again', category: 'pets' });
    expect(back).toMatchObject({ id: cat.id, title: 'Cat again' });
    expect(await search('category=pets')).toEqual(['Cat again']);
    expect(await backend.stored(node, 'blobs')).toContain(cat.id);
  });

  test('after a restart (SIGTERM, same data dir) everything is still there', async () => {
    const created = await admin.post<{ token: string }>('/api/tokens', { name: 'restart' });
    expect(created.status).toBe(201);
    const before = (await allPages('limit=200')).flat();
    expect(await node.stop()).toBe(0);
    await node.restart();

    expect((await allPages('limit=200')).flat()).toEqual(before);
    // The old session, a new login and the token all still work.
    expect((await admin.get('/api/auth/me')).status).toBe(200);
    await login(node.url, 'admin', ADMIN_PASSWORD);
    expect((await api(node.url, { token: created.body.token }).get('/api/auth/me')).status).toBe(
      200,
    );

    const file = await admin.fetch(`/api/pictures/${sunset.picture.id}/file`);
    expect(Buffer.from(await file.arrayBuffer()).equals(sunset.bytes)).toBe(true);
    const thumb = await admin.fetch(`/api/pictures/${sunset.picture.id}/thumb?size=large`);
    expect((await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()).width).toBe(1600);
    expect(await backend.stored(node, 'trash')).toEqual([...trashed].sort());
    // A duplicate upload is still recognised.
    const again = await admin.upload<Picture>({ file: sunset.bytes, fields: { title: 'x' } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(sunset.picture);
  });
});
