/**
 * The gallery's filters over HTTP against one real node process, on both backends (SQLite, and
 * PostgreSQL, whose gallery pages are JSON built by the statement): `GET /api/categories` lists
 * every category of the library with its count, whatever page a client has loaded; `GET
 * /api/timeline` counts the months of what a search lists; a search of symbols alone lists
 * nothing (it listed the whole library); bad filters are a 400 in the error shape.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { describeEachBackend } from '../helpers/backends.js';
import {
  ADMIN_PASSWORD,
  api,
  cleanup,
  login,
  makeImage,
  startNode,
  type Api,
  type ErrorBody,
  type NodeProcess,
  type Picture,
  type PictureList,
} from '../helpers/node-process.js';

interface Categories {
  categories: { name: string; count: number }[];
}
interface Timeline {
  months: { month: string; count: number }[];
}

/** The month index of `pictures` (no date taken in these PNGs: the upload's month, UTC). */
function monthsOf(pictures: readonly Picture[]): Timeline['months'] {
  const counts = new Map<string, number>();
  for (const p of pictures) {
    const month = p.createdAt.slice(0, 7);
    counts.set(month, (counts.get(month) ?? 0) + 1);
  }
  return [...counts]
    .sort(([a], [b]) => b.localeCompare(a))
    .map(([month, count]) => ({ month, count }));
}

describeEachBackend('gallery filters', () => {
  let node: NodeProcess;
  let admin: Api;
  const made: Picture[] = [];

  beforeAll(async () => {
    node = await startNode();
    admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    const uploads = [
      { title: 'Holiday harbour', category: 'holidays' },
      { title: 'Boats', category: 'sea' },
      { title: 'Harbour lights', category: 'sea' },
      { title: 'Breakfast', category: '' },
      { title: 'Gone soon', category: 'trashed' },
    ];
    for (const [i, fields] of uploads.entries()) {
      const res = await admin.upload<Picture>({
        file: await makeImage({ seed: 900 + i, width: 40 + i, height: 30 }),
        fields,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      made.push(res.body);
    }
    expect((await admin.delete(`/api/pictures/${made[4]?.id ?? ''}`)).status).toBe(204);
  });
  afterAll(cleanup);

  test('GET /api/categories: every category of the library, with its count, signed in only', async () => {
    // The oldest picture's category is there though a first page of one does not show it.
    const page = await admin.get<PictureList>('/api/pictures?limit=1&sort=taken');
    expect(page.body.items.map((p) => p.category)).not.toContain('holidays');
    const res = await admin.get<Categories>('/api/categories');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      categories: [
        { name: 'sea', count: 2 },
        { name: 'holidays', count: 1 },
      ],
    });
    expect((await api(node.url).get<ErrorBody>('/api/categories')).status).toBe(401);
    // An edit moves a picture to another category.
    const boats = made[1]?.id ?? '';
    expect((await admin.patch(`/api/pictures/${boats}`, { category: 'holidays' })).status).toBe(
      200,
    );
    expect((await admin.get<Categories>('/api/categories')).body.categories).toEqual([
      { name: 'holidays', count: 2 },
      { name: 'sea', count: 1 },
    ]);
    expect((await admin.patch(`/api/pictures/${boats}`, { category: 'sea' })).status).toBe(200);
  });

  test('GET /api/timeline counts what the same search and category list', async () => {
    const count = async (query: string) =>
      (await admin.get<Timeline>(`/api/timeline${query}`)).body.months;
    const [holiday, , lights, breakfast] = made as [Picture, Picture, Picture, Picture];
    expect(await count('')).toEqual(monthsOf(made.slice(0, 4)));
    expect(await count('?q=harbour')).toEqual(monthsOf([holiday, lights]));
    expect(await count('?q=harbour&category=sea')).toEqual(monthsOf([lights]));
    expect(await count('?q=breakfast')).toEqual(monthsOf([breakfast]));
    expect(await count('?q=zzzqqq')).toEqual([]);
    const listed = await admin.get<PictureList>('/api/pictures?q=harbour&sort=taken');
    expect(listed.body.items).toHaveLength(2);
  });

  test('a search of symbols alone lists nothing, as a search that misses', async () => {
    for (const q of [`%_\\'`, '*:() &|', '"']) {
      for (const sort of ['added', 'taken']) {
        const path = `/api/pictures?sort=${sort}&q=${encodeURIComponent(q)}`;
        const res = await admin.get<PictureList>(path);
        expect([path, res.status, res.body.items]).toEqual([path, 200, []]);
      }
      const months = await admin.get<Timeline>(`/api/timeline?q=${encodeURIComponent(q)}`);
      expect(months.body.months).toEqual([]);
    }
    // Words among the symbols are searched.
    const words = await admin.get<PictureList>(`/api/pictures?q=${encodeURIComponent('%harb_')}`);
    expect(words.body.items.map((p) => p.title).sort()).toEqual([
      'Harbour lights',
      'Holiday harbour',
    ]);
  });

  test('bad filters are a 400 in the error shape', async () => {
    for (const path of [
      `/api/timeline?q=${'a'.repeat(201)}`,
      `/api/timeline?category=${'c'.repeat(65)}`,
      '/api/timeline?sort=taken',
      '/api/categories?limit=3',
    ]) {
      const res = await admin.get<ErrorBody>(path);
      expect([path, res.status, typeof res.body.error.message]).toEqual([path, 400, 'string']);
    }
  });
});
