/**
 * A picture listed without its bytes in the store (issue 11, cause 5: the state a delete racing
 * a fetch used to leave) answers a clean 503 in the error shape, never a 500, and is repaired:
 * at once when asked for, and at start for every such row (a shared site: by the process that
 * leads it).
 */
import { createHash } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../helpers/backends.js';
import {
  ADMIN_PASSWORD,
  api,
  login,
  makeImage,
  startNode,
  waitFor,
  type Api,
  type ErrorBody,
  type NodeProcess,
  type Picture,
} from '../helpers/node-process.js';

describeEachBackend('a listed picture whose bytes are not in the store', (backend) => {
  let node: NodeProcess;

  beforeAll(async () => {
    node = await startNode();
  });

  async function client(): Promise<Api> {
    return api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
  }

  async function uploadOne(seed: number): Promise<Picture> {
    const res = await (
      await client()
    ).upload<Picture>({
      file: await makeImage({ seed }),
      fields: { title: `bytes ${seed}` },
    });
    expect(res.status).toBe(201);
    return res.body;
  }

  /** Moves a blob to the trash behind the node's back, leaving its row saying "has blob". */
  async function trashBehindItsBack(id: string): Promise<void> {
    await backend.trashBehindItsBack(node, id);
  }

  async function sha256Of(res: Response): Promise<string> {
    return createHash('sha256')
      .update(Buffer.from(await res.arrayBuffer()))
      .digest('hex');
  }

  it('answers 503 in the error shape, then the node restores the bytes', async () => {
    const picture = await uploadOne(501);
    // A node on S3 keeps what it uploads in its read cache and would serve the bytes from there:
    // a restart empties it (as a picture uploaded through another process of the site).
    if (backend.name === 'shared') await node.restart();
    const c = await client();
    expect((await c.fetch(`/api/pictures/${picture.id}`)).status).toBe(200);
    await trashBehindItsBack(picture.id);
    const res = await c.fetch(`/api/pictures/${picture.id}/file`);
    expect(res.status, await res.clone().text()).toBe(503);
    expect(res.headers.get('content-type')).toContain('application/json');
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('unavailable');
    // The node repaired it (from its trash): the bytes are served again.
    const hash = await waitFor(
      async () => {
        const again = await c.fetch(`/api/pictures/${picture.id}/file`);
        return again.status === 200 ? sha256Of(again) : undefined;
      },
      { what: 'the bytes to be served again' },
    );
    expect(hash).toBe(picture.id);
  });

  it('is repaired at start', async () => {
    const picture = await uploadOne(502);
    await node.stop();
    await trashBehindItsBack(picture.id);
    await node.restart();
    // Checked without being asked for: before serving (one process), or by the process that
    // leads a shared site as soon as it leads (never by a request for the file).
    await waitFor(() => node.logs.some((l) => l.msg === 'picture byte flags repaired at start'), {
      what: 'the start-up check of the byte flags',
    });
    const res = await (await client()).fetch(`/api/pictures/${picture.id}/file`);
    expect(res.status).toBe(200);
    expect(await sha256Of(res)).toBe(picture.id);
  });
});
