/**
 * Uploads on a site of two `mosaic node` processes sharing a real PostgreSQL and a real S3
 * bucket (OpenStack Swift with s3api), as behind a balancer without sticky routing:
 *
 * - an upload cut off half-way through process 1 resumes through process 2, from the offset
 *   process 2 reports, and becomes the same picture; nothing of it is left in the bucket;
 * - while a PATCH of an upload runs in process 1, a PATCH of the same upload through process 2
 *   waits for it (a lease per upload) instead of writing the same offset at the same time;
 * - the same bytes uploaded through both processes at once make one picture, one 201 and one 200;
 * - an upload finished through one process is gone at the other too (404), not whole.
 */
import { mkdtemp, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, expect, test } from 'vitest';
import { freePort } from '../helpers/cluster.js';
import {
  ADMIN_PASSWORD,
  api,
  login,
  makeImage,
  startNode,
  waitFor,
  type Api,
  type NodeProcess,
  type Picture,
} from '../helpers/node-process.js';
import { siteEnv, useSharedServers } from '../helpers/shared-servers.js';
import { createUpload, openPatch, patchUpload, TUS, uploadOffset } from '../helpers/tus.js';
import { TUS_LOCK_WAIT } from '../../src/http/tus-lock.js';

const BUCKET = 'tus-scaled';

const servers = useSharedServers();
let site: { node: NodeProcess; tmp: string; client: Api }[] = [];
let cookie = '';

beforeAll(async () => {
  const env = await siteEnv(servers(), BUCKET);
  for (let i = 0; i < 2; i++) {
    // Each process's own temp directory: where tus spools a part before sending it.
    const tmp = await mkdtemp(join(tmpdir(), 'mosaic-tus-tmp-'));
    const node = await startNode({
      args: ['--port', String(await freePort()), '--name', 'scaled'],
      env: { ...env, TMPDIR: tmp },
    });
    site.push({ node, tmp, client: api(node.url) });
  }
  cookie = await login(site[0]?.node.url ?? '', 'admin', ADMIN_PASSWORD);
  site = site.map((p) => ({ ...p, client: api(p.node.url, cookie) }));
}, 120_000);

async function create(client: Api, length: number, filename: string): Promise<string> {
  const res = await createUpload(client, length, { filename });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.headers.get('location') ?? '';
}

/** Waits until the process has spooled at least `size` bytes of a part to its temp directory. */
async function spooled(tmp: string, size: number): Promise<void> {
  await waitFor(
    async () => {
      for (const name of await readdir(tmp)) {
        const st = await stat(join(tmp, name)).catch(() => null);
        if (st && st.size >= size) return true;
      }
      return false;
    },
    { timeoutMs: 20_000, what: `${size} bytes spooled in ${tmp}` },
  );
}

async function leftovers(id: string): Promise<string[]> {
  const { swift } = servers();
  const s3 = new S3Client({
    endpoint: swift.endpoint,
    region: swift.region,
    forcePathStyle: true,
    credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
  });
  try {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: id }));
    return (listed.Contents ?? []).map((o) => o.Key ?? '');
  } finally {
    s3.destroy();
  }
}

