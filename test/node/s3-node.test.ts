/**
 * A node with --blobs s3://… (and its SQLite metadata) on a real S3 server, OpenStack Swift with
 * s3api (test/helpers/swift.ts): the requests an upload sends, bytes, thumbnails and trash kept
 * in the bucket, and replication with a node on local files. The adapter alone:
 * s3-blob-store.test.ts. Fails, never skips, when Swift is not installed.
 */
import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  ADMIN_PASSWORD,
  api,
  cleanup,
  filesUnder,
  login,
  makeImage,
  startNode,
  waitFor,
  type Api,
  type NodeProcess,
  type Picture,
} from '../helpers/node-process.js';
import { freePort, newClusterKey } from '../helpers/cluster.js';
import { startSwift, type SwiftServer } from '../helpers/swift.js';
import { createUpload, patchUpload, TUS, uploadOffset } from '../helpers/tus.js';

let running: SwiftServer | undefined;
beforeAll(async () => {
  running = await startSwift();
});
afterAll(async () => {
  await cleanup();
  await running?.stop();
});

/**
 * A pass-through HTTP proxy to the store that notes each request's method and path; while
 * `hang` is set it takes requests and never answers (a store frozen, or cut off by a partition
 * that leaves its sockets open); while `down` is set it drops each connection at once (a store
 * that crashed). `downAt` crashes it at the first request it matches (`method url`, the query
 * included): that request and all after it are dropped.
 */
