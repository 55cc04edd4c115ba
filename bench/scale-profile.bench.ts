/**
 * A scaled site of PROFILE_PROCESSES processes (PostgreSQL + Swift, as bench:scale) under a short
 * load, for finding where an operation's CPU goes: CPU per upload and per file read of each
 * node, PostgreSQL and Swift (from /proc), the SQL statements per operation (PostgreSQL's
 * statement log), the store GETs and cache hits per read of each process (`/metrics`), and, with
 * PROFILE_DIR set, a V8 CPU profile of each node (`--cpu-prof`, written when it stops).
 *
 *   npm run build && PROFILE_DIR=/tmp/prof node dist/bench/scale-profile.bench.js
 *
 * Uploads go to the processes in turn, then the file reads in PROFILE_READ_PASSES passes over
 * every picture, spread over the processes in turn (client i at process i mod n): the first
 * pass finds each process's cache cold, the later ones show the steady state.
 *
 * Knobs: PROFILE_PROCESSES (default 1), PROFILE_UPLOADS (default 80), PROFILE_READ_PASSES
 * (default 3), PROFILE_GALLERY (gallery pages of 50 read after the passes, default 0),
 * PROFILE_GALLERY_SORT=taken (those pages by date taken, as the web app asks; default: added),
 * PROFILE_CLIENTS (default 8), PROFILE_EVERY_PROCESS=1 (every picture read once
 * through every process before the passes), PROFILE_DEFAULT=1 (one process on the default
 * engines, SQLite and files, for comparison: no statement counts), PROFILE_READ_AT=i (the passes through process i
 * only), MOSAIC_BENCH_BIN (another build). Prints figures;
 * asserts nothing.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startPostgres } from '../test/helpers/postgres.js';
import { startSwift } from '../test/helpers/swift.js';
import { treeCpuSeconds } from './lib/cpu.js';
import { writeSmallPhotoJpeg } from './lib/images.js';
import { freePort, startBenchNode, type BenchNode } from './lib/nodes.js';
import { round, runPool } from './lib/stats.js';

const PROCESSES = Number(process.env['PROFILE_PROCESSES'] ?? 1);
const UPLOADS = Number(process.env['PROFILE_UPLOADS'] ?? 80);
const READ_PASSES = Number(process.env['PROFILE_READ_PASSES'] ?? 3);
const CLIENTS = Number(process.env['PROFILE_CLIENTS'] ?? 8);
const GALLERY = Number(process.env['PROFILE_GALLERY'] ?? 0);
const GALLERY_QUERY = process.env['PROFILE_GALLERY_SORT'] === 'taken' ? '&sort=taken' : '';
const PROFILE_DIR = process.env['PROFILE_DIR'];
/** PROFILE_EVERY_PROCESS=1: before the passes, every picture read once through every process. */
const EVERY_PROCESS = process.env['PROFILE_EVERY_PROCESS'] === '1';
/** PROFILE_DEFAULT=1: the node on SQLite and files (PostgreSQL and Swift idle beside it). */
const DEFAULT_ENGINES = process.env['PROFILE_DEFAULT'] === '1';
/** PROFILE_READ_AT=i: the passes read through process i only (the others idle). */
const READ_AT =
  process.env['PROFILE_READ_AT'] === undefined ? null : Number(process.env['PROFILE_READ_AT']);

