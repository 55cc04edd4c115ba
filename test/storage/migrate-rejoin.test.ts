/**
 * A migrated site rejoins its cluster without re-fetching: site A (one process, SQLite) and
 * site B replicate; A is stopped, moved by `mosaic migrate` into a real PostgreSQL and a real
 * Swift (s3api), and started again on them (`--database`, `--blobs`, a fresh `--data`). Every
 * peer exchange passes through recording proxies: after the restart no operation is pulled or
 * pushed again and no blob is fetched, since B's version vector and A's are already complete;
 * then new work flows both ways, A's seqs continuing its old ones.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { migrateSite } from '../../src/storage/migrate/migrate.js';
import { freePort, newClusterKey } from '../helpers/cluster.js';
import {
  ADMIN_PASSWORD,
  api,
  cleanup,
  login,
  makeImage,
  makeTempDir,
  startNode,
  waitFor,
  type Api,
  type NodeProcess,
  type Picture,
} from '../helpers/node-process.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startRecordingProxy, type RecordingProxy } from '../helpers/recording-proxy.js';
import { startSwift, type SwiftServer } from '../helpers/swift.js';

let pg: PostgresServer;
let swift: SwiftServer;
const proxies: RecordingProxy[] = [];

beforeAll(async () => {
  [pg, swift] = await Promise.all([startPostgres(), startSwift()]);
}, 120_000);
afterAll(async () => {
  await cleanup();
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all([pg.stop(), swift.stop()]);
});

async function served(client: Api, id: string, bytes: Buffer): Promise<boolean> {
  const res = await client.fetch(`/api/pictures/${id}/file`);
  return res.status === 200 && Buffer.from(await res.arrayBuffer()).equals(bytes);
}

async function selfId(client: Api): Promise<string> {
  const res = await client.get<{ self: { id: string } }>('/api/cluster');
  return res.body.self.id;
}

test('a migrated site restarts on PostgreSQL and S3 and its peer re-sends nothing', async () => {
  const key = newClusterKey();
  const [portA, portB] = [await freePort(), await freePort()];
  // Each node is reached by its peer only through a proxy that counts the traffic.
  const toA = await startRecordingProxy(`http://127.0.0.1:${portA}`);
  const toB = await startRecordingProxy(`http://127.0.0.1:${portB}`);
  proxies.push(toA, toB);
  const common = ['--cluster-key', key, '--sync-interval-ms', '300', '--discovery', 'off'];
  const argsA = ['--port', String(portA), '--name', 'site-a', '--peer', toB.url];
  const advertiseA = ['--advertise-url', toA.url];
  const dataA = await makeTempDir('mosaic-rejoin-a-');
  let a: NodeProcess = await startNode({
    dataDir: dataA,
    args: [...argsA, ...advertiseA, ...common],
  });
  const b = await startNode({
    args: [
      '--port',
      String(portB),
      '--name',
      'site-b',
      '--peer',
      toA.url,
      '--advertise-url',
      toB.url,
      ...common,
    ],
  });
  try {
    // Each node made its own "admin" at first start; the other's arrives as a password change,
    // which ends that account's sessions. Sign in once both have taken the other's in: two
    // pulls each way (a link pulls again only after applying what it pulled).
    await waitFor(() => toA.traffic.pulls >= 2 && toB.traffic.pulls >= 2, {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'two pulls each way',
    });
    const clientA = api(a.url, await login(a.url, 'admin', ADMIN_PASSWORD));
    const clientB = api(b.url, await login(b.url, 'admin', ADMIN_PASSWORD));
    const fromA: [string, Buffer][] = [];
    const fromB: [string, Buffer][] = [];
    for (let seed = 0; seed < 4; seed++) {
      const bytesA = await makeImage({ width: 240, height: 160, format: 'jpeg', seed: 700 + seed });
      const bytesB = await makeImage({ width: 240, height: 160, format: 'jpeg', seed: 800 + seed });
      const upA = await clientA.upload<Picture>({ file: bytesA, fields: { title: `a${seed}` } });
      const upB = await clientB.upload<Picture>({ file: bytesB, fields: { title: `b${seed}` } });
      expect([upA.status, upB.status]).toEqual([201, 201]);
      fromA.push([upA.body.id, bytesA]);
      fromB.push([upB.body.id, bytesB]);
    }
    for (const [id, bytes] of fromA) {
      await waitFor(() => served(clientB, id, bytes), {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: `B serves ${id}`,
      });
    }
    for (const [id, bytes] of fromB) {
      await waitFor(() => served(clientA, id, bytes), {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: `A serves ${id}`,
      });
    }
    const idA = await selfId(clientA);
    const token = await clientA.post<{ token: string; id: string }>('/api/tokens', {
      name: 'script',
    });
    expect(token.status).toBe(201);
    // The token's operation at B before A stops: stopped first, A pushed it after its restart
    // (pushedOps 1 below; CI150).
    await waitFor(
      async () =>
        (await clientB.get<{ items: { id: string }[] }>('/api/tokens?user=admin')).body.items.some(
          (t) => t.id === token.body.id,
        ),
      { timeoutMs: 30_000, intervalMs: 100, what: "the token's operation at B" },
    );

    expect(await a.stop()).toBe(0);
    const database = await pg.createDatabase();
    const blobs = `s3://mosaic-rejoin/site-a?endpoint=${swift.endpoint}&region=${swift.region}`;
    const s3Env = {
      AWS_ACCESS_KEY_ID: swift.accessKeyId,
      AWS_SECRET_ACCESS_KEY: swift.secretAccessKey,
    };
    await migrateSite({ dataDir: dataA, database, blobs, env: s3Env });

    toA.reset();
    toB.reset();
    const scratch = await makeTempDir('mosaic-rejoin-a2-');
    a = await startNode({
      dataDir: scratch,
      args: [...argsA, ...advertiseA, ...common, '--database', database, '--blobs', blobs],
      env: s3Env,
    });
    const again = api(a.url, await login(a.url, 'admin', ADMIN_PASSWORD));
    // Same site: same id, and every picture of both sites served at once from the bucket.
    expect(await selfId(again)).toBe(idA);
    // Signed in before the move, still signed in: the session row and the cookie secret moved.
    expect((await clientA.get('/api/auth/me')).status).toBe(200);
    expect((await api(a.url, { token: token.body.token }).get('/api/auth/me')).status).toBe(200);
    for (const [id, bytes] of [...fromA, ...fromB])
      expect(await served(again, id, bytes)).toBe(true);
    // A full round of anti-entropy both ways after the restart...
    await waitFor(() => toB.traffic.pulls >= 2 && toA.traffic.pulls >= 2, {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'two pulls each way after the restart',
    });
    // ...moved no operation and no byte.
    expect(toB.traffic).toMatchObject({ pulledOps: 0, pushedOps: 0, blobRequests: 0 });
    expect(toA.traffic).toMatchObject({ pulledOps: 0, pushedOps: 0, blobRequests: 0 });

    // New work flows both ways.
    const newA = await makeImage({ width: 200, height: 200, format: 'png', seed: 901 });
    const newB = await makeImage({ width: 200, height: 200, format: 'png', seed: 902 });
    const upA = await again.upload<Picture>({ file: newA, fields: { title: 'after, from A' } });
    const upB = await clientB.upload<Picture>({ file: newB, fields: { title: 'after, from B' } });
    expect([upA.status, upB.status]).toEqual([201, 201]);
    await waitFor(() => served(clientB, upA.body.id, newA), {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'B serves the new A picture',
    });
    await waitFor(() => served(again, upB.body.id, newB), {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'A serves the new B picture',
    });
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
