/**
 * The scale bench's floor (bench/scale.bench.ts): the S3 store's own rate and CPU, no Mosaic in
 * between.
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { readFile } from 'node:fs/promises';
import type { SwiftServer } from '../../test/helpers/swift.js';
import type { Point } from './scale-report.js';
import { phase, type Site } from './scale-site.js';

/**
 * The store's own rate and cost, no Mosaic in between: 200 KB PUTs and GETs with the AWS SDK
 * (the client settings of S3BlobStore) at the same concurrency as the site's clients.
 */
export async function rawS3(
  swift: SwiftServer,
  images: readonly string[],
  settings: {
    readonly uploadClients: number;
    readonly readClients: number;
    readonly seconds: number;
  },
): Promise<Point> {
  const client = new S3Client({
    region: swift.region,
    endpoint: swift.endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
  });
  const Bucket = 'bench-scale-raw';
  await client.send(new CreateBucketCommand({ Bucket }));
  const site: Site = { nodes: [], cookie: '', postgresPid: null, swiftPid: swift.pid ?? null };
  const keys: string[] = [];
  let next = 0;
  const upload = await phase(site, settings.uploadClients, settings.seconds, async () => {
    const file = images[next];
    const Key = `raw-${next++}`;
    if (file === undefined) return null;
    const Body = await readFile(file);
    await client.send(new PutObjectCommand({ Bucket, Key, Body, ContentLength: Body.length }));
    keys.push(Key);
    return '';
  });
  let read = 0;
  const file = await phase(site, settings.readClients, settings.seconds, async () => {
    const res = await client.send(
      new GetObjectCommand({ Bucket, Key: keys[read++ % keys.length] }),
    );
    const bytes = await res.Body?.transformToByteArray();
    return bytes !== undefined && bytes.length > 0 ? '' : 'GET: empty body';
  });
  client.destroy();
  const label = 'S3 alone (SDK -> Swift)';
  return {
    label,
    kind: 'raw',
    processes: 0,
    phases: { upload, file },
    listed: 0,
    created: 0,
    idleCores: 0,
  };
}
