/**
 * The S3 store's local read cache (src/blobs/read-cache.ts) on a real Swift, and what it must
 * never do on a scaled site (issue 13):
 *
 * - an upload is kept in its process's cache: the uploader's reads make no GET (`/metrics`
 *   counts each process's reads by source);
 * - concurrent reads of a blob the process does not hold make one GET, not one each;
 * - a picture deleted, emptied from the trash or unshared through one process is refused at
 *   once by another process that holds its bytes in its cache, and served again once restored;
 *   a session signed out through one process is refused by the other at once.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { expect, test } from 'vitest';
import { S3BlobStore } from '../../src/blobs/s3-blob-store.js';
import { freePort, newClusterKey } from '../helpers/cluster.js';
import {
  ADMIN_PASSWORD,
  api,
  login,
  makeImage,
  makeTempDir,
  startNode,
  type Api,
  type NodeProcess,
  type Picture,
} from '../helpers/node-process.js';
import { siteEnv, useSharedServers } from '../helpers/shared-servers.js';

const servers = useSharedServers();

/** A store as one process of a site opens it (its own scratch and cache), counting its requests. */
async function processStore(bucket: string): Promise<{
  store: S3BlobStore;
  sent: string[];
  done: () => Promise<void>;
}> {
  const { swift } = servers();
  const scratch = await makeTempDir('mosaic-read-cache-');
  const store = new S3BlobStore({
    bucket,
    endpoint: swift.endpoint,
    region: swift.region,
    credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
    scratchDir: join(scratch, 'scratch'),
  });
  await store.init();
  const sent: string[] = [];
  store.client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return {
    store,
    sent,
    done: async () => {
      await store.close();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

/** A blob of `size` random bytes written by one process of a site, to be read by another. */
async function writtenByAnother(size: number): Promise<{
  bytes: Buffer;
  hash: string;
  reader: Awaited<ReturnType<typeof processStore>>;
  done: () => Promise<void>;
}> {
  const bucket = `rc-${randomUUID().slice(0, 8)}`;
  const writer = await processStore(bucket);
  const reader = await processStore(bucket);
  const bytes = randomBytes(size);
  const staged = await writer.store.stage(Readable.from([bytes]), 1_000_000);
  await writer.store.commit(staged);
  return {
    bytes,
    hash: staged.hash,
    reader,
    done: async () => {
      await writer.done();
      await reader.done();
    },
  };
}

test('an upload is kept in its process cache: reading it back makes no GET', async () => {
  const { store, sent, done } = await processStore(`rc-${randomUUID().slice(0, 8)}`);
  try {
    const bytes = randomBytes(200_000);
    const staged = await store.stage(Readable.from([bytes]), 1_000_000);
    await store.commit(staged);
    sent.length = 0;
    expect((await buffer(await store.read(staged.hash))).equals(bytes)).toBe(true);
    const range = await buffer(await store.read(staged.hash, { start: 10, end: 19 }));
    expect(range.equals(bytes.subarray(10, 20))).toBe(true);
    expect(sent).toEqual([]);
    expect(store.reads).toMatchObject({ cache: 2, store: 0 });
  } finally {
    await done();
  }
});

test('concurrent reads of a blob another process wrote make one GET', async () => {
  const { bytes, hash, reader, done } = await writtenByAnother(300_000);
  try {
    const read = await Promise.all(
      Array.from({ length: 6 }, async () => buffer(await reader.store.read(hash))),
    );
    expect(read.every((b) => b.equals(bytes))).toBe(true);
    expect(reader.sent).toEqual(['GetObjectCommand']);
    expect(reader.store.reads).toMatchObject({ cache: 5, store: 1, joined: 5 });
  } finally {
    await done();
  }
});

test('a reader that stops early does not keep a copy; the next reader gets the whole blob', async () => {
  const { bytes, hash, reader, done } = await writtenByAnother(400_000);
  try {
    const first = await reader.store.read(hash);
    const joined = reader.store.read(hash);
    // The first reader takes one chunk and goes away: the one waiting asks the store itself.
    for await (const chunk of first) {
      expect((chunk as Buffer).length).toBeGreaterThan(0);
      break;
    }
    expect((await buffer(await joined)).equals(bytes)).toBe(true);
    expect(reader.sent).toEqual(['GetObjectCommand', 'GetObjectCommand']);
    expect(reader.store.reads).toMatchObject({ store: 2, joined: 1 });
  } finally {
    await done();
  }
});

test('a range read does not wait for a whole read of the blob under way (a video seeking)', async () => {
  const { bytes, hash, reader, done } = await writtenByAnother(400_000);
  try {
    const whole = await reader.store.read(hash); // not read yet: its copy is not kept
    const range = await buffer(await reader.store.read(hash, { start: 5, end: 9 }));
    expect(range.equals(bytes.subarray(5, 10))).toBe(true);
    expect(reader.store.reads).toMatchObject({ store: 2, joined: 0 });
    expect((await buffer(whole)).equals(bytes)).toBe(true);
  } finally {
    await done();
  }
});

/** A process's picture reads by source, from its `/metrics`. */
async function blobReads(client: Api): Promise<{ cache: number; store: number }> {
  const text = await (await client.fetch('/metrics')).text();
  const count = (source: string): number =>
    Number(new RegExp(`mosaic_blob_reads_total\\{source="${source}"\\} (\\d+)`).exec(text)?.[1]);
  return { cache: count('cache'), store: count('store') };
}

async function file(client: Api, id: string): Promise<{ status: number; bytes: Buffer }> {
  const res = await client.fetch(`/api/pictures/${id}/file`);
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}

test('bytes cached by one process are refused there once another deletes or unshares the picture', async () => {
  const env = await siteEnv(servers(), 'read-cache');
  const key = newClusterKey();
  const site: NodeProcess[] = [];
  for (let i = 0; i < 2; i++) {
    const args = ['--port', String(await freePort()), '--cluster-key', key, '--discovery', 'off'];
    site.push(await startNode({ args: [...args, '--name', 'scaled'], env }));
  }
  const [one, two] = site as [NodeProcess, NodeProcess];
  const cookie = await login(one.url, 'admin', ADMIN_PASSWORD);
  const [a, b] = [api(one.url, cookie), api(two.url, cookie)];
  const image = await makeImage({ seed: 1301 });
  const up = await a.upload<Picture>({ file: image, fields: { title: 'cached' } });
  expect(up.status).toBe(201);
  const id = up.body.id;
  // Both processes now hold the bytes: the uploader since the upload, the other once read.
  for (const client of [a, b]) {
    const got = await file(client, id);
    expect(got.status).toBe(200);
    expect(got.bytes.equals(Buffer.from(image))).toBe(true);
  }
  // The uploader served it from the copy its upload left; the other process asked the store.
  expect(await blobReads(a)).toEqual({ cache: 1, store: 0 });
  expect(await blobReads(b)).toEqual({ cache: 0, store: 1 });
  const share = await a.post<{ id: string }>('/api/shares', { target: 'picture', targetId: id });
  expect(share.status).toBe(201);
  const shared = `/api/s/${share.body.id}/pictures/${id}/file`;
  expect((await fetch(`${two.url}${shared}`)).status).toBe(200);

  // Unshared through one process: the link is dead at the other at once.
  expect((await a.delete(`/api/shares/${share.body.id}`)).status).toBeLessThan(300);
  expect((await fetch(`${two.url}${shared}`)).status).toBe(404);

  // Deleted through one process: the other refuses it at once, its cached copy notwithstanding.
  expect((await a.delete(`/api/pictures/${id}`)).status).toBeLessThan(300);
  expect((await file(b, id)).status).toBe(404);
  expect((await file(a, id)).status).toBe(404);

  // Restored through the other process: served again, the same bytes, by both.
  expect((await b.post(`/api/trash/${id}/restore`)).status).toBeLessThan(300);
  for (const client of [a, b]) {
    const got = await file(client, id);
    expect(got.status).toBe(200);
    expect(got.bytes.equals(Buffer.from(image))).toBe(true);
  }

  // Deleted and emptied from the trash: gone at both.
  expect((await b.delete(`/api/pictures/${id}`)).status).toBeLessThan(300);
  expect((await a.delete(`/api/trash/${id}`)).status).toBeLessThan(300);
  expect((await file(a, id)).status).toBe(404);
  expect((await file(b, id)).status).toBe(404);

  // Signed out through one process: the other refuses the session at once (the file route
  // reads the session and the picture in one statement, a gallery page the session and the
  // page).
  const again = await a.upload<Picture>({
    file: await makeImage({ seed: 1302 }),
    fields: { title: 'again' },
  });
  expect(again.status).toBe(201);
  expect((await file(b, again.body.id)).status).toBe(200);
  // An album's page (one statement of the view's columns and the facts) shows the picture as
  // `get` does, facts included.
  const album = await a.post<{ id: string }>('/api/albums', { name: 'Scaled' });
  expect(album.status).toBe(201);
  expect(
    (await a.post(`/api/albums/${album.body.id}/pictures`, { add: [again.body.id] })).status,
  ).toBe(200);
  const viewed = (await b.get<Record<string, unknown>>(`/api/pictures/${again.body.id}`)).body;
  const albumPage = await b.get<{ items: Record<string, unknown>[] }>(
    `/api/albums/${album.body.id}/pictures`,
  );
  expect(albumPage.body.items).toHaveLength(1);
  const item = albumPage.body.items[0] ?? {};
  expect(Object.keys(item)).toContain('takenAt');
  expect(item).toEqual(viewed);
  const pages = ['/api/pictures', '/api/pictures?sort=taken', '/api/pictures?limit=1'];
  for (const page of pages) {
    const got = await b.get<{ items: Picture[] }>(page);
    expect(got.status).toBe(200);
    expect(got.body.items[0]?.id).toBe(again.body.id);
  }
  expect((await a.post('/api/auth/logout')).status).toBeLessThan(300);
  expect((await file(b, again.body.id)).status).toBe(401);
  expect((await file(a, again.body.id)).status).toBe(401);
  // Also with a query the route refuses (401 first, as for any request without a session).
  for (const page of [...pages, '/api/pictures?limit=0', '/api/pictures?cursor=nope']) {
    for (const client of [a, b]) {
      const got = await client.get(page);
      expect({ page, status: got.status, body: got.body }).toMatchObject({
        page,
        status: 401,
        body: { error: { code: 'unauthorized' } },
      });
    }
  }
}, 120_000);
