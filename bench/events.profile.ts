/**
 * Where a photo commit's time goes (issue 14): 4 real nodes with debug logs, a participant at
 * node 1 uploads ~200 KB JPEGs one at a time, and the nodes' step timings (the '… steps' debug
 * lines of the routes, the coordinator and the participants) are collected and summarised as
 * medians next to the end-to-end commit time.
 *
 *   node --import tsx bench/events.profile.ts          (or: npx tsx bench/events.profile.ts)
 *
 * Prints figures; asserts nothing.
 */
import { randomFillSync } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { writeSmallPhotoJpeg } from './lib/images.js';
import { freePort, meshArgs, startBenchNode, type BenchNode } from './lib/nodes.js';
import { median, round } from './lib/stats.js';

const PHOTOS = Number(process.env['PROFILE_PHOTOS'] ?? 30);
const STEPS = ['event photo steps', '2PC steps', '2PC prepare steps', '2PC decision steps'];

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mosaic-profile-events-'));
  const nodes: BenchNode[] = [];
  const samples = new Map<string, number[]>();
  const add = (key: string, value: number) => {
    samples.set(key, [...(samples.get(key) ?? []), value]);
  };
  try {
    const photos: string[] = [];
    for (let i = 0; i < PHOTOS; i++) {
      const file = join(dir, `photo-${i}.jpg`);
      await writeSmallPhotoJpeg(file);
      photos.push(file);
    }
    const key = randomFillSync(Buffer.alloc(24)).toString('base64url');
    const ports = await Promise.all([0, 1, 2, 3].map(() => freePort()));
    nodes.push(
      ...(await Promise.all(
        [0, 1, 2, 3].map((i) =>
          startBenchNode([...meshArgs(dir, ports, key, i), '--log-level', 'debug']),
        ),
      )),
    );
    let measuring = false;
    for (const [i, node] of nodes.entries()) {
      createInterface({ input: node.proc.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        if (!measuring || !STEPS.some((s) => line.includes(s))) return;
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry['kind'] !== undefined && entry['kind'] !== 'photo') return;
        const where = i === 0 ? 'n1' : 'others';
        for (const [k, v] of Object.entries(entry)) {
          if (k.endsWith('Ms') && typeof v === 'number')
            add(`${where} ${String(entry['msg'])}: ${k}`, v);
        }
      });
    }
    const n1 = nodes[0] as BenchNode;
    for (;;) {
      const res = await fetch(`${n1.url}/api/cluster`, { headers: { cookie: n1.cookie } });
      const body = (await res.json()) as { peers: { id: string | null; state: string }[] };
      if (body.peers.filter((p) => p.id !== null && p.state === 'up').length >= 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const created = await fetch(`${n1.url}/api/events`, {
      method: 'POST',
      headers: { cookie: n1.cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'profile', maxParticipants: 1000 }),
    });
    const event = (await created.json()) as { id: string };
    measuring = true;
    const commits: number[] = [];
    for (const file of photos) {
      const form = new FormData();
      form.append('file', await openAsBlob(file), 'photo.jpg');
      const t0 = performance.now();
      const res = await fetch(`${n1.url}/api/events/${event.id}/photos`, {
        method: 'POST',
        headers: { cookie: n1.cookie },
        body: form,
      });
      await res.arrayBuffer();
      commits.push(performance.now() - t0);
      if (res.status !== 201) throw new Error(`photo: ${res.status}`);
    }
    await new Promise((r) => setTimeout(r, 500));
    console.log(`photo commit p50 ${round(median(commits))} ms over ${PHOTOS} photos`);
    for (const [k, v] of [...samples].sort()) {
      console.log(
        `  ${k.padEnd(48)} p50 ${String(round(median(v))).padStart(6)} ms  (n=${v.length})`,
      );
    }
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