async function countingProxy(target: string): Promise<{
  url: string;
  seen: string[];
  hang: boolean;
  down: boolean;
  downAt: RegExp | undefined;
  close: () => Promise<void>;
}> {
  const to = new URL(target);
  const seen: string[] = [];
  const state = { hang: false, down: false, downAt: undefined as RegExp | undefined };
  const server = createServer((req, res) => {
    if (state.downAt?.test(`${req.method ?? '?'} ${req.url ?? ''}`)) state.down = true;
    if (state.down) {
      req.socket.destroy();
      return;
    }
    if (state.hang) return;
    seen.push(`${req.method ?? '?'} ${decodeURIComponent((req.url ?? '').split('?')[0] ?? '')}`);
    // Headers (Host included, which the signature covers) pass unchanged.
    const upstream = httpRequest(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    get hang() {
      return state.hang;
    },
    set hang(value: boolean) {
      state.hang = value;
    },
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
    get downAt() {
      return state.downAt;
    },
    set downAt(value: RegExp | undefined) {
      state.downAt = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** A node whose blobs are at `s3://<target>` (bucket, prefix, query) on `swift`. */
function startS3Node(swift: SwiftServer, target: string): Promise<NodeProcess> {
  return startNode({
    args: ['--blobs', `s3://${target}`],
    env: { AWS_ACCESS_KEY_ID: swift.accessKeyId, AWS_SECRET_ACCESS_KEY: swift.secretAccessKey },
  });
}

/**
 * A tus upload of `file` created by `client`, its first half sent: its location, id in the
 * bucket, and where the second half starts.
 */
async function halfUploaded(client: Api, file: Buffer, filename: string) {
  const created = await createUpload(client, file.length, { filename });
  expect(created.status).toBe(201);
  const location = created.headers.get('location') ?? '';
  const half = Math.floor(file.length / 2);
  expect((await patchUpload(client, location, 0, file.subarray(0, half))).status).toBe(204);
  return { location, uploadId: location.split('/').pop() ?? '', half };
}

test('an upload through a node on S3 sends the store two requests: the blob and its thumbnail', async () => {
  const swift = running;
  if (!swift) throw new Error('Swift did not start');
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
  const swift = running;
  if (!swift) throw new Error('Swift did not start');
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
  const swift = running;
  if (!swift) throw new Error('Swift did not start');
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
  const swift = running as SwiftServer;
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

test('a tus upload while the store stops answering: 503 within its timeout, then it resumes', async () => {
  const swift = running as SwiftServer;
  const proxy = await countingProxy(swift.endpoint);
  const node = await startS3Node(
    swift,
    `mosaic-tus-hang?endpoint=${proxy.url}&region=${swift.region}&timeout=1`,
  );
  try {
    const client = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    const file = await makeImage({ width: 300, height: 200, seed: 19 });
    const { location, half } = await halfUploaded(client, file, 'while-hung.png');

    proxy.hang = true;
    // Before, the tus store's client had no timeout: both waited as long as the store did.
    for (const request of [
      () => client.fetch(location, { method: 'HEAD', headers: TUS }),
      () => patchUpload(client, location, half, file.subarray(half)),
    ]) {
      const started = Date.now();
      const res = await request();
      expect(res.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(15_000);
    }

    proxy.hang = false;
    expect(await uploadOffset(client, location)).toBe(half);
    const done = await patchUpload(client, location, half, file.subarray(half));
    expect(done.status, await done.clone().text()).toBe(204);
  } finally {
    await proxy.close();
  }
});

test('a tus upload while the store is down: 503 (not 404 or 500), then it resumes where it stopped', async () => {
  const swift = running as SwiftServer;
  const proxy = await countingProxy(swift.endpoint);
  const node = await startS3Node(
    swift,
    `mosaic-tus-down?endpoint=${proxy.url}&region=${swift.region}`,
  );
  try {
    const client = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    const file = await makeImage({ width: 300, height: 200, seed: 17 });
    const { location, half } = await halfUploaded(client, file, 'while-down.png');

    proxy.down = true;
    // Before: 404 (the store took a failed read of the upload's .info for no upload, and a
    // client told so starts over) and 500 (the store's own S3 errors were not judged).
    const head = await client.fetch(location, { method: 'HEAD', headers: TUS });
    expect(head.status).toBe(503);
    const patch = await patchUpload(client, location, half, file.subarray(half));
    expect(patch.status).toBe(503);
    expect(await patch.json()).toMatchObject({ error: { code: 'unavailable' } });

    proxy.down = false;
    expect(await uploadOffset(client, location)).toBe(half);
    const done = await patchUpload(client, location, half, file.subarray(half));
    expect(done.status, await done.clone().text()).toBe(204);
    const id = done.headers.get('mosaic-picture-id') ?? '';
    const bytes = await client.fetch(`/api/pictures/${id}/file`);
    expect(Buffer.from(await bytes.arrayBuffer()).equals(file)).toBe(true);
  } finally {
    await proxy.close();
  }
});

test('an upload whose last PATCH could not make the picture (the store down): the next HEAD makes it', async () => {
  const swift = running as SwiftServer;
  const proxy = await countingProxy(swift.endpoint);
  const bucket = 'mosaic-tus-settle';
  const node = await startS3Node(swift, `${bucket}?endpoint=${proxy.url}&region=${swift.region}`);
  try {
    const client = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    const file = await makeImage({ width: 300, height: 200, seed: 23 });
    const { location, uploadId, half } = await halfUploaded(client, file, 'settled.png');

    // All the bytes reach the bucket; the store goes down as the node reads them back to make
    // the picture, so neither the picture nor the upload's removal can happen.
    // (GetObject of the upload's key: not its .info or .part, not ListParts' `?uploadId=`.)
    proxy.downAt = new RegExp(`^GET /${bucket}/${uploadId}\\?x-id=GetObject`);
    const last = await patchUpload(client, location, half, file.subarray(half));
    expect(last.status).toBe(503);
    expect(await last.json()).toMatchObject({ error: { code: 'unavailable' } });

    // The client asks how much arrived, as tus clients do after a failed PATCH: all of it,
    // which a tus client takes for done. Before, that was all: no picture was ever made.
    proxy.downAt = undefined;
    proxy.down = false;
    const head = await client.fetch(location, { method: 'HEAD', headers: TUS });
    expect(head.status).toBe(200);
    expect(head.headers.get('upload-offset')).toBe(String(file.length));
    const id = head.headers.get('mosaic-picture-id') ?? '';
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const bytes = await client.fetch(`/api/pictures/${id}/file`);
    expect(Buffer.from(await bytes.arrayBuffer()).equals(file)).toBe(true);
    // Made once, and the upload's leftovers are gone.
    // Before, the store's memory of the upload made the removed upload look whole: 500.
    expect((await client.fetch(location, { method: 'HEAD', headers: TUS })).status).toBe(404);
  } finally {
    await proxy.close();
  }
});

test('an upload made a picture whose removal was cut short (its .info left): HEAD says gone', async () => {
  const swift = running as SwiftServer;
  const bucket = 'mosaic-tus-partial';
  const node = await startS3Node(
    swift,
    `${bucket}?endpoint=${swift.endpoint}&region=${swift.region}`,
  );
  const s3 = new S3Client({
    endpoint: swift.endpoint,
    region: swift.region,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
  });
  try {
    const client = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    const file = await makeImage({ width: 300, height: 200, seed: 29 });
    const { location, uploadId, half } = await halfUploaded(client, file, 'partial.png');
    const info = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${uploadId}.info` }));
    const infoBody = await info.Body?.transformToString();
    const done = await patchUpload(client, location, half, file.subarray(half));
    expect(done.status).toBe(204);

    // The removal deletes the bytes, then the .info: a crash between the two leaves this.
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${uploadId}.info`,
        Body: infoBody ?? '',
        Metadata: info.Metadata ?? {},
      }),
    );
    // Before: the store took the .info without a multipart upload for a whole upload, and the
    // HEAD that makes its picture found no bytes: 500, again and again. A PATCH of nothing at
    // its end was a 500 too; now a 409 (not a 204, which would say the picture is there): a tus
    // client asks the offset again, is told 404, and starts over.
    const empty = await patchUpload(client, location, file.length, new Uint8Array(0));
    expect(empty.status).toBe(409);
    expect((await client.fetch(location, { method: 'HEAD', headers: TUS })).status).toBe(404);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: uploadId }));
    expect(left.Contents ?? []).toEqual([]);
  } finally {
    s3.destroy();
  }
});