async function servedBytes(client: Api, id: string): Promise<Buffer> {
  const res = await client.fetch(`/api/pictures/${id}/file`);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

test('an upload cut off in one process resumes through another and leaves nothing behind', async () => {
  const [p1, p2] = site as [(typeof site)[0], (typeof site)[0]];
  const file = await makeImage({ width: 1200, height: 900, seed: 91 });
  expect(file.length).toBeGreaterThan(2_000_000);
  const location = await create(p1.client, file.length, 'IMG_0091.png');
  const id = location.split('/').pop() ?? '';

  const half = Math.floor(file.length / 2);
  const cut = openPatch(p1.node.url, location, cookie, file.length, file.subarray(0, half));
  await spooled(p1.tmp, half);
  cut.destroy();

  // Process 2 knows how much process 1 kept, and takes the rest.
  const kept = await waitFor(
    async () => {
      const offset = await uploadOffset(p2.client, location);
      return offset !== undefined && offset > 0 ? offset : undefined;
    },
    { timeoutMs: 20_000, what: 'the kept half to be visible at process 2' },
  );
  expect(kept).toBe(half);
  const done = await patchUpload(p2.client, location, half, file.subarray(half));
  expect(done.status, await done.clone().text()).toBe(204);
  expect(done.headers.get('mosaic-picture-created')).toBe('true');
  const pictureId = done.headers.get('mosaic-picture-id') ?? '';

  const picture = await p1.client.get<Picture>(`/api/pictures/${pictureId}`);
  expect(picture.body).toMatchObject({ title: 'IMG_0091', size: file.length });
  expect((await servedBytes(p1.client, pictureId)).equals(file)).toBe(true);
  expect(await leftovers(id)).toEqual([]);
});

test('two processes never write one upload at once: the second PATCH waits for the first', async () => {
  const [p1, p2] = site as [(typeof site)[0], (typeof site)[0]];
  const file = await makeImage({ width: 1100, height: 800, seed: 92 });
  const location = await create(p1.client, file.length, 'IMG_0092.png');
  const third = Math.floor(file.length / 3);
  const first = openPatch(p1.node.url, location, cookie, file.length, file.subarray(0, third));
  await spooled(p1.tmp, third);

  // The same upload from offset 0 through process 2, while process 1 still writes it.
  let answeredAt = 0;
  const second = patchUpload(p2.client, location, 0, file).then((res) => {
    answeredAt = Date.now();
    return res;
  });
  // Process 2 waits for the lock process 1's request holds.
  await waitFor(() => p2.node.logs.some((l) => l.msg === TUS_LOCK_WAIT), {
    timeoutMs: 10_000,
    what: 'process 2 to wait for the upload',
  });
  expect(answeredAt).toBe(0);
  const cutAt = Date.now();
  first.destroy();
  const res = await second;
  expect(answeredAt).toBeGreaterThanOrEqual(cutAt);
  // By then process 1 had kept a third: offset 0 is stale, and tus says so.
  expect(res.status, await res.clone().text()).toBe(409);

  const kept = await uploadOffset(p2.client, location);
  expect(kept).toBe(third);
  const done = await patchUpload(p2.client, location, third, file.subarray(third));
  expect(done.status, await done.clone().text()).toBe(204);
  const pictureId = done.headers.get('mosaic-picture-id') ?? '';
  expect((await servedBytes(p2.client, pictureId)).equals(file)).toBe(true);
});

test('the same bytes uploaded through two processes at once make one picture: one 201, one 200', async () => {
  const [p1, p2] = site as [(typeof site)[0], (typeof site)[0]];
  for (let round = 0; round < 6; round++) {
    const file = await makeImage({ width: 300, height: 200, format: 'jpeg', seed: 900 + round });
    const [a, b] = await Promise.all(
      [p1, p2].map((p, i) =>
        p.client.upload<Picture>({ file, fields: { title: `round ${round} via p${i + 1}` } }),
      ),
    );
    if (!a || !b) throw new Error('two answers expected');
    // One upload made the picture; the other was told it already existed, and which it is.
    expect([a.status, b.status].sort(), `round ${round}`).toEqual([200, 201]);
    expect(a.body.id).toBe(b.body.id);
    const creator = a.status === 201 ? a : b;
    const kept = await p1.client.get<Picture>(`/api/pictures/${a.body.id}`);
    expect(kept.body.title).toBe(creator.body.title);
  }
});

test('an upload finished through one process is gone at the other, not whole', async () => {
  const [p1, p2] = site as [(typeof site)[0], (typeof site)[0]];
  const file = await makeImage({ width: 300, height: 200, seed: 93 });
  const location = await create(p1.client, file.length, 'IMG_0093.png');
  const half = Math.floor(file.length / 2);
  expect((await patchUpload(p1.client, location, 0, file.subarray(0, half))).status).toBe(204);
  const done = await patchUpload(p2.client, location, half, file.subarray(half));
  expect(done.status, await done.clone().text()).toBe(204);
  // Before, process 1 kept the upload's .info in memory and took the finished multipart upload
  // for one whole and waiting: it answered 200 with the whole length (a HEAD that made the
  // picture from it now would find no bytes).
  expect((await p1.client.fetch(location, { method: 'HEAD', headers: TUS })).status).toBe(404);
});