/** Store GETs and cache hits of a process's picture reads so far (its `/metrics`). */
async function blobReads(node: BenchNode): Promise<{ cache: number; store: number }> {
  const text = await (
    await fetch(`${node.url}/metrics`, { headers: { cookie: node.cookie } })
  ).text();
  const count = (source: string): number =>
    Number(
      new RegExp(`mosaic_blob_reads_total\\{source="${source}"\\} (\\d+)`).exec(text)?.[1] ?? 0,
    );
  return { cache: count('cache'), store: count('store') };
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'mosaic-scale-profile-'));
  const images = Array.from({ length: UPLOADS + 8 }, (_, i) => join(root, `${i}.jpg`));
  const [pgServer, swift] = await Promise.all([
    startPostgres(),
    startSwift(),
    runPool(images, 2, async (file) => (await writeSmallPhotoJpeg(file), 0)),
  ]);
  cleanups.push(
    () => pgServer.stop(),
    () => swift.stop(),
    () => rm(root, { recursive: true, force: true }),
  );
  const admin = new pg.Client({ connectionString: pgServer.url });
  await admin.connect();
  const logFile = join(
    ((await admin.query('SHOW data_directory')).rows[0] as { data_directory: string })
      .data_directory,
    '..',
    'server.log',
  );
  if (PROFILE_DIR) await mkdir(PROFILE_DIR, { recursive: true });
  const env = {
    ...(DEFAULT_ENGINES
      ? {}
      : {
          MOSAIC_DATABASE: await pgServer.createDatabase(),
          MOSAIC_BLOBS: `s3://profile?endpoint=${swift.endpoint}&region=${swift.region}`,
          AWS_ACCESS_KEY_ID: swift.accessKeyId,
          AWS_SECRET_ACCESS_KEY: swift.secretAccessKey,
        }),
    ...(PROFILE_DIR ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${PROFILE_DIR}` } : {}),
  };
  const key = randomBytes(24).toString('hex');
  const start = async (i: number): Promise<BenchNode> => {
    const data = join(root, `node-${i}`);
    await mkdir(data);
    const node = await startBenchNode(
      [
        ...['--data', data, '--port', String(await freePort()), '--host', '127.0.0.1'],
        ...['--cluster-key', key],
      ],
      env,
    );
    cleanups.push(() => node.kill());
    return node;
  };
  const nodes = [await start(0)];
  for (let i = 1; i < PROCESSES; i++) nodes.push(await start(i));
  const cookie = (nodes[0] as BenchNode).cookie;
  const at = (i: number): BenchNode => nodes[i % nodes.length] as BenchNode;
  const roots = [...nodes.map((n) => n.proc.pid ?? -1), pgServer.pid, swift.pid ?? -1];
  const ids: string[] = [];
  let uploaded = 0;
  const upload = async (file: string): Promise<number> => {
    const form = new FormData();
    form.append('title', 'profile');
    form.append('file', await openAsBlob(file, { type: 'image/jpeg' }), 'p.jpg');
    const res = await fetch(`${at(uploaded++).url}/api/pictures`, {
      method: 'POST',
      headers: { cookie },
      body: form,
    });
    const body = (await res.json()) as { id: string };
    if (res.status !== 201) throw new Error(`upload: ${res.status} ${JSON.stringify(body)}`);
    ids.push(body.id);
    return 0;
  };
  await runPool(images.slice(0, 8), 4, upload); // warm-up
  const statementLines = async (): Promise<string[]> =>
    (await readFile(logFile, 'utf8'))
      .split('\n')
      .filter((l) => /LOG:\s+(statement|execute)/.test(l));
  const statements = async (): Promise<number> => (await statementLines()).length;
  const measure = async (label: string, count: number, work: () => Promise<unknown>) => {
    await admin.query(`ALTER SYSTEM SET log_statement = 'all'`);
    await admin.query('SELECT pg_reload_conf()');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const s0 = await statements();
    const r0 = await Promise.all(nodes.map(blobReads));
    const c0 = await treeCpuSeconds(roots);
    const t0 = performance.now();
    await work();
    const wall = (performance.now() - t0) / 1000;
    const c1 = await treeCpuSeconds(roots);
    const r1 = await Promise.all(nodes.map(blobReads));
    await admin.query(`ALTER SYSTEM SET log_statement = 'none'`);
    await admin.query('SELECT pg_reload_conf()');
    const s1 = await statements();
    if (process.env['PROFILE_SQL_LOG']) {
      const { writeFile } = await import('node:fs/promises');
      const lines = (await statementLines()).slice(s0, s1);
      await writeFile(
        `${process.env['PROFILE_SQL_LOG']}.${label.replace(/\W/g, '-')}`,
        lines.join('\n'),
      );
    }
    // Two decimals: a gallery page is about a millisecond.
    const ms = c1.map((c, i) => round(((c - (c0[i] ?? 0)) * 1000) / count, 2));
    const nodeMs = ms.slice(0, nodes.length);
    const reads = r1.map((r, i) => {
      const before = r0[i] ?? { cache: 0, store: 0 };
      return `${r.store - before.store} GET / ${r.cache - before.cache} hit`;
    });
    console.log(
      `${label}: ${count} in ${round(wall)} s; CPU ms/op nodes ${round(
        nodeMs.reduce((a, b) => a + b, 0),
        2,
      )} ` +
        `(${nodeMs.join(' + ')}) / PostgreSQL ${ms[nodes.length]} / Swift ${ms[nodes.length + 1]}; ` +
        `SQL statements/op ${round((s1 - s0) / count)}; picture reads per process: ${reads.join(', ')}`,
    );
  };
  await measure('upload', UPLOADS, () => runPool(images.slice(8), 4, upload));
  if (EVERY_PROCESS) {
    // Every picture through every process once first, as bench:scale's `first` row.
    let pair = 0;
    const pairs = ids.length * nodes.length;
    await measure('file read, each picture at each process', pairs, () =>
      runPool(
        Array.from({ length: CLIENTS }, (_, i) => i),
        CLIENTS,
        async () => {
          for (let k = pair++; k < pairs; k = pair++) {
            const res = await fetch(
              `${at(k).url}/api/pictures/${ids[Math.floor(k / nodes.length)]}/file`,
              { headers: { cookie } },
            );
            await res.arrayBuffer();
            if (res.status !== 200) throw new Error(`read: ${res.status}`);
          }
          return 0;
        },
      ),
    );
  }
  for (let pass = 1; pass <= READ_PASSES; pass++) {
    let next = 0;
    await measure(`file read, pass ${pass}`, ids.length, () =>
      runPool(
        Array.from({ length: CLIENTS }, (_, i) => i),
        CLIENTS,
        async (client) => {
          for (let i = next++; i < ids.length; i = next++) {
            const res = await fetch(`${at(READ_AT ?? client).url}/api/pictures/${ids[i]}/file`, {
              headers: { cookie },
            });
            await res.arrayBuffer();
            if (res.status !== 200) throw new Error(`read: ${res.status}`);
          }
          return 0;
        },
      ),
    );
  }
  if (GALLERY > 0) {
    let next = 0;
    await measure(`gallery page of 50${GALLERY_QUERY}`, GALLERY, () =>
      runPool(
        Array.from({ length: CLIENTS }, (_, i) => i),
        CLIENTS,
        async (client) => {
          for (let i = next++; i < GALLERY; i = next++) {
            const res = await fetch(
              `${at(READ_AT ?? client).url}/api/pictures?limit=50${GALLERY_QUERY}`,
              {
                headers: { cookie },
              },
            );
            await res.arrayBuffer();
            if (res.status !== 200) throw new Error(`gallery: ${res.status}`);
          }
          return 0;
        },
      ),
    );
  }
  const idleSeconds = 3;
  const i0 = await treeCpuSeconds(roots);
  await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
  const i1 = await treeCpuSeconds(roots);
  console.log(
    `idle: CPU ms/s per process ${i1
      .slice(0, nodes.length)
      .map((c, i) => round(((c - (i0[i] ?? 0)) * 1000) / idleSeconds))
      .join(' + ')}`,
  );
  await admin.end();
  await Promise.all(nodes.map((n) => n.stop()));
  await swift.stop();
  await pgServer.stop();
  await rm(root, { recursive: true, force: true });
}

const cleanups: (() => Promise<unknown>)[] = [];

main()
  .catch(async (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  })
  .finally(() => setTimeout(() => process.exit(), 100).unref());
