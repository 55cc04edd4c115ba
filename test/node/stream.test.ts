/**
 * GET /api/stream (server-sent events for the web app) against real node processes: it needs
 * a signed-in caller, says `event: ping` at once (its heartbeat), announces picture changes made at this node and at a peer (once the
 * replicated bytes are there) and album changes made at a peer, and does not keep a stopping
 * node waiting.
 */
import { beforeAll, expect, test } from 'vitest';
import { describeEachBackend } from '../helpers/backends.js';
import { TestCluster } from '../helpers/cluster.js';
import { makeImage, waitFor, type Api, type Picture } from '../helpers/node-process.js';

describeEachBackend('GET /api/stream', () => {
  let cluster: TestCluster;
  let a: Api;
  let b: Api;

  beforeAll(async () => {
    cluster = new TestCluster();
    const [n1, n2] = await cluster.startAll(2);
    if (!n1 || !n2) throw new Error('two nodes expected');
    a = await n1.api();
    b = await n2.api();
  });

  /** Reads an event stream, keeping what arrived, until `until` finds what it wants. */
  async function readStream(res: Response) {
    if (!res.body) throw new Error('no body');
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    return {
      async until(match: (text: string) => boolean): Promise<string> {
        while (!match(text)) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`the stream ended; it said: ${text}`);
          text += value;
        }
        return text;
      },
      cancel: () => reader.cancel(),
    };
  }

  test('needs a signed-in caller', async () => {
    const res = await fetch(`${cluster.url(0)}/api/stream`);
    expect(res.status).toBe(401);
  });

  test('says ping at once, as a named event the browser can see (its heartbeat)', async () => {
    // EventSource cannot see comments; the web app takes a feed without pings for a dead one.
    const stream = await readStream(await b.fetch('/api/stream'));
    const text = await stream.until((t) => t.includes('event: ping\ndata: 1\n\n'));
    expect(text.startsWith(': subscribed\nretry: 2000\n\n')).toBe(true);
    await stream.cancel();
  });

  test('announces local and replicated picture changes', async () => {
    const res = await b.fetch('/api/stream');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const stream = await readStream(res);
    await stream.until((t) => t.includes(': subscribed'));

    // Uploaded at node 1: node 2 says so when the operation arrives, and again once the bytes
    // are there, which is when the picture becomes visible at node 2.
    const up = await a.upload<Picture>({
      file: await makeImage({ seed: 41 }),
      fields: { title: 'x' },
    });
    expect(up.status).toBe(201);
    const message = `event: pictures\ndata: {"ids":["${up.body.id}"]}\n\n`;
    await stream.until((t) => t.split(message).length === 3);
    expect((await b.get(`/api/pictures/${up.body.id}`)).status).toBe(200);

    // Edited at node 2 itself.
    const before = (await stream.until(() => true)).length;
    expect((await b.patch(`/api/pictures/${up.body.id}`, { title: 'y' })).status).toBe(200);
    await stream.until((t) => t.slice(before).includes(up.body.id));
    await stream.cancel();
  });

  test('announces album changes made at a peer', async () => {
    const res = await b.fetch('/api/stream');
    const stream = await readStream(res);
    await stream.until((t) => t.includes(': subscribed'));
    const album = await a.post<{ id: string }>('/api/albums', { name: 'Holidays' });
    expect(album.status).toBe(201);
    const message = `event: albums\ndata: {"ids":["${album.body.id}"]}\n\n`;
    await stream.until((t) => t.includes(message));
    // Renamed at node 1: node 2 says so again.
    expect((await a.patch(`/api/albums/${album.body.id}`, { name: 'Summer' })).status).toBe(200);
    await stream.until((t) => t.split(message).length === 3);
    await stream.cancel();
  });

  test('announces an album when a picture it holds is edited or deleted at a peer', async () => {
    const up = await a.upload<Picture>({
      file: await makeImage({ seed: 43 }),
      fields: { title: 'in an album' },
    });
    expect(up.status).toBe(201);
    const album = await a.post<{ id: string }>('/api/albums', { name: 'Kept' });
    const other = await a.post<{ id: string }>('/api/albums', { name: 'Elsewhere' });
    const add = await a.post(`/api/albums/${album.body.id}/pictures`, {
      add: [up.body.id],
      remove: [],
    });
    expect(add.status).toBe(200);
    // Both albums and the picture's membership have reached node 2.
    await waitFor(
      async () => {
        const res = await b.get<{ items: Picture[] }>(`/api/albums/${album.body.id}/pictures`);
        return res.status === 200 && res.body.items.length === 1;
      },
      { what: 'the album and its picture at node 2' },
    );
    expect((await b.get(`/api/albums/${other.body.id}`)).status).toBe(200);

    const res = await b.fetch('/api/stream');
    const stream = await readStream(res);
    await stream.until((t) => t.includes(': subscribed'));
    const named = `event: albums\ndata: {"ids":["${album.body.id}"]}\n\n`;
    expect((await a.patch(`/api/pictures/${up.body.id}`, { title: 'edited' })).status).toBe(200);
    await stream.until((t) => t.includes(named));
    expect((await a.delete(`/api/pictures/${up.body.id}`)).status).toBe(204);
    const text = await stream.until((t) => t.split(named).length === 3);
    // The album that does not hold it was never named.
    expect(text).not.toContain(other.body.id);
    await stream.cancel();
  });

  test('an open stream does not hold up a node that stops', async () => {
    const node = cluster.nodes[0];
    if (!node) throw new Error('no node 1');
    const res = await a.fetch('/api/stream');
    const stream = await readStream(res);
    await stream.until((t) => t.includes(': subscribed'));
    expect(await node.node.stop()).toBe(0);
  });
});
