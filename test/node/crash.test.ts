/**
 * A node killed (SIGKILL) in the middle of a large upload leaves nothing behind: after a
 * restart on the same data dir there is no partial blob, no record, and the same upload works.
 */
import { createHash, randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
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
  type NodeProcess,
  type Picture,
  type PictureList,
} from '../helpers/node-process.js';

const SENT_BEFORE_PAUSE = 4 * 1024 * 1024;
const CHUNK = 256 * 1024;

let node: NodeProcess;
let cookie: string;
let big: Buffer;

beforeAll(async () => {
  [node, big] = await Promise.all([
    startNode(),
    // About 30 MB: an uncompressed PNG of noise, 3200 x 3200 x 3 bytes.
    makeImage({ width: 3200, height: 3200, format: 'png', seed: 42 }),
  ]);
  cookie = await login(node.url, 'admin', ADMIN_PASSWORD);
});

afterAll(cleanup);

/**
 * A multipart body that sends the title, then the first SENT_BEFORE_PAUSE bytes of the file,
 * then stalls (never finishing the body) until the test has cut the request and calls `release`.
 */
function stalledUpload(file: Buffer, boundary: string) {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nBig one\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n` +
      `Content-Type: image/png\r\n\r\n`,
  );
  let offset = 0;
  let sentHead = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!sentHead) {
        sentHead = true;
        controller.enqueue(head);
        return;
      }
      if (offset >= SENT_BEFORE_PAUSE) {
        await gate;
        // By now the request is dead; error() is a no-op on a cancelled stream (close() throws).
        controller.error(new Error('upload released'));
        return;
      }
      controller.enqueue(file.subarray(offset, offset + CHUNK));
      offset += CHUNK;
    },
  });
  return { body, release };
}

/** Resolves once a file in <data>/tmp holds more than 1 MiB: the node is mid-upload. */
async function uploadInProgress(tmpDir: string): Promise<void> {
  await waitFor(
    async () => {
      for (const name of await filesUnder(tmpDir)) {
        const { size } = await stat(join(tmpDir, name)).catch(() => ({ size: 0 }));
        if (size > 1024 * 1024) return true;
      }
      return false;
    },
    { what: 'a growing temp file in <data>/tmp' },
  );
}

test('a client that disconnects mid-upload leaves no temp file, without a restart', async () => {
  const tmpDir = join(node.dataDir, 'tmp');
  const boundary = `mosaic-${randomBytes(8).toString('hex')}`;
  const { body, release } = stalledUpload(big, boundary);
  const abort = new AbortController();
  const upload = fetch(`${node.url}/api/pictures`, {
    method: 'POST',
    headers: { cookie, 'content-type': `multipart/form-data; boundary=${boundary}` },
    body,
    duplex: 'half',
    signal: abort.signal,
  }).catch((error: unknown) => error);

  await uploadInProgress(tmpDir);
  abort.abort();
  expect(await upload).toBeInstanceOf(Error);
  release();
  await waitFor(async () => (await filesUnder(tmpDir)).length === 0, {
    what: 'the temp file to be removed',
  });
  expect(await filesUnder(join(node.dataDir, 'blobs'))).toEqual([]);
  expect((await api(node.url, cookie).get<PictureList>('/api/pictures')).body.items).toEqual([]);
});

test('SIGKILL during a large upload: no partial blob, no record; the same upload works after restart', async () => {
  expect(big.length).toBeGreaterThan(29_000_000);
  const id = createHash('sha256').update(big).digest('hex');
  const tmpDir = join(node.dataDir, 'tmp');
  const boundary = `mosaic-${randomBytes(8).toString('hex')}`;
  const { body, release } = stalledUpload(big, boundary);

  const upload = fetch(`${node.url}/api/pictures`, {
    method: 'POST',
    headers: { cookie, 'content-type': `multipart/form-data; boundary=${boundary}` },
    body,
    duplex: 'half',
  }).then(
    (res) => ({ status: res.status }),
    (error: unknown) => ({ error }),
  );

  // The node is streaming the file into <data>/tmp.
  await uploadInProgress(tmpDir);

  await node.kill();
  expect(await upload).toHaveProperty('error'); // the connection died mid-request
  release();

  await node.restart();
  expect(await filesUnder(tmpDir)).toEqual([]);
  expect(await filesUnder(join(node.dataDir, 'blobs'))).toEqual([]);

  const admin = api(node.url, cookie);
  const list = await admin.get<PictureList>('/api/pictures');
  expect(list.status).toBe(200);
  expect(list.body).toEqual({ items: [], nextCursor: null });
  expect((await admin.get(`/api/pictures/${id}`)).status).toBe(404);
  expect((await api(node.url).get('/healthz')).status).toBe(200);

  const again = await admin.upload<Picture>({
    file: big,
    filename: 'big.png',
    fields: { title: 'Big one' },
  });
  expect(again.status, JSON.stringify(again.body)).toBe(201);
  expect(again.body).toMatchObject({ id, size: big.length, width: 3200, height: 3200 });
  expect(await filesUnder(join(node.dataDir, 'blobs'))).toEqual([join(id.slice(0, 2), id)]);
  expect(await filesUnder(tmpDir)).toEqual([]);
  const file = await admin.fetch(`/api/pictures/${id}/file`);
  expect(
    createHash('sha256')
      .update(Buffer.from(await file.arrayBuffer()))
      .digest('hex'),
  ).toBe(id);
});
