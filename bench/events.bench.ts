/**
 * Group photo events bench (issue 5): 4 real nodes on 127.0.0.1 with static peers.
 *
 *   npm run bench:events
 *
 * 1. Event creation: POST /api/events at node 1, timed until the 201 — the create transaction
 *    (prepare + commit at all 4 sites) has committed by then (the answer says 'collecting').
 * 2. Photo commit: a participant at node 1 uploads ~200 KB JPEGs one at a time; each POST
 *    answers 201 once the photo transaction committed at every site (each of the 3 other sites
 *    fetched and verified the bytes before voting yes). A new event every 15 photos keeps the
 *    montages (rebuilt in the background after every commit) at a realistic size.
 * 3. Montage build: 10 photo-like JPEGs of 12 MP (4000 x 3000), built in this process with the
 *    same code the nodes use (src/events/montage.ts).
 * Prints figures; asserts nothing.
 */
import { randomFillSync } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildMontage } from '../src/events/montage.js';
import { writeSmallPhotoJpeg } from './lib/images.js';
import { freePort, meshArgs, startBenchNode, type BenchNode } from './lib/nodes.js';
import { formatTable, median, percentile, round } from './lib/stats.js';

const CREATES = 40;
const PHOTOS = 60;
const PHOTOS_PER_EVENT = 15;
const MONTAGE_RUNS = 5;

interface EventJson {
  id: string;
  phase: string;
  inviteUrl: string | null;
}

async function createEvent(
  node: BenchNode,
  title: string,
): Promise<{ ms: number; event: EventJson }> {
  const t0 = performance.now();
  const res = await fetch(`${node.url}/api/events`, {
    method: 'POST',
    headers: { cookie: node.cookie, 'content-type': 'application/json' },
    body: JSON.stringify({ title }),
  });
  const event = (await res.json()) as EventJson;
  const ms = performance.now() - t0;
  if (res.status !== 201 || event.phase !== 'collecting') {
    throw new Error(`create: ${res.status} ${JSON.stringify(event)}`);
  }
  return { ms, event };
}

async function joinEvent(node: BenchNode, event: EventJson): Promise<string> {
  const invite = new URL(event.inviteUrl ?? '').searchParams.get('invite') ?? '';
  const res = await fetch(`${node.url}/api/events/${event.id}/join`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ invite, name: 'bench' }),
  });
  if (res.status !== 200) throw new Error(`join: ${res.status} ${await res.text()}`);
  return (res.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
}

async function addPhoto(
  node: BenchNode,
  eventId: string,
  cookie: string,
  file: string,
): Promise<number> {
  const form = new FormData();
  form.append('file', await openAsBlob(file), 'photo.jpg');
  const t0 = performance.now();
  const res = await fetch(`${node.url}/api/events/${eventId}/photos`, {
    method: 'POST',
    headers: { cookie },
    body: form,
  });
  await res.arrayBuffer();
  const ms = performance.now() - t0;
  if (res.status !== 201) throw new Error(`photo: ${res.status}`);
  return ms;
}

/** A photo-like 4000 x 3000 JPEG: a smooth random colour field scaled up, quality 90. */
async function writeTwelveMp(file: string): Promise<number> {
  const small = randomFillSync(Buffer.allocUnsafe(40 * 30 * 3));
  const info = await sharp(small, { raw: { width: 40, height: 30, channels: 3 } })
    .resize(4000, 3000, { kernel: 'cubic' })
    .jpeg({ quality: 90 })
    .toFile(file);
  return info.size;
}

async function waitConnected(nodes: readonly BenchNode[]): Promise<void> {
  for (const node of nodes) {
    for (;;) {
      const res = await fetch(`${node.url}/api/cluster`, { headers: { cookie: node.cookie } });
      const body = (await res.json()) as { peers: { id: string | null; state: string }[] };
      if (body.peers.filter((p) => p.id !== null && p.state === 'up').length >= nodes.length - 1)
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mosaic-bench-events-'));
  const nodes: BenchNode[] = [];
  try {
    console.log(`Generating ${PHOTOS} photos of ~200 KB and 10 of 12 MP ...`);
    const photos: string[] = [];
    for (let i = 0; i < PHOTOS; i++) {
      const file = join(dir, `photo-${i}.jpg`);
      await writeSmallPhotoJpeg(file);
      photos.push(file);
    }
    const big: string[] = [];
    let bigBytes = 0;
    for (let i = 0; i < 10; i++) {
      const file = join(dir, `big-${i}.jpg`);
      bigBytes += await writeTwelveMp(file);
      big.push(file);
    }

    const key = randomFillSync(Buffer.alloc(24)).toString('base64url');
    const ports = await Promise.all([0, 1, 2, 3].map(() => freePort()));
    nodes.push(
      ...(await Promise.all([0, 1, 2, 3].map((i) => startBenchNode(meshArgs(dir, ports, key, i))))),
    );
    const n1 = nodes[0] as BenchNode;
    await waitConnected(nodes);
    await createEvent(n1, 'warm-up');

    console.log(`Creating ${CREATES} events at node 1 ...`);
    const creates: number[] = [];
    for (let i = 0; i < CREATES; i++) creates.push((await createEvent(n1, `event ${i}`)).ms);

    console.log(`Adding ${PHOTOS} photos at node 1, one at a time ...`);
    const commits: number[] = [];
    let current: { event: EventJson; cookie: string } | null = null;
    for (const [i, file] of photos.entries()) {
      if (i % PHOTOS_PER_EVENT === 0) {
        const { event } = await createEvent(n1, `photos ${i}`);
        current = { event, cookie: await joinEvent(n1, event) };
      }
      if (current) commits.push(await addPhoto(n1, current.event.id, current.cookie, file));
    }

    console.log(`Building the montage of 10 photos of 12 MP, ${MONTAGE_RUNS} times ...`);
    const montages: number[] = [];
    for (let i = 0; i < MONTAGE_RUNS; i++) {
      const t0 = performance.now();
      const photos = big.map((file) => ({ hash: file, read: () => readFile(file) }));
      await buildMontage(photos, join(dir, `montage-${i}.jpg`));
      montages.push(performance.now() - t0);
    }

    const rows = [
      [
        'event creation, 4 sites',
        `${round(median(creates))}`,
        `${round(percentile(creates, 99))}`,
        `${CREATES} events, target < 50 ms p50`,
      ],
      [
        'photo commit, 4 sites',
        `${round(median(commits))}`,
        `${round(percentile(commits, 99))}`,
        `${PHOTOS} photos of ~200 KB, target < 50 ms p50`,
      ],
      [
        'montage, 10 x 12 MP',
        `${round(median(montages))}`,
        `${round(Math.max(...montages))}`,
        `${round(bigBytes / 1e6)} MB of JPEG in, target < 1500 ms (max shown as p99)`,
      ],
    ];
    console.log(`\n${formatTable(['measure', 'p50 ms', 'p99 ms', 'note'], rows)}\n`);
    console.log(
      JSON.stringify({
        bench: 'events',
        createP50Ms: round(median(creates)),
        createP99Ms: round(percentile(creates, 99)),
        photoCommitP50Ms: round(median(commits)),
        photoCommitP99Ms: round(percentile(commits, 99)),
        montage10x12MpP50Ms: round(median(montages)),
      }),
    );
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
