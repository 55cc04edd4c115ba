/**
 * Scale-out bench (issue 13): uploads/s and reads/s through 1, 2 and 3 `mosaic node` processes
 * of one site on a real PostgreSQL and a real S3 store (OpenStack Swift with s3api, started by
 * the same helpers as the tests), next to the one-process default (SQLite + local files) as the
 * anchor, with the CPU each operation costs: the processes', PostgreSQL's and Swift's, read
 * from /proc. Prints figures; asserts nothing.
 *
 *   npm run bench:scale
 *
 * Each point is a fresh site (a new database and bucket, or a new data directory), so the same
 * images are new pictures at every point. After the uploads every picture is read once through
 * every process (the `first` row: cold read caches), then the timed file reads run. Clients are spread round-robin over the processes;
 * the session opened at the first process is used at all of them (sessions are rows of the
 * shared database).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAsBlob } from 'node:fs';
import { startPostgres } from '../test/helpers/postgres.js';
import { startSwift } from '../test/helpers/swift.js';
import { writeSmallPhotoJpeg } from './lib/images.js';
import { startBenchNode, type BenchNode } from './lib/nodes.js';
import { rawS3 } from './lib/scale-raw-s3.js';
import { report, type Point } from './lib/scale-report.js';
import { at, idleCores, phase, scaledSite, type Site } from './lib/scale-site.js';
import { round, runPool } from './lib/stats.js';

const IMAGES = 480;
const WARMUP_UPLOADS = 8;
const UPLOAD_SECONDS = Number(process.env['BENCH_SCALE_UPLOAD_S'] ?? 12);
const READ_SECONDS = Number(process.env['BENCH_SCALE_READ_S'] ?? 6);
const UPLOAD_CLIENTS = 6;
const READ_CLIENTS = 12;
const GALLERY_PAGE = 48; // what the web app asks for
/**
 * The gallery's order: by date taken, as the web app asks (default), or BENCH_SCALE_GALLERY_SORT
 * =added (upload time: what this bench measured before 2026-12-01).
 */
const GALLERY_SORT = process.env['BENCH_SCALE_GALLERY_SORT'] === 'added' ? 'added' : 'taken';
const SCALED_PROCESSES = [1, 2, 3] as const;
/** Seconds of each raw S3 phase (the store's own rate, no Mosaic) and of the idle sample. */
const RAW_SECONDS = 4;
const IDLE_SECONDS = 3;

function log(line: string): void {
  process.stderr.write(`[bench:scale] ${line}\n`);
}

async function measure(
  site: Site,
  images: readonly string[],
): Promise<Omit<Point, 'label' | 'processes' | 'kind'>> {
  const ids: string[] = [];
  let next = 0;
  const upload = async (client: number): Promise<string | null> => {
    const node = at(site, client);
    const file = images[next++];
    if (file === undefined) return null;
    const form = new FormData();
    form.append('title', `bench ${next}`);
    form.append('file', await openAsBlob(file, { type: 'image/jpeg' }), `p${next}.jpg`);
    const res = await fetch(`${node.url}/api/pictures`, {
      method: 'POST',
      headers: { cookie: site.cookie },
      body: form,
    });
    const text = await res.text();
    if (res.status !== 201) return `POST /api/pictures: ${res.status} ${text.slice(0, 200)}`;
    ids.push((JSON.parse(text) as { id: string }).id);
    return '';
  };
  // Warm-up (JIT, sharp start-up, pools): not counted. As many per process as the default's
  // one process gets: each process compiles its own code.
  await runPool(images.slice(0, WARMUP_UPLOADS * site.nodes.length), 4, async () => {
    await upload(next);
    return 0;
  });
  const idle = await idleCores(site, IDLE_SECONDS);
  const uploads = await phase(site, UPLOAD_CLIENTS, UPLOAD_SECONDS, upload);
  // Every picture read once through every process (not time-bound): the first read of each at
  // each process, then the timed reads find every process's cache warm.
  const n = site.nodes.length;
  let pair = 0;
  const first = await phase(site, READ_CLIENTS, 3600, async () => {
    const k = pair++;
    const id = ids[Math.floor(k / n)];
    if (id === undefined) return null;
    const node = site.nodes[k % n] as BenchNode;
    const res = await fetch(`${node.url}/api/pictures/${id}/file`, {
      headers: { cookie: site.cookie },
    });
    const body = await res.arrayBuffer();
    return res.status === 200 && body.byteLength > 0 ? '' : `GET file: ${res.status}`;
  });
  let read = 0;
  const file = await phase(site, READ_CLIENTS, READ_SECONDS, async (client) => {
    const id = ids[read++ % ids.length];
    const res = await fetch(`${at(site, client).url}/api/pictures/${id}/file`, {
      headers: { cookie: site.cookie },
    });
    const body = await res.arrayBuffer();
    return res.status === 200 && body.byteLength > 0 ? '' : `GET file: ${res.status}`;
  });
  const gallery = await phase(site, READ_CLIENTS, READ_SECONDS, async (client) => {
    const query = `limit=${GALLERY_PAGE}&sort=${GALLERY_SORT}`;
    const res = await fetch(`${at(site, client).url}/api/pictures?${query}`, {
      headers: { cookie: site.cookie },
    });
    const body = (await res.json()) as { items?: unknown[] };
    return res.status === 200 && body.items?.length === Math.min(GALLERY_PAGE, ids.length)
      ? ''
      : `GET list: ${res.status} ${JSON.stringify(body).slice(0, 200)}`;
  });
  const last = site.nodes.at(-1) as BenchNode;
  return {
    phases: { upload: uploads, first, file, gallery },
    idleCores: idle,
    created: ids.length,
    listed: await countPictures(last.url, site.cookie),
  };
}

