/**
 * A node on a wrong clock, for real: node b runs with Debian's libfaketime preloaded, its offset
 * read from a file that the test rewrites as NTP would set the clock (wall time only; timers run
 * on the monotonic clock, left alone). While the clocks are 75 s apart the two nodes refuse each
 * other's requests (the peer signature's 60 s window), and each one's cluster page says why:
 * whose clock is ahead, and by how much. A picture uploaded meanwhile at b, the node ahead, is
 * not lost: once b's clock is set right the nodes talk again, and a takes b's operations as soon
 * as its own clock is within the drift bound of their timestamps (core/hlc.ts, MAX_DRIFT_MS).
 * Edits made after the clock went back, at b then at a, each win everywhere: b's op clock does
 * not go back with its wall clock, so no edit is undone by one made earlier.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
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
  type Picture,
} from '../helpers/node-process.js';

/** Debian's `faketime` package; the MT build for a threaded process. */
const FAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';
const SKEW_S = 75;

interface ClusterView {
  peers: { state: string; error: string | null }[];
}

afterAll(cleanup);

test('a node whose clock is ahead: both cluster pages say so, and its upload arrives once the clock is set', async () => {
  expect(existsSync(FAKETIME), `${FAKETIME} (apt-get install faketime)`).toBe(true);
  const key = newClusterKey();
  const [portA, portB] = [await freePort(), await freePort()];
  const common = ['--cluster-key', key, '--sync-interval-ms', '300', '--discovery', 'off'];
  const clockFile = join(await makeTempDir('mosaic-clock-'), 'offset');
  await writeFile(clockFile, `+${SKEW_S}s\n`);

  const a = await startNode({
    args: [
      '--port',
      String(portA),
      '--name',
      'a',
      '--peer',
      `http://127.0.0.1:${portB}`,
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
      `http://127.0.0.1:${portA}`,
      ...common,
    ],
    env: {
      LD_PRELOAD: FAKETIME,
      FAKETIME_TIMESTAMP_FILE: clockFile,
      // Read again every second, as a clock set by NTP is seen at once.
      FAKETIME_CACHE_DURATION: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    },
  });
  const clientA = api(a.url, await login(a.url, 'admin', ADMIN_PASSWORD));
  const clientB = api(b.url, await login(b.url, 'admin', ADMIN_PASSWORD));
  const peerOf = async (client: typeof clientA) =>
    (await client.get<ClusterView>('/api/cluster')).body.peers[0];

  // Each side's requests are refused by the other, and the page says which clock is off.
  const seenAtA = await waitFor(
    async () => {
      const peer = await peerOf(clientA);
      return peer?.error?.includes('clock') ? peer : false;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: "a's page to explain the refusal" },
  );
  expect(seenAtA.state).toBe('down');
  // a sent, b refused: the sender (a) is behind.
  expect(seenAtA.error).toMatch(
    /^POST \/peer\/hello answered 401: Peer request refused: .*the sender's clock is 7\d s behind the receiver's \(at most 60 s apart allowed\): check that both machines' clocks are set \(NTP\)\.$/,
  );
  const seenAtB = await waitFor(
    async () => {
      const peer = await peerOf(clientB);
      return peer?.error?.includes('clock') ? peer : false;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: "b's page to explain the refusal" },
  );
  expect(seenAtB.error).toMatch(/the sender's clock is 7\d s ahead of the receiver's/);

  // Written at b while its clock is ahead: its operation carries that clock's time.
  const bytes = await makeImage({ width: 160, height: 120, format: 'jpeg', seed: 75 });
  const up = await clientB.upload<Picture>({
    file: bytes,
    fields: { title: 'from the fast clock' },
  });
  expect(up.status).toBe(201);
  expect((await clientA.get(`/api/pictures/${up.body.id}`)).status).toBe(404);

  // The clock is set right; the nodes talk again and the picture arrives, bytes and all.
  await writeFile(clockFile, '+0\n');
  const arrived = await waitFor(
    async () => {
      const res = await clientA.get<Picture>(`/api/pictures/${up.body.id}`);
      return res.status === 200 ? res.body : false;
    },
    { timeoutMs: 45_000, intervalMs: 200, what: "b's picture at a" },
  );
  expect(arrived.title).toBe('from the fast clock');
  const file = await clientA.fetch(`/api/pictures/${up.body.id}/file`);
  expect(Buffer.from(await file.arrayBuffer()).equals(bytes)).toBe(true);

  // b's clock went back 75 s, its op clock did not: an edit made at b now still comes after
  // the one made while it was ahead, and an edit at a after that one comes after both. Neither
  // is undone anywhere.
  const titleAt = async (client: typeof clientA) =>
    (await client.get<Picture>(`/api/pictures/${up.body.id}`)).body.title;
  expect(
    (await clientB.patch(`/api/pictures/${up.body.id}`, { title: 'set again at b' })).status,
  ).toBe(200);
  await waitFor(async () => (await titleAt(clientA)) === 'set again at b', {
    timeoutMs: 45_000,
    intervalMs: 200,
    what: "b's second edit at a",
  });
  expect((await clientA.patch(`/api/pictures/${up.body.id}`, { title: 'then at a' })).status).toBe(
    200,
  );
  await waitFor(async () => (await titleAt(clientB)) === 'then at a', {
    timeoutMs: 20_000,
    intervalMs: 100,
    what: "a's edit at b",
  });
  expect(await titleAt(clientA)).toBe('then at a');
  await waitFor(
    async () => {
      const [atA, atB] = [await peerOf(clientA), await peerOf(clientB)];
      return atA?.state === 'up' && atA.error === null && atB?.state === 'up' && atB.error === null;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: 'both pages to show the peer up, no error' },
  );
}, 120_000);
