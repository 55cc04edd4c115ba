/**
 * Albums, share links and the trash over HTTP with two real nodes (issue 15): concurrent
 * album changes during a partition converge by the documented rules; a share link opens the
 * album anonymously at both nodes and nothing else, until it is revoked; a password link asks
 * for its password; a picture restored from the trash at one node is back at the other, and
 * an emptied trash is empty everywhere.
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, type ClusterNode } from '../helpers/cluster.js';
import {
  addUser,
  api,
  cleanup,
  login,
  makeImage,
  waitFor,
  type Api,
  type Picture,
} from '../helpers/node-process.js';
import { photo } from '../helpers/photos.js';

interface Album {
  id: string;
  name: string;
  desc: string;
  owner: string;
  count: number;
  coverId: string | null;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
interface Share {
  id: string;
  path: string;
}
interface TrashPage extends Page<{ id: string; owner: string }> {
  total: number;
  yours: number;
}

const cluster = new TestCluster({ syncIntervalMs: 300 });
let n1: ClusterNode;
let n2: ClusterNode;
let a1: Api;
let a2: Api;
let bob: Api;
const pics: Picture[] = [];

/** The album's pictures at a node, sorted ([] while the album has not arrived there). */
async function albumIds(client: Api, id: string): Promise<string[]> {
  const res = await client.get<Page<Picture>>(`/api/albums/${id}/pictures`);
  return res.status === 200 ? res.body.items.map((p) => p.id).sort() : [];
}

beforeAll(async () => {
  [n1, n2] = (await cluster.startAll(2)) as [ClusterNode, ClusterNode];
  a1 = await n1.api();
  a2 = await n2.api();
  for (let i = 0; i < 5; i++) {
    const up = await a1.upload<Picture>({
      file: await makeImage({ seed: 300 + i, width: 80 + i * 10, height: 60 }),
      fields: { title: `Pic ${i}` },
    });
    expect(up.status).toBe(201);
    pics.push(up.body);
  }
  await addUser(n1.node.dataDir, 'bob', 'bob-password-for-tests');
  bob = api(n1.node.url, await login(n1.node.url, 'bob', 'bob-password-for-tests'));
  // Every picture visible (bytes fetched) at node 2.
  await waitFor(
    async () => (await a2.get<Page<Picture>>('/api/pictures?limit=50')).body.items.length === 5,
    { timeoutMs: 20_000, what: 'the pictures at node 2' },
  );
});
afterAll(cleanup);

const id = (i: number) => pics[i]?.id ?? '';

describe('albums', () => {
  let album: Album;

  it('are made by anyone signed in, changed only by their owner or an admin', async () => {
    const made = await bob.post<Album>('/api/albums', { name: 'Bob’s trip', desc: 'Alps' });
    expect(made.status).toBe(201);
    const add = await bob.post<Album>(`/api/albums/${made.body.id}/pictures`, {
      add: [id(0), id(1)],
    });
    expect(add.body).toMatchObject({ count: 2, owner: 'bob' });
    const meddle = await a1.request('PATCH', `/api/albums/${made.body.id}`, { name: 'Admin' });
    expect(meddle.status).toBe(200); // an admin may

    const own = await a1.post<Album>('/api/albums', { name: 'Holidays' });
    album = own.body;
    const refused = await bob.post(`/api/albums/${album.id}/pictures`, { add: [id(2)] });
    expect(refused.status).toBe(403);
    expect((await bob.request('DELETE', `/api/albums/${album.id}`)).status).toBe(403);
    const bad = await a1.post(`/api/albums/${album.id}/pictures`, { add: ['nope'] });
    expect(bad.status).toBe(400);
    const unknown = await a1.post(`/api/albums/${album.id}/pictures`, { add: ['f'.repeat(64)] });
    expect(unknown.status).toBe(404);
  });

  it('converge after concurrent changes at two partitioned nodes', async () => {
    await a1.post(`/api/albums/${album.id}/pictures`, { add: [id(0), id(1), id(2)] });
    await waitFor(async () => (await albumIds(a2, album.id)).length === 3, {
      what: 'the album at node 2',
    });
    await cluster.partition([n1], [n2]);
    // Node 1 takes 0 out and renames; node 2, later, puts 0 back, takes 2 out, describes it.
    await a1.post(`/api/albums/${album.id}/pictures`, { remove: [id(0)] });
    await a1.request('PATCH', `/api/albums/${album.id}`, { name: 'Summer' });
    await a2.post(`/api/albums/${album.id}/pictures`, { add: [id(0), id(3)], remove: [id(2)] });
    await a2.request('PATCH', `/api/albums/${album.id}`, { desc: 'Sea and sun' });
    expect(await albumIds(a1, album.id)).toEqual([id(1), id(2)].sort());
    await cluster.heal();
    const expected = [id(0), id(1), id(3)].sort();
    for (const client of [a1, a2]) {
      await waitFor(
        async () => JSON.stringify(await albumIds(client, album.id)) === JSON.stringify(expected),
        { timeoutMs: 20_000, what: 'the album to converge' },
      );
      const got = (await client.get<Album>(`/api/albums/${album.id}`)).body;
      await waitFor(
        async () =>
          (await client.get<Album>(`/api/albums/${album.id}`)).body.desc === 'Sea and sun',
        { what: 'the description' },
      );
      expect(got.name).toBe('Summer');
    }
  });
});

