/**
 * Hostile and broken requests against one real node (started with --max-upload-bytes 100000):
 * each gets `{error: {code, message}}` with the right status, and changes nothing: the same
 * list, the same blobs, no file left in <data>/tmp.
 */
import { beforeAll, beforeEach, afterEach, describe, expect, test } from 'vitest';
import {
  ADMIN_PASSWORD,
  addUser,
  api,
  filesUnder,
  login,
  makeImage,
  startNode,
  toApiResponse,
  type Api,
  type ApiResponse,
  type NodeProcess,
  type Picture,
  type PictureList,
} from '../helpers/node-process.js';
import { describeEachBackend } from '../helpers/backends.js';

const MAX_UPLOAD = 100_000;
const BOB_PASSWORD = 'bob-password-1';

describeEachBackend('bad input', (backend) => {
  let node: NodeProcess;
  let admin: Api;
  let bob: Api;
  let adminPicture: Picture;
  let bobPicture: Picture;
  /** Taken before each test; afterEach checks that nothing changed. */
  let before: Snapshot;

  interface Snapshot {
    readonly pictures: Picture[];
    readonly blobs: string[];
    readonly trash: string[];
  }

  async function snapshot(): Promise<Snapshot> {
    const list = await admin.get<PictureList>('/api/pictures?limit=200');
    expect(list.status).toBe(200);
    return {
      pictures: list.body.items,
      blobs: await backend.stored(node, 'blobs'),
      trash: await backend.stored(node, 'trash'),
    };
  }

  function expectError(res: ApiResponse, status: number, code?: string): void {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body).toEqual({
      error: {
        code: code ?? (expect.any(String) as unknown),
        message: expect.any(String) as unknown,
      },
    });
  }

  const someId = 'ab'.repeat(32); // well-formed, not a picture

  beforeAll(async () => {
    node = await startNode({ args: ['--max-upload-bytes', String(MAX_UPLOAD)] });
    admin = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    await addUser(node.dataDir, 'bob', BOB_PASSWORD);
    bob = api(node.url, await login(node.url, 'bob', BOB_PASSWORD));
    const a = await admin.upload<Picture>({
      file: await makeImage({ seed: 1 }),
      fields: { title: 'Admin picture' },
    });
    const b = await bob.upload<Picture>({
      file: await makeImage({ seed: 2 }),
      fields: { title: 'Bob picture' },
    });
    expect([a.status, b.status]).toEqual([201, 201]);
    adminPicture = a.body;
    bobPicture = b.body;
  });

  beforeEach(async () => {
    before = await snapshot();
  });

  afterEach(async () => {
    expect(await filesUnder(backend.scratch(node, 'tmp'))).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });

  describe('authentication', () => {
    test('no credentials: 401 on every /api route that is not public', async () => {
      const anonymous = api(node.url);
      const image = await makeImage({ seed: 10 });
      for (const res of [
        await anonymous.get('/api/pictures'),
        await anonymous.get(`/api/pictures/${adminPicture.id}`),
        await anonymous.get(`/api/pictures/${adminPicture.id}/file`),
        await anonymous.get(`/api/pictures/${adminPicture.id}/thumb`),
        await anonymous.patch(`/api/pictures/${adminPicture.id}`, { title: 'x' }),
        await anonymous.delete(`/api/pictures/${adminPicture.id}`),
        await anonymous.upload({ file: image, fields: { title: 'Sneaky' } }),
        await anonymous.post('/api/tokens', { name: 'x' }),
        await anonymous.get('/api/auth/me'),
        await anonymous.get(`/api/pictures/${someId}`), // 401 before 404: nothing leaks
      ]) {
        expectError(res, 401, 'unauthorized');
      }
      // No route: the same 404 for anyone (the route table is no secret: /api/docs lists it).
      expectError(await anonymous.get('/api/nowhere'), 404, 'not_found');
    });

    test('wrong password and unknown user: 401 and no cookie', async () => {
      for (const body of [
        { username: 'admin', password: 'wrong-password' },
        { username: 'nobody', password: ADMIN_PASSWORD },
      ]) {
        const res = await api(node.url).post('/api/auth/login', body);
        expectError(res, 401, 'unauthorized');
        expect(res.headers.getSetCookie()).toEqual([]);
      }
    });

    test('wrong bearer token: 401, even next to a valid cookie', async () => {
      for (const token of ['mos_not-a-real-token', 'garbage', '']) {
        expectError(await api(node.url, { token }).get('/api/pictures'), 401, 'unauthorized');
      }
      const withCookie = await admin.fetch('/api/pictures', {
        headers: { authorization: 'Bearer mos_not-a-real-token' },
      });
      expect(withCookie.status).toBe(401);
      const basic = await admin.fetch('/api/pictures', {
        headers: { authorization: 'Basic YWRtaW46YWRtaW4=' },
      });
      expect(basic.status).toBe(401);
    });

    test('a forged or unsigned session cookie: 401', async () => {
      for (const cookie of ['mosaic_session=abc', 'mosaic_session=abc.def', 'other=1']) {
        expectError(await api(node.url, cookie).get('/api/pictures'), 401, 'unauthorized');
      }
    });
  });

  describe('permissions', () => {
    test("someone else's picture: PATCH and DELETE are 403", async () => {
      expectError(
        await bob.patch(`/api/pictures/${adminPicture.id}`, { title: 'Mine now' }),
        403,
        'forbidden',
      );
      expectError(await bob.delete(`/api/pictures/${adminPicture.id}`), 403, 'forbidden');
      // Reading is allowed to everyone signed in.
      expect((await bob.get(`/api/pictures/${adminPicture.id}`)).status).toBe(200);
    });

    test("an admin may edit others' pictures; the owner stays", async () => {
      const res = await admin.patch<Picture>(`/api/pictures/${bobPicture.id}`, {
        title: 'Edited by admin',
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ title: 'Edited by admin', owner: 'bob' });
      const back = await bob.patch<Picture>(`/api/pictures/${bobPicture.id}`, {
        title: bobPicture.title,
      });
      expect(back.status).toBe(200);
      expect(back.body.title).toBe('Bob picture');
      // These edits were real changes: compare the rest of the test against the new state.
      before = await snapshot();
    });
  });

  describe('ids', () => {
    test('an unknown id: 404', async () => {
      for (const res of [
        await admin.get(`/api/pictures/${someId}`),
        await admin.get(`/api/pictures/${someId}/file`),
        await admin.get(`/api/pictures/${someId}/thumb?size=large`),
        await admin.patch(`/api/pictures/${someId}`, { title: 'x' }),
        await admin.delete(`/api/pictures/${someId}`),
      ]) {
        expectError(res, 404, 'not_found');
      }
    });

    test('ids that are not 64 lower-case hex: 400', async () => {
      const bad = [
        'abc',
        someId.slice(1),
        `${someId}0`,
        someId.toUpperCase(),
        'g'.repeat(64),
        '..%2F..%2Fmosaic.db',
        `${'a'.repeat(62)}%00a`,
      ];
      for (const id of bad) {
        for (const res of [
          await admin.get(`/api/pictures/${id}`),
          await admin.get(`/api/pictures/${id}/file`),
          await admin.get(`/api/pictures/${id}/thumb`),
          await admin.patch(`/api/pictures/${id}`, { title: 'x' }),
          await admin.delete(`/api/pictures/${id}`),
        ]) {
          expectError(res, 400, 'validation_failed');
        }
      }
    });
  });

  describe('uploads', () => {
    test('bad text fields: 400 validation_failed', async () => {
      const file = await makeImage({ seed: 20 });
      for (const fields of [
        {},
        { title: '' },
        { title: '   ' },
        { title: 'x'.repeat(10_000) },
        { title: 'Bell \u0007 title' },
        { title: 'ok', desc: 'null \u0000 byte' },
        { title: 'ok', category: 'c'.repeat(65) },
        { title: 'ok', owner: 'bob' },
      ]) {
        const res = await admin.upload({ file, fields });
        expectError(res, 400, 'validation_failed');
      }
    });

    test('a bad title sent after the file: 400, and the staged file is discarded', async () => {
      const form = new FormData();
      form.append('file', new Blob([await makeImage({ seed: 24 })]), 'a.png');
      form.append('title', 'Bell \u0007 after the file');
      const res = await toApiResponse(
        await admin.fetch('/api/pictures', { method: 'POST', body: form }),
      );
      expectError(res, 400, 'validation_failed');
    });

    test('no file part, a file in another field, two files: 400', async () => {
      const file = await makeImage({ seed: 21 });
      const noFile = new FormData();
      noFile.append('title', 'No file');
      expectError(
        await toApiResponse(await admin.fetch('/api/pictures', { method: 'POST', body: noFile })),
        400,
      );

      const otherField = new FormData();
      otherField.append('title', 'Wrong field');
      otherField.append('photo', new Blob([file]), 'a.png');
      expectError(
        await toApiResponse(
          await admin.fetch('/api/pictures', { method: 'POST', body: otherField }),
        ),
        400,
      );

      const two = new FormData();
      two.append('title', 'Two files');
      two.append('file', new Blob([file]), 'a.png');
      two.append('file', new Blob([await makeImage({ seed: 22 })]), 'b.png');
      expectError(
        await toApiResponse(await admin.fetch('/api/pictures', { method: 'POST', body: two })),
        400,
      );
    });

    test('not multipart: 415', async () => {
      expectError(
        await admin.post('/api/pictures', { title: 'JSON' }),
        415,
        'unsupported_media_type',
      );
    });

    test('a text file named .jpg: 415', async () => {
      const res = await admin.upload({
        file: Buffer.from('This is not a picture at all.\n'.repeat(20)),
        filename: 'holiday.jpg',
        fields: { title: 'Fake' },
      });
      expectError(res, 415, 'unsupported_media_type');
    });

    test('a truncated JPEG: 422 invalid_image', async () => {
      const jpeg = await makeImage({ width: 200, height: 150, format: 'jpeg', seed: 23 });
      const res = await admin.upload({
        file: jpeg.subarray(0, Math.floor(jpeg.length / 2)),
        fields: { title: 'Half' },
      });
      expectError(res, 422, 'invalid_image');
      expect(await backend.stored(node, 'thumbs')).not.toContainEqual(
        expect.stringMatching(/\.tmp$/),
      );
    });

    test('an oversized upload: 413, no temp file, no blob', async () => {
      for (const size of [MAX_UPLOAD + 1, 300 * 1024]) {
        const res = await admin.upload({
          file: Buffer.alloc(size, 7),
          fields: { title: 'Too big' },
        });
        expectError(res, 413, 'payload_too_large');
      }
      // The connection and the node are fine afterwards.
      expect((await admin.get('/api/auth/me')).status).toBe(200);
    });
  });

  describe('JSON bodies and queries', () => {
    test('malformed JSON: 400 malformed_json', async () => {
      for (const [path, method] of [
        [`/api/pictures/${adminPicture.id}`, 'PATCH'],
        ['/api/auth/login', 'POST'],
        ['/api/tokens', 'POST'],
      ] as const) {
        const res = await toApiResponse(
          await admin.fetch(path, {
            method,
            headers: { 'content-type': 'application/json' },
            body: '{"title": "unterminated',
          }),
        );
        expectError(res, 400, 'malformed_json');
      }
    });

    test('PATCH with unknown fields or bad values: 400', async () => {
      const url = `/api/pictures/${adminPicture.id}`;
      for (const body of [
        { owner: 'bob' },
        { title: 'ok', id: someId },
        { title: '' },
        { title: 'x'.repeat(10_000) },
        { title: 'tab\there' },
        { category: 42 },
        { desc: 'd'.repeat(5001) },
        [],
        'title',
        null,
      ]) {
        const res = await admin.patch(url, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expectError(res, 400);
      }
    });

    test('a bad cursor or query: 400', async () => {
      const wrongShape = Buffer.from(JSON.stringify({ createdAt: 1 })).toString('base64url');
      const badId = Buffer.from(JSON.stringify([1, '../../etc'])).toString('base64url');
      for (const query of [
        'cursor=garbage',
        'cursor=%22%22',
        `cursor=${wrongShape}`,
        `cursor=${badId}`,
        `cursor=${'A'.repeat(500)}`,
        'limit=0',
        'limit=201',
        'limit=ten',
        'sort=asc',
      ]) {
        const res = await admin.get(`/api/pictures?${query}`);
        expectError(res, 400, 'validation_failed');
      }
      expectError(
        await admin.get(`/api/pictures/${adminPicture.id}/thumb?size=huge`),
        400,
        'validation_failed',
      );
    });
  });
});
