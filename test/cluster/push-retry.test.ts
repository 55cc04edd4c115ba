/**
 * A peer whose push fails (a 500, as a receiving process answers when its transaction is
 * aborted, e.g. by a deadlock) pushes again and the two nodes converge. B's pulls from A are
 * refused throughout, so A's pushes are the only way A's changes reach B.
 */
import { afterAll, expect, test } from 'vitest';
import { freePort, newClusterKey } from '../helpers/cluster.js';
import {
  ADMIN_PASSWORD,
  api,
  cleanup,
  login,
  makeImage,
  startNode,
  waitFor,
  type Picture,
} from '../helpers/node-process.js';
import { startRecordingProxy, type RecordingProxy } from '../helpers/recording-proxy.js';

const proxies: RecordingProxy[] = [];

afterAll(async () => {
  await cleanup();
  await Promise.all(proxies.map((p) => p.close()));
});

test('a push answered with a 500 is sent again and the peer converges', async () => {
  const key = newClusterKey();
  const [portA, portB] = [await freePort(), await freePort()];
  const toA = await startRecordingProxy(`http://127.0.0.1:${portA}`);
  const toB = await startRecordingProxy(`http://127.0.0.1:${portB}`);
  proxies.push(toA, toB);
  const common = ['--cluster-key', key, '--sync-interval-ms', '300', '--discovery', 'off'];
  const a = await startNode({
    args: [
      '--port',
      String(portA),
      '--name',
      'a',
      '--peer',
      toB.url,
      '--advertise-url',
      toA.url,
      ...common,
    ],
  });
  const b = await startNode({
    args: [
      '--port',
      String(portB),
      '--name',
      'b',
      '--peer',
      toA.url,
      '--advertise-url',
      toB.url,
      ...common,
    ],
  });
  // Each node made its own "admin"; wait until both hold the other's before signing in.
  await waitFor(() => toA.traffic.pulls >= 2 && toB.traffic.pulls >= 2, {
    timeoutMs: 30_000,
    intervalMs: 100,
    what: 'two pulls each way',
  });
  const clientA = api(a.url, await login(a.url, 'admin', ADMIN_PASSWORD));
  const clientB = api(b.url, await login(b.url, 'admin', ADMIN_PASSWORD));
  // B cannot pull from A: only A's pushes can bring A's changes.
  toA.refuse('/peer/pull', Infinity);
  const refusedPushes = toB.refuse('/peer/ops', 3);
  toB.reset();

  const bytes = await makeImage({ width: 200, height: 150, format: 'jpeg', seed: 4242 });
  const up = await clientA.upload<Picture>({ file: bytes, fields: { title: 'pushed' } });
  expect(up.status).toBe(201);
  const edit = await clientA.patch<Picture>(`/api/pictures/${up.body.id}`, { title: 'again' });
  expect(edit.status).toBe(200);

  await waitFor(
    async () => {
      const res = await clientB.get<Picture>(`/api/pictures/${up.body.id}`);
      return res.status === 200 && res.body.title === 'again';
    },
    { timeoutMs: 30_000, intervalMs: 100, what: 'B to show the edit A pushed' },
  );
  // Three pushes were refused, then A pushed again and B took the ops.
  expect(refusedPushes()).toBe(3);
  expect(toB.traffic.pushedOps).toBeGreaterThan(0);
});