async function countPictures(url: string, cookie: string): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const res = await fetch(`${url}/api/pictures?limit=200${query}`, { headers: { cookie } });
    const page = (await res.json()) as { items: unknown[]; nextCursor: string | null };
    count += page.items.length;
    cursor = page.nextCursor;
  } while (cursor !== null);
  return count;
}

const cleanups: (() => Promise<void>)[] = [];

async function cleanup(): Promise<void> {
  for (let step = cleanups.pop(); step; step = cleanups.pop()) {
    await step().catch((error: unknown) => {
      console.error('cleanup:', error);
    });
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  const benchStart = performance.now();
  const root = await mkdtemp(join(tmpdir(), 'mosaic-bench-scale-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'images'));

  log('starting PostgreSQL and Swift; generating images');
  const [pg, swift, images] = await Promise.all([
    startPostgres(),
    startSwift(),
    runPool(
      Array.from({ length: IMAGES }, (_, i) => join(root, 'images', `${i}.jpg`)),
      2,
      async (file) => (await writeSmallPhotoJpeg(file), 0),
    ).then(() => Array.from({ length: IMAGES }, (_, i) => join(root, 'images', `${i}.jpg`))),
  ]);
  cleanups.push(
    () => pg.stop(),
    () => swift.stop(),
  );
  log(`ready after ${round((performance.now() - benchStart) / 1000)} s`);

  const points: Point[] = [];
  const run = async (label: string, site: Site, kind: Point['kind']): Promise<void> => {
    try {
      log(`${label}: measuring`);
      points.push({
        label,
        processes: site.nodes.length,
        kind,
        ...(await measure(site, images)),
      });
    } finally {
      await Promise.all(site.nodes.map((n) => n.stop()));
    }
  };
  const anchorDir = join(root, 'anchor');
  await mkdir(anchorDir);
  const anchor = await startBenchNode(['--data', anchorDir, '--port', '0', '--host', '127.0.0.1']);
  cleanups.push(() => anchor.kill());
  await run(
    'default (SQLite + files)',
    { nodes: [anchor], cookie: anchor.cookie, postgresPid: null, swiftPid: null },
    'default',
  );
  for (const n of SCALED_PROCESSES) {
    await run(
      `scaled, ${n} process${n > 1 ? 'es' : ''}`,
      await scaledSite(root, pg, swift, n, cleanups),
      'scaled',
    );
  }
  log('S3 store alone (AWS SDK straight to Swift)');
  points.push(
    await rawS3(swift, images, {
      uploadClients: UPLOAD_CLIENTS,
      readClients: READ_CLIENTS,
      seconds: RAW_SECONDS,
    }),
  );
  await cleanup();
  const settings = {
    clients: { upload: UPLOAD_CLIENTS, read: READ_CLIENTS },
    phaseSeconds: { upload: UPLOAD_SECONDS, read: READ_SECONDS, raw: RAW_SECONDS },
  };
  report(points, settings, (performance.now() - benchStart) / 1000);
}

main()
  .catch(async (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
    await cleanup();
  })
  .finally(() => {
    setTimeout(() => process.exit(), 100).unref();
  });
