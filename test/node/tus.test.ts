/**
 * Resumable uploads through the tus protocol against a real node, spoken over plain HTTP as a
 * client would: an upload cut off half-way resumes from what the node says it has and becomes
 * the same picture a multipart upload makes; uploads are private to their account.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ADMIN_PASSWORD,
  addUser,
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
import { createUpload, openPatch, patchUpload, TUS, uploadOffset } from '../helpers/tus.js';

const MAX_UPLOAD = 8_000_000;

let node: NodeProcess;
let adminCookie: string;
let admin: Api;
let bob: Api;

beforeAll(async () => {
  node = await startNode({ args: ['--max-upload-bytes', String(MAX_UPLOAD)] });
  adminCookie = await login(node.url, 'admin', ADMIN_PASSWORD);
  admin = api(node.url, adminCookie);
  await addUser(node.dataDir, 'bob', 'bob-password-1');
  bob = api(node.url, await login(node.url, 'bob', 'bob-password-1'));
});

afterAll(cleanup);

async function offsetOf(client: Api, location: string): Promise<number> {
  const offset = await uploadOffset(client, location);
  expect(offset).toBeDefined();
  return offset ?? -1;
}

describe('tus uploads', () => {
  test('an upload cut off at 50 % resumes where the node says and makes the picture', async () => {
    const file = await makeImage({ width: 1200, height: 900, seed: 77 });
    expect(file.length).toBeGreaterThan(2_000_000);
    const created = await createUpload(admin, file.length, {
      filename: 'IMG_2044.png',
      category: 'trip',
    });
    expect(created.status).toBe(201);
    const location = created.headers.get('location') ?? '';
    expect(location).toMatch(/^\/api\/uploads\/tus\/[0-9a-f]+$/);
    const id = location.split('/').pop() ?? '';

    // The first half goes out in a PATCH for the whole file, and the connection drops.
    const half = Math.floor(file.length / 2);
    const cut = openPatch(node.url, location, adminCookie, file.length, file.subarray(0, half));
    const partial = join(node.dataDir, 'tus', id);
    await waitFor(async () => {
      const bytes = await readFile(partial).catch(() => Buffer.alloc(0));
      return bytes.length >= half;
    });
    cut.destroy();

    // The node says how much it kept; the rest is sent from there.
    const kept = await waitFor(() => uploadOffset(admin, location));
    expect(kept).toBe(half);
    const done = await patchUpload(admin, location, kept, file.subarray(kept));
    expect(done.status, await done.clone().text()).toBe(204);
    expect(done.headers.get('mosaic-picture-created')).toBe('true');
    const pictureId = done.headers.get('mosaic-picture-id') ?? '';

    const picture = await admin.get<Picture>(`/api/pictures/${pictureId}`);
    expect(picture.body).toMatchObject({ title: 'IMG_2044', category: 'trip', size: file.length });
    const bytes = Buffer.from(
      await (await admin.fetch(`/api/pictures/${pictureId}/file`)).arrayBuffer(),
    );
    expect(bytes.equals(file)).toBe(true);
    // Nothing left behind in the tus area.
    expect((await filesUnder(join(node.dataDir, 'tus'))).filter((f) => f.startsWith(id))).toEqual(
      [],
    );
  });

  test('an upload is private to its account, and the node refuses what it should', async () => {
    const file = await makeImage({ seed: 78 });
    const created = await createUpload(admin, file.length, { filename: 'a.png' });
    const location = created.headers.get('location') ?? '';
    expect((await bob.fetch(location, { method: 'HEAD', headers: TUS })).status).toBe(404);
    expect((await patchUpload(bob, location, 0, file)).status).toBe(404);
    expect(await offsetOf(admin, location)).toBe(0);
    // The protocol's own refusals come in the error shape too: a wrong offset is a 409.
    const wrong = await patchUpload(admin, location, 5, file.subarray(5));
    expect(wrong.status).toBe(409);
    expect(await wrong.json()).toMatchObject({ error: { code: 'conflict' } });
    const noVersion = await admin.fetch(location, { method: 'HEAD' });
    expect(noVersion.status).toBe(412);

    const anonymous = api(node.url);
    expect((await createUpload(anonymous, 10, { filename: 'x.png' })).status).toBe(401);
    const big = await createUpload(admin, MAX_UPLOAD + 1, { filename: 'big.png' });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({
      error: {
        code: 'payload_too_large',
        message: `The upload is larger than the limit of ${MAX_UPLOAD} bytes.`,
      },
    });
    const untitled = await createUpload(admin, 10, { title: '   ' });
    expect(untitled.status).toBe(400);
    expect(await untitled.json()).toMatchObject({ error: { code: 'validation_failed' } });

    // A file that is not an image is refused once complete, with the error shape, no path.
    const text = Buffer.from('this is not an image, just some words');
    const c = await createUpload(admin, text.length, { filename: 'notes.jpg' });
    const refused = await patchUpload(admin, c.headers.get('location') ?? '', 0, text);
    expect(refused.status).toBe(415);
    const body = await refused.text();
    expect(JSON.parse(body)).toMatchObject({ error: { code: expect.any(String) as unknown } });
    expect(body).not.toMatch(/\/tmp|\/work|tus\//);
  });

  test('the same bytes through tus again answer with the existing picture', async () => {
    const file = await makeImage({ seed: 79 });
    const first = await admin.upload<Picture>({ file, fields: { title: 'multipart' } });
    const c = await createUpload(admin, file.length, { filename: 'again.png' });
    const res = await patchUpload(admin, c.headers.get('location') ?? '', 0, file);
    expect(res.status).toBe(204);
    expect(res.headers.get('mosaic-picture-created')).toBe('false');
    expect(res.headers.get('mosaic-picture-id')).toBe(first.body.id);
  });
});
