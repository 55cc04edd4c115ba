/**
 * One scaled-site process (PostgreSQL + Swift, as bench:scale) under a short load, for finding
 * where an operation's CPU goes: CPU per upload and per file read of the node, PostgreSQL and
 * Swift (from /proc), the SQL statements per operation (PostgreSQL's statement log), and, with
 * PROFILE_DIR set, a V8 CPU profile of the node (`--cpu-prof`, written when it stops).
 *
 *   npm run build && PROFILE_DIR=/tmp/prof node dist/bench/scale-profile.bench.js
 *
 * Knobs: PROFILE_UPLOADS (default 80), PROFILE_READS (default 400), MOSAIC_BENCH_BIN (another
 * build). Prints figures; asserts nothing.
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
import { freePort, startBenchNode } from './lib/nodes.js';
import { round, runPool } from './lib/stats.js';

const UPLOADS = Number(process.env['PROFILE_UPLOADS'] ?? 80);
const READS = Number(process.env['PROFILE_READS'] ?? 400);
const PROFILE_DIR = process.env['PROFILE_DIR'];

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
  const data = join(root, 'node');
  await mkdir(data);
  if (PROFILE_DIR) await mkdir(PROFILE_DIR, { recursive: true });
  const node = await startBenchNode(
    [
      ...['--data', data, '--port', String(await freePort()), '--host', '127.0.0.1'],
      ...['--cluster-key', randomBytes(24).toString('base64url')],
    ],
    {
      MOSAIC_DATABASE: await pgServer.createDatabase(),
      MOSAIC_BLOBS: `s3://profile?endpoint=${swift.endpoint}&region=${swift.region}`,
      AWS_ACCESS_KEY_ID: swift.accessKeyId,
      AWS_SECRET_ACCESS_KEY: swift.secretAccessKey,
      ...(PROFILE_DIR ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${PROFILE_DIR}` } : {}),
    },
  );
  cleanups.push(() => node.kill());
  const roots = [node.proc.pid ?? -1, pgServer.pid, swift.pid ?? -1];
  const ids: string[] = [];
  const upload = async (file: string): Promise<number> => {
    const form = new FormData();
    form.append('title', 'profile');
    form.append('file', await openAsBlob(file, { type: 'image/jpeg' }), 'p.jpg');
    const res = await fetch(`${node.url}/api/pictures`, {
      method: 'POST',
      headers: { cookie: node.cookie },
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
    const c0 = await treeCpuSeconds(roots);
    const t0 = performance.now();
    await work();
    const wall = (performance.now() - t0) / 1000;
    const c1 = await treeCpuSeconds(roots);
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
    const ms = c1.map((c, i) => round(((c - (c0[i] ?? 0)) * 1000) / count));
    console.log(
      `${label}: ${count} in ${round(wall)} s; CPU ms/op node ${ms[0]} / PostgreSQL ${ms[1]} / ` +
        `Swift ${ms[2]}; SQL statements/op ${round((s1 - s0) / count)}`,
    );
  };
  await measure('upload', UPLOADS, () => runPool(images.slice(8), 4, upload));
  let next = 0;
  await measure('file read', READS, () =>
    runPool(
      Array.from({ length: READS }, (_, i) => i),
      8,
      async () => {
        const res = await fetch(`${node.url}/api/pictures/${ids[next++ % ids.length]}/file`, {
          headers: { cookie: node.cookie },
        });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`read: ${res.status}`);
        return 0;
      },
    ),
  );
  await admin.end();
  await node.stop();
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
