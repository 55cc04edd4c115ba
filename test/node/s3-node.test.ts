/**
 * A node with --blobs s3://… (and its SQLite metadata) on a real S3 server, OpenStack Swift with
 * s3api (test/helpers/swift.ts): the requests an upload sends, bytes, thumbnails and trash kept
 * in the bucket, replication with a node on local files, and an upload while the store stops
 * answering. Resumable (tus) uploads while the store fails: s3-tus.test.ts. The adapter alone:
 * s3-blob-store.test.ts. Fails, never skips, when Swift is not installed.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { expect, test } from 'vitest';
import {
  ADMIN_PASSWORD,
  api,
  filesUnder,
  login,
  makeImage,
  startNode,
  waitFor,
  type Picture,
} from '../helpers/node-process.js';
import { freePort, newClusterKey } from '../helpers/cluster.js';
import { countingProxy, startS3Node } from '../helpers/s3-node.js';
import { useSwift } from '../helpers/use-swift.js';

const swiftServer = useSwift();

test('an upload through a node on S3 sends the store two requests: the blob and its thumbnail', async () => {
  const swift = swiftServer();
  const proxy = await countingProxy(swift.endpoint);
  const bucket = `count-node-${randomUUID().slice(0, 8)}`;
  const node = await startS3Node(swift, `${bucket}?endpoint=${proxy.url}&region=${swift.region}`);
  try {
    const admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    proxy.seen.length = 0;
    const bytes = await makeImage({ width: 400, height: 300, format: 'jpeg', seed: 11 });
    const up = await admin.upload<Picture>({ file: bytes, fields: { title: 'counted' } });
    expect(up.status, JSON.stringify(up.body)).toBe(201);
    const id = up.body.id;
    // An edit settles the picture's bytes (one HEAD), after anything the upload left queued
    // for this picture: once that HEAD is seen, the upload's requests are all in.
    expect((await admin.patch(`/api/pictures/${id}`, { title: 'edited' })).status).toBe(200);
    const blob = `HEAD /${bucket}/blobs/${id}`;
    await waitFor(() => proxy.seen.includes(blob), { what: 'the settle after the edit' });
    expect(proxy.seen.filter((r) => r.includes(id))).toEqual([
      `PUT /${bucket}/named/${id}.small.webp`,
      `PUT /${bucket}/blobs/${id}`,
      blob,
    ]);
  } finally {
    await node.stop();
    await proxy.close();
  }
});

test('a node with --blobs s3://… keeps bytes, thumbnails and trash in the bucket', async () => {
  const swift = swiftServer();
  const bucket = 'mosaic-node';
  const node = await startS3Node(
    swift,
    `${bucket}/site-a?endpoint=${swift.endpoint}&region=${swift.region}`,
  );
  const s3 = new S3Client({
    endpoint: swift.endpoint,
    region: swift.region,
    forcePathStyle: true,
    credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
  });
  const exists = (key: string) =>
    s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
      () => true,
      () => false,
    );
  try {
    const admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    const bytes = await makeImage({ width: 400, height: 300, format: 'jpeg', seed: 7 });
    const up = await admin.upload<Picture>({ file: bytes, fields: { title: 'in the bucket' } });
    expect(up.status, JSON.stringify(up.body)).toBe(201);
    const id = up.body.id;
    expect(await exists(`site-a/blobs/${id}`)).toBe(true);
    expect(await exists(`site-a/named/${id}.small.webp`)).toBe(true);
    expect(await filesUnder(join(node.dataDir, 'blobs'))).toEqual([]);

    const whole = await admin.fetch(`/api/pictures/${id}/file`);
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);
    const part = await admin.fetch(`/api/pictures/${id}/file`, {
      headers: { range: 'bytes=10-19' },
    });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(10, 20))).toBe(true);
    const large = await admin.fetch(`/api/pictures/${id}/thumb?size=large`);
    expect(large.status).toBe(200);
    expect(large.headers.get('content-type')).toBe('image/webp');
    expect(await exists(`site-a/named/${id}.large.webp`)).toBe(true);

    await node.restart();
    const again = await admin.fetch(`/api/pictures/${id}/file`);
    expect(Buffer.from(await again.arrayBuffer()).equals(bytes)).toBe(true);

    expect((await admin.delete(`/api/pictures/${id}`)).status).toBe(204);
    expect(await exists(`site-a/blobs/${id}`)).toBe(false);
    expect(await exists(`site-a/trash/${id}`)).toBe(true);
    // The small thumbnail stays while the bytes are in the trash (the trash page shows it).
    expect(await exists(`site-a/named/${id}.small.webp`)).toBe(true);
    expect(await exists(`site-a/named/${id}.large.webp`)).toBe(false);
  } finally {
    s3.destroy();
    await node.stop();
  }
});

test('a node on S3 and a node on local files replicate pictures both ways', async () => {
  const swift = swiftServer();
  const key = newClusterKey();
  const ports = [await freePort(), await freePort()] as const;
  const common = ['--cluster-key', key, '--sync-interval-ms', '300', '--discovery', 'off'];
  const local = await startNode({
    args: [
      '--port',
      String(ports[0]),
      '--name',
      'local',
      '--peer',
      `http://127.0.0.1:${ports[1]}`,
      ...common,
    ],
  });
  const onS3 = await startNode({
    args: [
      '--port',
      String(ports[1]),
      '--name',
      's3',
      '--peer',
      `http://127.0.0.1:${ports[0]}`,
      ...common,
    ],
    env: {
      MOSAIC_BLOBS: `s3://mosaic-pair?endpoint=${swift.endpoint}`,
      AWS_ACCESS_KEY_ID: swift.accessKeyId,
      AWS_SECRET_ACCESS_KEY: swift.secretAccessKey,
    },
  });
  try {
    const a = api(local.url, await login(local.url, 'admin', ADMIN_PASSWORD));
    const b = api(onS3.url, await login(onS3.url, 'admin', ADMIN_PASSWORD));
    // Above the 8 MiB part size, so the S3 node stores it by multipart upload.
    const big = await makeImage({ width: 2000, height: 1600, format: 'png', seed: 11 });
    expect(big.length).toBeGreaterThan(8 * 1024 * 1024);
    const small = await makeImage({ width: 300, height: 200, format: 'jpeg', seed: 12 });
    const fromLocal = await a.upload<Picture>({ file: big, fields: { title: 'from local' } });
    expect(fromLocal.status).toBe(201);
    const fromS3 = await b.upload<Picture>({ file: small, fields: { title: 'from s3' } });
    expect(fromS3.status).toBe(201);
    const served = async (client: typeof a, id: string, bytes: Buffer) => {
      const res = await client.fetch(`/api/pictures/${id}/file`);
      if (res.status !== 200) return false;
      return Buffer.from(await res.arrayBuffer()).equals(bytes);
    };
    await waitFor(() => served(b, fromLocal.body.id, big), {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'the local upload served by the S3 node',
    });
    await waitFor(() => served(a, fromS3.body.id, small), {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'the S3 upload served by the local node',
    });
    // The S3 node fetched into its scratch area and left nothing there (its read cache keeps
    // whole, verified copies of what it served: not leftovers).
    const leftovers = async () =>
      (await filesUnder(join(onS3.dataDir, 's3-scratch'))).filter(
        (f) => !/^(pictures|events)\/cache\//.test(f),
      );
    let left: string[] = [];
    await waitFor(async () => (left = await leftovers()).length === 0, {
      what: 'the scratch area to be empty',
    }).catch(() => {
      expect(left).toEqual([]);
    });
  } finally {
    await Promise.all([local.stop(), onS3.stop()]);
  }
});

test('a store that stops answering fails an upload with 503 within its timeout, and changes nothing', async () => {
  const swift = swiftServer();
  const proxy = await countingProxy(swift.endpoint);
  const node = await startS3Node(
    swift,
    `mosaic-hang?endpoint=${proxy.url}&region=${swift.region}&timeout=1`,
  );
  try {
    const client = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    const image = (seed: number) => makeImage({ width: 96, height: 64, format: 'jpeg', seed });
    const first = await client.upload<Picture>({
      file: await image(1),
      fields: { title: 'before' },
    });
    expect(first.status).toBe(201);

    proxy.hang = true;
    const started = Date.now();
    const hung = await client.upload({ file: await image(2), fields: { title: 'while hung' } });
    const tookMs = Date.now() - started;
    expect(hung.status, JSON.stringify(hung.body)).toBe(503);
    expect(hung.body).toMatchObject({ error: { code: 'unavailable' } });
    // 1 s a try, 3 tries (and the back-off between them): seconds, not for ever.
    expect(tookMs).toBeLessThan(15_000);
    const titles = async () =>
      (await client.get<{ items: Picture[] }>('/api/pictures')).body.items.map((p) => p.title);
    expect(await titles()).toEqual(['before']);

    proxy.hang = false;
    const after = await client.upload({ file: await image(3), fields: { title: 'after' } });
    expect(after.status).toBe(201);
    expect((await titles()).sort()).toEqual(['after', 'before']);
    expect(await node.stop()).toBe(0);
  } finally {
    await proxy.close();
  }
});
