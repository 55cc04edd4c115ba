/**
 * Every node a full read-write replica: 4 real node processes on 127.0.0.1, static peers,
 * a shared cluster key. Waits on conditions, never fixed sleeps.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PEER_HEADERS, signRequest } from '../../src/replication/peer-auth.js';
import { nodeIdAt } from '../helpers/peer.js';
import { describeEachBackend } from '../helpers/backends.js';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  TestCluster,
  allPictures,
  setFaults,
  waitConverged,
  type ClusterNode,
} from '../helpers/cluster.js';
import {
  addUser,
  api,
  cleanup,
  makeImage,
  waitFor,
  type Picture,
} from '../helpers/node-process.js';

afterAll(async () => {
  await cleanup();
});

describeEachBackend('replication across 4 nodes', (backend) => {
  let cluster: TestCluster;
  let n: ClusterNode[];
  let seed = 1000;

  async function upload(node: ClusterNode, fields: Record<string, string> = {}): Promise<Picture> {
    const client = await node.api();
    const res = await client.upload<Picture>({
      file: await makeImage({ seed: seed++ }),
      fields: { title: `picture ${seed}`, ...fields },
    });
    expect(res.status).toBe(201);
    return res.body;
  }

  beforeAll(async () => {
    cluster = new TestCluster({ syncIntervalMs: 500 });
    await cluster.reserve(5); // the fifth joins later
    n = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        cluster.start(
          i,
          [0, 1, 2, 3, 4].filter((j) => j !== i),
        ),
      ),
    );
  });

  it('an upload at one node appears at all; an edit and a delete elsewhere follow', async () => {
    const [n1, n2, n3] = n as [ClusterNode, ClusterNode, ClusterNode];
    const a = await upload(n1, { category: 'beach', desc: 'first' });
    const b = await upload(n1, { category: 'city' });
    await waitConverged(n, {
      expect: (ps) => ps.some((p) => p.id === a.id) && ps.some((p) => p.id === b.id),
    });

    const edited = await (
      await n2.api()
    ).patch<Picture>(`/api/pictures/${a.id}`, { title: 'edited at n2' });
    expect(edited.status).toBe(200);
    expect((await (await n3.api()).delete(`/api/pictures/${b.id}`)).status).toBe(204);

    const pictures = await waitConverged(n, {
      expect: (ps) =>
        ps.some((p) => p.id === a.id && p.title === 'edited at n2') &&
        !ps.some((p) => p.id === b.id),
    });
    expect(pictures.find((p) => p.id === a.id)).toMatchObject({
      origin: 'n1',
      category: 'beach',
      desc: 'first',
    });
  });

  it('refuses forged, unsigned, replayed and tampered peer requests, and changes nothing', async () => {
    const target = n[1] as ClusterNode;
    const to = await nodeIdAt(target.node.url, cluster.key);
    const before = await allPictures(await target.api());
    const op = {
      origin: 'ffffffffffffffff',
      seq: 1,
      hlc: `${String(Date.now()).padStart(16, '0')}-0000-ffffffffffffffff`,
      body: { kind: 'picture.delete', id: before[0]?.id ?? 'a'.repeat(64) },
    };
    const body = JSON.stringify({ ops: [op] });
    const send = (headers: Record<string, string>, payload = body) =>
      fetch(`${target.node.url}/peer/ops`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: payload,
      });
    const signed = (key: string) =>
      signRequest(key, {
        method: 'POST',
        path: '/peer/ops',
        nodeId: 'ffffffffffffffff',
        url: '',
        to,
        body,
      });

    const unsigned = await send({});
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as { error: { code: string } }).error.code).toBe(
      'unauthorized',
    );
    expect((await send(signed(randomBytes(24).toString('base64url')))).status).toBe(401);
    const tampered = signed(cluster.key);
    expect((await send(tampered, body.replace('picture.delete', 'picture.delete '))).status).toBe(
      401,
    );
    const stale = signRequest(
      cluster.key,
      { method: 'POST', path: '/peer/ops', nodeId: 'ffffffffffffffff', url: '', to, body },
      Date.now() - 120_000,
    );
    expect((await send(stale)).status).toBe(401);
    const wrongNode = { ...signed(cluster.key), [PEER_HEADERS.node]: 'eeeeeeeeeeeeeeee' };
    expect((await send(wrongNode)).status).toBe(401);

    // A correctly signed request is accepted once; the same request again is a replay.
    const valid = signRequest(cluster.key, {
      method: 'POST',
      path: '/peer/ops',
      nodeId: 'ffffffffffffffff',
      url: '',
      to,
      body: JSON.stringify({ ops: [] }),
    });
    expect((await send(valid, JSON.stringify({ ops: [] }))).status).toBe(200);
    expect((await send(valid, JSON.stringify({ ops: [] }))).status).toBe(401);

    expect(await allPictures(await target.api())).toEqual(before);
  });

  it('a node killed with SIGKILL during a burst of 300 changes catches up; nothing is lost', async () => {
    const [n1, n2, n3, n4] = n as [ClusterNode, ClusterNode, ClusterNode, ClusterNode];
    const writers = [n1, n2, n3];
    // 100 changes per writer: 70 uploads, then 30 edits of its own uploads. On the shared
    // backend a third of that: every upload there is a PUT to one Swift on a two-core box.
    const [uploads, edits] = backend.name === 'shared' ? [24, 10] : [70, 30];
    const burst = writers.map(async (w, wi) => {
      const mine: Picture[] = [];
      for (let i = 0; i < uploads; i++) mine.push(await upload(w, { category: `burst-${wi}` }));
      const client = await w.api();
      for (let i = 0; i < edits; i++) {
        const p = mine[i] as Picture;
        const res = await client.patch(`/api/pictures/${p.id}`, { desc: `edit ${i} at ${w.name}` });
        expect(res.status).toBe(200);
      }
      return mine;
    });
    // Kill n4 once the burst is under way.
    await waitFor(
      async () =>
        (await allPictures(await n4.api())).filter((p) => p.category.startsWith('burst')).length >=
        uploads * 0.4,
      {
        timeoutMs: 30_000,
        what: 'the burst to reach n4',
      },
    );
    await n4.node.kill();
    const uploaded = (await Promise.all(burst)).flat();
    await n4.node.restart();

    const pictures = await waitConverged(n, {
      timeoutMs: 60_000,
      expect: (ps) => uploaded.every((u) => ps.some((p) => p.id === u.id)),
    });
    const burstPictures = pictures.filter((p) => p.category.startsWith('burst'));
    expect(burstPictures).toHaveLength(3 * uploads);
    expect(burstPictures.filter((p) => p.desc.startsWith('edit '))).toHaveLength(3 * edits);
  });

  it('a new empty node catches up fully, even while the origin of some pictures is down', async () => {
    const [n1, n2, n3, n4] = n as [ClusterNode, ClusterNode, ClusterNode, ClusterNode];
    const fromN1 = [await upload(n1, { category: 'late' }), await upload(n1, { category: 'late' })];
    await waitConverged([n1, n2, n3, n4], {
      expect: (ps) => fromN1.every((u) => ps.some((p) => p.id === u.id)),
    });
    await n1.node.kill();

    const n5 = await cluster.start(4);
    await waitConverged([n2, n3, n4, n5], {
      timeoutMs: 60_000,
      expect: (ps) => fromN1.every((u) => ps.some((p) => p.id === u.id)),
    });
    // n5 can sign in with the replicated admin account, and sees n1 as down.
    const status = await (
      await n5.api()
    ).get<{ peers: { name: string | null; state: string }[] }>('/api/cluster');
    expect(status.body.peers.find((p) => p.name === 'n2')?.state).toBe('up');

    await n1.node.restart();
    n.push(n5);
    await waitConverged(n, { timeoutMs: 30_000 });
  });

  it('accounts and tokens replicate: a person signs in at any node', async () => {
    const [n1, , n3, n4] = n as [ClusterNode, ClusterNode, ClusterNode, ClusterNode];
    await addUser(n1.node.dataDir, 'carol', 'carol-password-1');
    const cookie = await waitFor(
      async () => {
        const res = await fetch(`${n3.node.url}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'carol', password: 'carol-password-1' }),
        });
        return res.status === 200 ? (res.headers.getSetCookie()[0]?.split(';')[0] ?? false) : false;
      },
      // Not too often: failed sign-ins (carol unknown at n3 yet) back off after 5.
      { timeoutMs: 15_000, intervalMs: 250, what: 'carol to be able to sign in at n3' },
    );
    const token = await api(n3.node.url, cookie).post<{ token: string }>('/api/tokens', {
      name: 'laptop',
    });
    expect(token.status).toBe(201);
    await waitFor(
      async () =>
        (await api(n4.node.url, { token: token.body.token }).get('/api/pictures?limit=1'))
          .status === 200,
      { timeoutMs: 15_000, what: 'the token made at n3 to work at n4' },
    );
  });

  it('an interrupted blob transfer resumes where it stopped after a restart', async () => {
    const [n1, n2] = n as [ClusterNode, ClusterNode];
    await Promise.all(n.map((node) => setFaults(node, { throttleBlobKBps: 2000 })));
    const file = await makeImage({ width: 1600, height: 1700, seed: 777 }); // ~8 MB PNG
    const res = await (await n1.api()).upload<Picture>({ file, fields: { title: 'big one' } });
    expect(res.status).toBe(201);
    const partial = join(backend.scratch(n2.node, 'partial'), res.body.id);
    await waitFor(async () => ((await stat(partial).catch(() => null))?.size ?? 0) > 1_000_000, {
      timeoutMs: 20_000,
      what: 'n2 to have fetched part of the blob',
    });
    await n2.node.kill();
    const kept = (await stat(partial)).size;
    expect(kept).toBeGreaterThan(0);
    await Promise.all(n.map((node) => setFaults(node, {})));
    await n2.node.restart();
    const client = await n2.api();
    await waitFor(async () => (await client.get(`/api/pictures/${res.body.id}`)).status === 200, {
      timeoutMs: 20_000,
      what: 'the picture at n2',
    });
    // Its log line comes through n2's stdout, which may be read after the answer above.
    const resumed = await waitFor(
      async () => n2.node.logs.find((l) => l.msg === 'blob fetch resumed and done') ?? false,
      { timeoutMs: 10_000, what: "n2's log of the resumed fetch" },
    );
    expect(resumed['resumedAt']).toBeGreaterThan(0);
    const bytes = Buffer.from(
      await (await client.fetch(`/api/pictures/${res.body.id}/file`)).arrayBuffer(),
    );
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(res.body.id);
  });

  it('two groups cut off from each other converge by the documented rules once healed', async () => {
    const [n1, n2, n3, n4] = n as [ClusterNode, ClusterNode, ClusterNode, ClusterNode];
    const x = await upload(n1, { category: 'split', desc: 'x' });
    const y = await upload(n1, { category: 'split', desc: 'y' });
    const z = await upload(n1, { category: 'split', desc: 'z' });
    await waitConverged(n, {
      expect: (ps) => [x, y, z].every((u) => ps.some((p) => p.id === u.id)),
    });

    await cluster.partition([n1, n2], [n3, n4, ...n.slice(4)]);
    const left = await n1.api();
    const right = await n3.api();
    // Same field on both sides: the later write (higher HLC) wins everywhere.
    expect((await left.patch(`/api/pictures/${x.id}`, { title: 'left title' })).status).toBe(200);
    // Different fields on both sides: both survive.
    expect((await left.patch(`/api/pictures/${y.id}`, { category: 'left-cat' })).status).toBe(200);
    expect((await right.patch(`/api/pictures/${y.id}`, { desc: 'right desc' })).status).toBe(200);
    // Delete on one side, a later edit on the other: the later edit wins.
    expect((await left.delete(`/api/pictures/${z.id}`)).status).toBe(204);
    await waitFor(
      async () =>
        Date.now() >
        Date.parse((await allPictures(left)).find((p) => p.id === x.id)?.updatedAt ?? '0') + 5,
    );
    expect((await right.patch(`/api/pictures/${x.id}`, { title: 'right title' })).status).toBe(200);
    expect(
      (await right.patch(`/api/pictures/${z.id}`, { desc: 'edited after the delete' })).status,
    ).toBe(200);
    // While cut off, the other side has not seen any of it.
    expect((await allPictures(await n4.api())).find((p) => p.id === y.id)?.category).toBe('split');

    await cluster.heal();
    const pictures = await waitConverged(n, {
      timeoutMs: 30_000,
      expect: (ps) =>
        ps.find((p) => p.id === y.id)?.category === 'left-cat' &&
        ps.find((p) => p.id === y.id)?.desc === 'right desc',
    });
    expect(pictures.find((p) => p.id === x.id)?.title).toBe('right title');
    expect(pictures.find((p) => p.id === z.id)?.desc).toBe('edited after the delete');
  });

  it('reports every peer with its state and lag in /api/cluster and /metrics', async () => {
    const n2 = n[1] as ClusterNode;
    const status = await (
      await n2.api()
    ).get<{
      self: { name: string };
      peers: {
        name: string | null;
        state: string;
        lastSeen: string | null;
        lag: { ops: number; bytes: number };
      }[];
    }>('/api/cluster');
    expect(status.body.self.name).toBe('n2');
    await waitFor(
      async () => {
        const s = await (
          await n2.api()
        ).get<{ peers: { state: string; lag: { ops: number } }[] }>('/api/cluster');
        return (
          s.body.peers.length === 4 &&
          s.body.peers.every((p) => p.state === 'up' && p.lag.ops === 0)
        );
      },
      { timeoutMs: 15_000, what: 'all peers up with no lag' },
    );
    const metrics = await (await (await n2.api()).fetch('/metrics')).text();
    expect(metrics).toMatch(/mosaic_peer_up\{peer="n1"\} 1/);
    expect(metrics).toMatch(/mosaic_peer_lag_ops\{peer="n3"\} 0/);
  });
});
