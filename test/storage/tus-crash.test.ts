/**
 * A tus upload on S3 whose process is killed (SIGKILL, through MOSAIC_FAULTS crash points) in
 * the middle of a PATCH keeps every byte it had acknowledged, and counts none twice: the next
 * HEAD (after a restart here; on a scaled site, at another process) answers the offset the
 * client was last told, and the upload finishes into the same bytes.
 *
 * Found by a walk of a scaled site with SIGKILLs during tus uploads: @tus/s3-store deletes an
 * upload's tail (`<id>.part`, the bytes past the last 5 MiB part) as soon as it has read it,
 * before it stores it again joined to the new bytes; a process killed in between lost the
 * tail, and an upload acknowledged at 196 608 bytes came back at offset 0.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  ADMIN_PASSWORD,
  api,
  login,
  makeImage,
  makeTempDir,
  startNode,
  type Api,
  type NodeProcess,
} from '../helpers/node-process.js';
import { startSwift, type SwiftServer } from '../helpers/swift.js';
import { createUpload, patchUpload, TUS, uploadOffset } from '../helpers/tus.js';

let swift: SwiftServer;
let node: NodeProcess;
let faultsFile = '';
let client: Api;

beforeAll(async () => {
  swift = await startSwift();
  faultsFile = join(await makeTempDir('mosaic-tus-crash-'), 'faults.json');
  await writeFile(faultsFile, '{}');
  node = await startNode({
    args: ['--blobs', `s3://tus-crash?endpoint=${swift.endpoint}&region=${swift.region}`],
    env: {
      AWS_ACCESS_KEY_ID: swift.accessKeyId,
      AWS_SECRET_ACCESS_KEY: swift.secretAccessKey,
      MOSAIC_FAULTS: `@${faultsFile}`,
    },
  });
  client = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
}, 120_000);

afterAll(async () => {
  await node.stop();
  await swift.stop();
});

/** Sends `body` from `offset` with the process set to die at `point`; it must die there. */
async function killedAt(point: string, location: string, offset: number, body: Buffer) {
  await writeFile(faultsFile, JSON.stringify({ crashAt: [point] }));
  const exited = new Promise((resolve) => node.process.once('exit', resolve));
  await patchUpload(client, location, offset, body).then(
    (res) => {
      throw new Error(`PATCH answered ${res.status}: not killed at ${point}`);
    },
    () => undefined, // the connection dies with the process
  );
  await exited;
  await writeFile(faultsFile, '{}');
  await node.restart();
  client = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
}

async function finish(location: string, file: Buffer, from: number): Promise<void> {
  const res = await patchUpload(client, location, from, file.subarray(from));
  expect(res.status, await res.text()).toBe(204);
  const id = res.headers.get('mosaic-picture-id') ?? '';
  expect(id).toBe(createHash('sha256').update(file).digest('hex'));
  const served = await client.fetch(`/api/pictures/${id}/file`);
  expect(Buffer.from(await served.arrayBuffer()).equals(file)).toBe(true);
}

test('killed after taking the tail, before storing it again: the tail stays', async () => {
  const file = await makeImage({ width: 200, height: 200, seed: 91 });
  const created = await createUpload(client, file.length, { filename: 'tail.png' });
  expect(created.status).toBe(201);
  const location = created.headers.get('location') ?? '';
  const first = 40_000;
  expect((await patchUpload(client, location, 0, file.subarray(0, first))).status).toBe(204);

  await killedAt('tus.tail-taken', location, first, file.subarray(first, first + 20_000));
  expect(await uploadOffset(client, location)).toBe(first);
  await finish(location, file, first);
});

test('killed after the tail was joined into a part, before deleting it: not counted twice', async () => {
  // 6 MiB: the first 3 MiB wait as a tail; with 3 MiB more they make a part of 6 MiB.
  const file = await makeImage({ width: 1500, height: 1500, seed: 92 });
  expect(file.length).toBeGreaterThan(6 * 1024 * 1024);
  const created = await createUpload(client, file.length, { filename: 'part.png' });
  expect(created.status).toBe(201);
  const location = created.headers.get('location') ?? '';
  const tail = 3 * 1024 * 1024;
  const part = 6 * 1024 * 1024;
  expect((await patchUpload(client, location, 0, file.subarray(0, tail))).status).toBe(204);

  await killedAt('tus.part-stored', location, tail, file.subarray(tail, part));
  expect(await uploadOffset(client, location)).toBe(part);
  await finish(location, file, part);
});

test('killed after storing the last part, before joining the parts: the next HEAD finishes it', async () => {
  const file = await makeImage({ width: 200, height: 200, seed: 93 });
  const created = await createUpload(client, file.length, { filename: 'last.png' });
  expect(created.status).toBe(201);
  const location = created.headers.get('location') ?? '';
  const first = 40_000;
  expect((await patchUpload(client, location, 0, file.subarray(0, first))).status).toBe(204);

  await killedAt('tus.part-stored', location, first, file.subarray(first));
  // The whole file is there: the HEAD makes its picture (it said 404 before, and the client
  // started over).
  const head = await client.fetch(location, { method: 'HEAD', headers: TUS });
  expect(head.status).toBe(200);
  const id = head.headers.get('mosaic-picture-id') ?? '';
  expect(id).toBe(createHash('sha256').update(file).digest('hex'));
  const served = await client.fetch(`/api/pictures/${id}/file`);
  expect(Buffer.from(await served.arrayBuffer()).equals(file)).toBe(true);
});
