/**
 * `POST /api/pictures/lookup` against one real node: several pictures at once, as
 * `GET /api/pictures/:id` gives each (with their facts), and the ids that are not visible —
 * how the web app's open gallery learns that a picture the live feed named was deleted.
 */
import { beforeAll, expect, test } from 'vitest';
import { describeEachBackend } from '../helpers/backends.js';
import {
  ADMIN_PASSWORD,
  api,
  login,
  makeImage,
  startNode,
  type Api,
  type ErrorBody,
  type NodeProcess,
  type Picture,
} from '../helpers/node-process.js';

describeEachBackend('pictures looked up together', () => {
  let node: NodeProcess;
  let admin: Api;
  const pics: Picture[] = [];

  beforeAll(async () => {
    node = await startNode();
    admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    for (const seed of [1, 2, 3]) {
      const up = await admin.upload<Picture>({
        file: await makeImage({ seed, width: 40, height: 30 }),
        fields: { title: `Pic ${seed}` },
      });
      expect(up.status).toBe(201);
      pics.push(up.body);
    }
  });

  test('answer the visible ones as GET gives each, and name the deleted and unknown ones', async () => {
    const [a, b, c] = pics as [Picture, Picture, Picture];
    expect((await admin.delete(`/api/pictures/${b.id}`)).status).toBe(204);
    const unknown = 'f'.repeat(64);
    const res = await admin.post<{ items: Picture[]; missing: string[] }>('/api/pictures/lookup', {
      ids: [c.id, b.id, unknown, a.id, c.id],
    });
    expect(res.status).toBe(200);
    const one = async (id: string) => (await admin.get<Picture>(`/api/pictures/${id}`)).body;
    expect(res.body.items).toEqual([await one(c.id), await one(a.id)]);
    expect(res.body.missing).toEqual([b.id, unknown]);
  });

  test('refuse bad input with 400, and anyone without an account with 401', async () => {
    const ids = (n: number) =>
      Array.from({ length: n }, (_, i) => i.toString(16).padStart(64, '0'));
    for (const body of [
      {},
      { ids: [] },
      { ids: ids(201) },
      { ids: ['not-an-id'] },
      { ids: [pics[0]?.id.toUpperCase()] },
      { ids: ids(1), more: true },
    ]) {
      const res = await admin.post<ErrorBody>('/api/pictures/lookup', body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
    expect((await admin.post('/api/pictures/lookup', { ids: ids(200) })).status).toBe(200);
    expect((await api(node.url).post('/api/pictures/lookup', { ids: ids(1) })).status).toBe(401);
  });
});