describe('album pages', () => {
  it('list by the date taken (else the upload time), a page at a time, with the facts', async () => {
    const shot = async (seed: number, taken: string) => {
      const up = await a1.upload<Picture>({
        file: await photo(seed, { taken }),
        fields: { title: taken },
      });
      expect(up.status).toBe(201);
      return up.body.id;
    };
    const older = await shot(71, '2021:07:14 10:00:00');
    const newer = await shot(72, '2023:03:02 09:30:00');
    const made = await a1.post<Album>('/api/albums', { name: 'Years' });
    // Picture 4 has no date taken: it sorts by its upload, today, so first.
    await a1.post(`/api/albums/${made.body.id}/pictures`, { add: [older, id(4), newer] });
    const path = `/api/albums/${made.body.id}/pictures`;
    const first = await waitFor(
      async () => {
        const res = await a1.get<Page<Picture & { takenAt: string | null }>>(`${path}?limit=2`);
        return res.body.items[1]?.takenAt === '2023-03-02T09:30:00' ? res.body : false;
      },
      { what: "the album's first page by date taken" },
    );
    expect(first.items.map((p) => p.id)).toEqual([id(4), newer]);
    const second = await a1.get<Page<Picture & { takenAt: string | null }>>(
      `${path}?limit=2&cursor=${first.nextCursor ?? 'none'}`,
    );
    expect(second.body.items.map((p) => [p.id, p.takenAt])).toEqual([
      [older, '2021-07-14T10:00:00'],
    ]);
    expect(second.body.nextCursor).toBeNull();
    // A cursor of the gallery by upload time is not an album page's: a 400, not another page.
    const gallery = await a1.get<Page<Picture>>('/api/pictures?limit=1&sort=added');
    const wrong = await a1.get(`${path}?cursor=${gallery.body.nextCursor ?? 'none'}`);
    expect(wrong.status).toBe(400);
  });
});

