/**
 * Resumable (tus) uploads to a node on --blobs s3://… (a real Swift, test/helpers/swift.ts) while
 * the store fails: it stops answering or is down mid-upload (503 within the timeout, then the
 * upload resumes where it stopped); it goes down as the last PATCH makes the picture (the next
 * HEAD makes it); the upload's removal was cut short, its .info left (HEAD says gone). A node on
 * S3 otherwise: s3-node.test.ts. Fails, never skips, when Swift is not installed.
 */
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { expect, test } from 'vitest';
import { ADMIN_PASSWORD, api, login, makeImage, type Api } from '../helpers/node-process.js';
import { countingProxy, startS3Node } from '../helpers/s3-node.js';
import { useSwift } from '../helpers/use-swift.js';
import { createUpload, patchUpload, TUS, uploadOffset } from '../helpers/tus.js';

const swiftServer = useSwift();

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

test('a tus upload while the store stops answering: 503 within its timeout, then it resumes', async () => {
  const swift = swiftServer();
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
  const swift = swiftServer();
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
  const swift = swiftServer();
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
  const swift = swiftServer();
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
