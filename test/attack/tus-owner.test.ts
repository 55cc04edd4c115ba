/**
 * A tus upload belongs to the account that created it: another account is told it does not
 * exist, however the URL is spelled. The route checked Fastify's reading of the path
 * (`/api/uploads/tus/*` starts with the caller's tag) while the tus server reads the upload id
 * from the URL's last segment, query included: `…/tus/<bob's tag>x/<alice's id>` and
 * `…/tus/<bob's tag>x?a=/<alice's id>` let bob read alice's upload (its title), append to it
 * and delete it. Both readings are checked now.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import {
  addUser,
  api,
  cleanup,
  login,
  makeImage,
  startNode,
  type Api,
  type NodeProcess,
} from '../helpers/node-process.js';
import { createUpload, patchUpload, TUS, uploadOffset } from '../helpers/tus.js';

let node: NodeProcess;
let alice: Api;
let bob: Api;

beforeAll(async () => {
  node = await startNode();
  await addUser(node.dataDir, 'alice', 'alice-password-1');
  await addUser(node.dataDir, 'bob', 'bob-password-1');
  alice = api(node.url, await login(node.url, 'alice', 'alice-password-1'));
  bob = api(node.url, await login(node.url, 'bob', 'bob-password-1'));
});

afterAll(cleanup);

const tagOf = (username: string) =>
  createHash('sha256').update(username).digest('hex').slice(0, 16);

describe("another account's tus upload", () => {
  test('is not found by any spelling of its URL: no HEAD, PATCH or DELETE', async () => {
    const file = await makeImage({ seed: 91 });
    const created = await createUpload(alice, file.length, { title: 'Anna at the clinic' });
    expect(created.status).toBe(201);
    const location = created.headers.get('location') ?? '';
    const id = location.split('/').pop() ?? '';
    const bobs = tagOf('bob');
    const spellings = [
      location,
      `/api/uploads/tus/${bobs}x/${id}`,
      `/api/uploads/tus/${bobs}${'0'.repeat(32)}/${id}`,
      `/api/uploads/tus/${bobs}x?a=/${id}`,
      `/api/uploads/tus/${bobs}x%2F..%2F${id}`,
    ];
    for (const path of spellings) {
      const head = await bob.fetch(path, { method: 'HEAD', headers: TUS });
      expect(head.status, `HEAD ${path}`).toBe(404);
      expect(head.headers.get('upload-metadata'), `HEAD ${path}`).toBeNull();
      const patch = await patchUpload(bob, path, 0, file.subarray(0, 10));
      expect(patch.status, `PATCH ${path}`).toBe(404);
      expect(await patch.json()).toMatchObject({ error: { code: 'not_found' } });
      const del = await bob.fetch(path, { method: 'DELETE', headers: TUS });
      expect(del.status, `DELETE ${path}`).toBe(404);
    }
    // Alice's upload is untouched, and hers to finish.
    expect(await uploadOffset(alice, location)).toBe(0);
    const done = await patchUpload(alice, location, 0, file);
    expect(done.status, await done.clone().text()).toBe(204);
    const pictureId = done.headers.get('mosaic-picture-id') ?? '';
    const picture = await alice.get<{ owner: string; title: string }>(`/api/pictures/${pictureId}`);
    expect(picture.body).toMatchObject({ owner: 'alice', title: 'Anna at the clinic' });
  });
});