describe('share links', () => {
  let album: Album;
  let share: Share;

  beforeAll(async () => {
    album = (await a1.post<Album>('/api/albums', { name: 'Shared', desc: 'For grandma' })).body;
    await a1.post(`/api/albums/${album.id}/pictures`, { add: [id(0), id(1)] });
    share = (await a1.post<Share>('/api/shares', { target: 'album', targetId: album.id })).body;
    expect(share.id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('open the album at every node without an account, and nothing else', async () => {
    const anonymous = [api(n1.node.url), api(n2.node.url)];
    for (const client of anonymous) {
      const view = await waitFor(
        async () => {
          const res = await client.get<{ title: string; locked: boolean }>(`/api/s/${share.id}`);
          return res.status === 200 ? res.body : false;
        },
        { timeoutMs: 15_000, what: 'the link at this node' },
      );
      expect(view).toMatchObject({ title: 'Shared', locked: false });
      const list = await waitFor(
        async () => {
          const res = await client.get<Page<Record<string, unknown>>>(
            `/api/s/${share.id}/pictures`,
          );
          return res.body.items.length === 2 ? res.body.items : false;
        },
        { what: 'the shared pictures' },
      );
      expect(list.map((p) => p.id).sort()).toEqual([id(0), id(1)].sort());
      expect(list[0]).not.toHaveProperty('owner');
      const file = await client.fetch(`/api/s/${share.id}/pictures/${id(0)}/file?download=1`);
      expect(file.status).toBe(200);
      expect(file.headers.get('content-disposition')).toMatch(/^attachment/);
      const hash = createHash('sha256')
        .update(Buffer.from(await file.arrayBuffer()))
        .digest('hex');
      expect(hash).toBe(id(0));
      const thumb = await client.fetch(`/api/s/${share.id}/pictures/${id(1)}/thumb?size=small`);
      expect([thumb.status, thumb.headers.get('content-type')]).toEqual([200, 'image/webp']);
      // A picture outside the album, the library, another id: nothing.
      expect((await client.fetch(`/api/s/${share.id}/pictures/${id(4)}/file`)).status).toBe(404);
      expect((await client.fetch(`/api/s/${share.id}/pictures/${id(4)}/thumb`)).status).toBe(404);
      expect((await client.get('/api/pictures')).status).toBe(401);
      expect((await client.get(`/api/albums/${album.id}`)).status).toBe(401);
      expect((await client.get(`/api/s/${'0'.repeat(32)}`)).status).toBe(404);
      expect((await client.get('/api/s/not-a-link')).status).toBe(400);
    }
  });

  it('stop working at every node once revoked (at the other node)', async () => {
    expect((await bob.request('DELETE', `/api/shares/${share.id}`)).status).toBe(404);
    expect((await a2.request('DELETE', `/api/shares/${share.id}`)).status).toBe(204);
    for (const url of [n1.node.url, n2.node.url]) {
      await waitFor(async () => (await api(url).get(`/api/s/${share.id}`)).status === 404, {
        timeoutMs: 15_000,
        what: 'the revocation',
      });
      const files = await api(url).fetch(`/api/s/${share.id}/pictures/${id(0)}/file`);
      expect(files.status).toBe(404);
    }
  });

  it('with a password, show nothing before it is given', async () => {
    const locked = (
      await a1.post<Share>('/api/shares', {
        target: 'picture',
        targetId: id(3),
        password: 'open sesame',
        expiresInDays: 7,
      })
    ).body;
    const visitor = api(n2.node.url);
    const view = await waitFor(
      async () => {
        const res = await visitor.get<{ locked: boolean; title: string; desc: string }>(
          `/api/s/${locked.id}`,
        );
        return res.status === 200 ? res.body : false;
      },
      { timeoutMs: 15_000, what: 'the password link at node 2' },
    );
    // Not even the picture's title or description (they may be as private as the picture).
    expect(view).toMatchObject({ locked: true, title: '', desc: '' });
    expect((await visitor.get(`/api/s/${locked.id}/pictures`)).status).toBe(401);
    expect((await visitor.fetch(`/api/s/${locked.id}/pictures/${id(3)}/file`)).status).toBe(401);
    const wrong = await visitor.post(`/api/s/${locked.id}/unlock`, { password: 'nope' });
    expect(wrong.status).toBe(401);
    const right = await visitor.fetch(`/api/s/${locked.id}/unlock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'open sesame' }),
    });
    expect(right.status).toBe(204);
    const cookie = right.headers.getSetCookie()[0]?.split(';')[0] ?? '';
    const unlocked = api(n2.node.url, cookie);
    const list = await unlocked.get<Page<{ id: string }>>(`/api/s/${locked.id}/pictures`);
    expect(list.body.items.map((p) => p.id)).toEqual([id(3)]);
    const opened = await unlocked.get<{ locked: boolean; title: string }>(`/api/s/${locked.id}`);
    expect(opened.body.locked).toBe(false);
    expect(opened.body.title).not.toBe('');
    // The cookie of one link opens no other.
    const other = (
      await a1.post<Share>('/api/shares', {
        target: 'picture',
        targetId: id(2),
        password: 'another one',
      })
    ).body;
    await waitFor(async () => (await unlocked.get(`/api/s/${other.id}`)).status === 200, {
      timeoutMs: 15_000,
      what: 'the second link at node 2',
    });
    expect((await unlocked.get(`/api/s/${other.id}/pictures`)).status).toBe(401);
    // Guessing backs off, as sign-in does (5 free failures, then 429 with Retry-After).
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      statuses.push(
        (await visitor.post(`/api/s/${other.id}/unlock`, { password: `g${i}` })).status,
      );
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.at(-1)).toBe(429);
  });
});

describe('trash', () => {
  it('restores at one node a picture deleted at the other, and empties everywhere', async () => {
    const target = id(4);
    expect((await a1.delete(`/api/pictures/${target}`)).status).toBe(204);
    const listed = await waitFor(
      async () => {
        const res = await a2.get<{ items: { id: string; title: string }[] }>('/api/trash');
        return res.body.items.find((t) => t.id === target) ?? false;
      },
      { timeoutMs: 15_000, what: 'the picture in the trash at node 2' },
    );
    expect(listed.title).toBe('Pic 4');
    // Node 1 made its small thumbnail at upload and keeps it while the picture is in the trash.
    const thumb = await a1.fetch(`/api/trash/${target}/thumb`);
    expect([thumb.status, thumb.headers.get('content-type')]).toEqual([200, 'image/webp']);
    expect((await a1.fetch(`/api/pictures/${target}/thumb`)).status).toBe(404);
    expect((await bob.post(`/api/trash/${target}/restore`)).status).toBe(403);
    expect((await a2.post(`/api/trash/${target}/restore`)).status).toBe(204);
    await waitFor(async () => (await a1.get(`/api/pictures/${target}`)).status === 200, {
      timeoutMs: 15_000,
      what: 'the restored picture at node 1',
    });
    const bytes = await a1.fetch(`/api/pictures/${target}/file`);
    expect(bytes.status).toBe(200);
    expect((await a1.get<{ items: unknown[] }>('/api/trash')).body.items).toEqual([]);

    // Delete it again and empty the trash at node 2: its trashed bytes go at node 1 too.
    expect((await a1.delete(`/api/pictures/${target}`)).status).toBe(204);
    await waitFor(
      async () => (await a2.get<{ items: unknown[] }>('/api/trash')).body.items.length === 1,
      { timeoutMs: 15_000, what: 'the second delete at node 2' },
    );
    expect((await a2.request('DELETE', '/api/trash')).body).toEqual({ purged: 1 });
    for (const node of [n1, n2]) {
      const client = await node.api();
      await waitFor(
        async () => (await client.get<{ items: unknown[] }>('/api/trash')).body.items.length === 0,
        { timeoutMs: 15_000, what: 'the trash emptied' },
      );
      await waitFor(async () => !(await trashed(node)).includes(target), {
        timeoutMs: 15_000,
        what: 'the trashed bytes purged',
      });
    }
    expect((await a1.post(`/api/trash/${target}/restore`)).status).toBe(404);
    expect((await a1.fetch(`/api/trash/${target}/thumb`)).status).toBe(404);
  });

  it('is listed a page at a time with its counts, and emptied whole, by owner', async () => {
    // Three pictures, the last one bob's, deleted one after the other.
    const made: string[] = [];
    for (const [i, client] of [a1, a1, bob].entries()) {
      const up = await client.upload<Picture>({
        file: await makeImage({ seed: 400 + i, width: 50 + i, height: 40 }),
        fields: { title: `Trash ${i}` },
      });
      expect(up.status).toBe(201);
      made.push(up.body.id);
    }
    for (const pic of made) expect((await a1.delete(`/api/pictures/${pic}`)).status).toBe(204);

    const first = await a1.get<TrashPage>('/api/trash?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.items.map((t) => t.id)).toEqual([made[2], made[1]]);
    expect([first.body.total, first.body.yours]).toEqual([3, 3]);
    const cursor = first.body.nextCursor ?? 'none';
    const second = await a1.get<TrashPage>(`/api/trash?limit=2&cursor=${cursor}`);
    expect(second.body.items.map((t) => t.id)).toEqual([made[0]]);
    expect(second.body.nextCursor).toBeNull();
    // Bob sees everyone's deleted pictures; one of them is his to restore or empty.
    const his = await bob.get<TrashPage>('/api/trash');
    expect([his.body.items.length, his.body.total, his.body.yours]).toEqual([3, 3, 1]);

    // A cursor this server did not give out, or a page size out of bounds: 400, nothing else.
    const forged = Buffer.from(JSON.stringify(['d', 'not-a-clock', made[0]])).toString('base64url');
    for (const query of ['cursor=nope', `cursor=${forged}`, 'limit=0', 'limit=501', 'limit=x']) {
      const res = await a1.get<{ error: { code: string; message: string } }>(`/api/trash?${query}`);
      expect([query, res.status, typeof res.body.error.message]).toEqual([query, 400, 'string']);
    }

    // Bob's "Empty trash" purges his picture alone; the admin's the rest, every page.
    expect((await bob.request('DELETE', '/api/trash')).body).toEqual({ purged: 1 });
    const left = await a1.get<TrashPage>('/api/trash');
    expect(left.body.items.map((t) => t.id)).toEqual([made[1], made[0]]);
    expect((await a1.request('DELETE', '/api/trash')).body).toEqual({ purged: 2 });
    expect((await a1.get<TrashPage>('/api/trash')).body).toMatchObject({ items: [], total: 0 });
  });
});

async function trashed(node: ClusterNode): Promise<string[]> {
  try {
    return await readdir(join(node.node.dataDir, 'trash'));
  } catch {
    return [];
  }
}
