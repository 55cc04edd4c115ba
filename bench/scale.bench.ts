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
 * images are new pictures at every point. Clients are spread round-robin over the processes;
 * the session opened at the first process is used at all of them (sessions are rows of the
 * shared database).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAsBlob } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { startPostgres, type PostgresServer } from '../test/helpers/postgres.js';
import { startSwift, type SwiftServer } from '../test/helpers/swift.js';
import { machineCpuSeconds, treeCpuSeconds } from './lib/cpu.js';
import { writeSmallPhotoJpeg } from './lib/images.js';
import { freePort, startBenchNode, type BenchNode } from './lib/nodes.js';
import { formatTable, percentile, round, runPool } from './lib/stats.js';

const IMAGES = 480;
const WARMUP_UPLOADS = 8;
const UPLOAD_SECONDS = Number(process.env['BENCH_SCALE_UPLOAD_S'] ?? 12);
const READ_SECONDS = Number(process.env['BENCH_SCALE_READ_S'] ?? 6);
const UPLOAD_CLIENTS = 6;
const READ_CLIENTS = 12;
const GALLERY_PAGE = 48; // what the web app asks for
const SCALED_PROCESSES = [1, 2, 3] as const;

type OpKind = 'upload' | 'file' | 'gallery';
const OP_KINDS: readonly OpKind[] = ['upload', 'file', 'gallery'];

/** CPU seconds of one phase, by who spent them. */
interface Cpu {
  readonly nodes: number;
  readonly postgres: number;
  readonly swift: number;
  readonly client: number;
  /** Share of the whole machine busy with anything else (other tenants, other agents). */
  readonly others: number;
}

interface Phase {
  readonly ok: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly wallSec: number;
  readonly latencies: number[];
  readonly cpu: Cpu;
}

interface Point {
  readonly label: string;
  readonly processes: number;
  readonly scaled: boolean;
  readonly phases: Record<OpKind, Phase>;
  /** Pictures the site lists at the end vs uploads answered 201 (warm-up included). */
  readonly listed: number;
  readonly created: number;
}

interface Site {
  readonly nodes: BenchNode[];
  readonly cookie: string;
  readonly postgresPid: number | null;
  readonly swiftPid: number | null;
}

function log(line: string): void {
  process.stderr.write(`[bench:scale] ${line}\n`);
}

async function cpuNow(site: Site): Promise<number[]> {
  const roots = [
    ...site.nodes.map((n) => n.proc.pid ?? -1),
    site.postgresPid ?? -1,
    site.swiftPid ?? -1,
  ];
  const trees = await treeCpuSeconds(roots);
  const { user, system } = process.cpuUsage();
  const machine = await machineCpuSeconds();
  return [...trees, (user + system) / 1e6, machine.busy, machine.total];
}

function cpuBetween(site: Site, a: number[], b: number[]): Cpu {
  const d = b.map((x, i) => x - (a[i] ?? 0));
  const n = site.nodes.length;
  const at = (i: number): number => d[i] ?? 0;
  const nodes = d.slice(0, n).reduce((x, y) => x + y, 0);
  const [postgres, swift, client, busy, total] = [n, n + 1, n + 2, n + 3, n + 4].map(at) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const ours = nodes + postgres + swift + client;
  return {
    nodes,
    postgres,
    swift,
    client,
    others: total > 0 ? Math.max(0, busy - ours) / total : 0,
  };
}

/**
 * Runs `clients` loops for `seconds` (or until `op` says there is no more work), client i at
 * process i mod n; `op` returns null when it has nothing left, else an error text or ''.
 */
async function phase(
  site: Site,
  clients: number,
  seconds: number,
  op: (node: BenchNode) => Promise<string | null>,
): Promise<Phase> {
  let ok = 0;
  let errors = 0;
  let firstError: string | null = null;
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  const before = await cpuNow(site);
  const t0 = performance.now();
  await runPool(
    Array.from({ length: clients }, (_, i) => i),
    clients,
    async (i) => {
      const node = site.nodes[i % site.nodes.length] as BenchNode;
      while (performance.now() < until) {
        const start = performance.now();
        const result = await op(node).catch((error: unknown) => String(error));
        if (result === null) break;
        latencies.push(performance.now() - start);
        if (result === '') ok++;
        else {
          errors++;
          firstError ??= result;
        }
      }
      return 0;
    },
  );
  const wallSec = (performance.now() - t0) / 1000;
  return {
    ok,
    errors,
    firstError,
    wallSec,
    latencies,
    cpu: cpuBetween(site, before, await cpuNow(site)),
  };
}

async function measure(
  site: Site,
  images: readonly string[],
): Promise<Omit<Point, 'label' | 'processes' | 'scaled'>> {
  const ids: string[] = [];
  let next = 0;
  const upload = async (node: BenchNode): Promise<string | null> => {
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
  // Warm-up (JIT, sharp start-up, pools): not counted.
  await runPool(images.slice(0, WARMUP_UPLOADS), 4, async () => {
    await upload(site.nodes[next % site.nodes.length] as BenchNode);
    return 0;
  });
  const uploads = await phase(site, UPLOAD_CLIENTS, UPLOAD_SECONDS, upload);
  let read = 0;
  const file = await phase(site, READ_CLIENTS, READ_SECONDS, async (node) => {
    const id = ids[read++ % ids.length];
    const res = await fetch(`${node.url}/api/pictures/${id}/file`, {
      headers: { cookie: site.cookie },
    });
    const body = await res.arrayBuffer();
    return res.status === 200 && body.byteLength > 0 ? '' : `GET file: ${res.status}`;
  });
  const gallery = await phase(site, READ_CLIENTS, READ_SECONDS, async (node) => {
    const res = await fetch(`${node.url}/api/pictures?limit=${GALLERY_PAGE}`, {
      headers: { cookie: site.cookie },
    });
    const body = (await res.json()) as { items?: unknown[] };
    return res.status === 200 && body.items?.length === Math.min(GALLERY_PAGE, ids.length)
      ? ''
      : `GET list: ${res.status} ${JSON.stringify(body).slice(0, 200)}`;
  });
  const last = site.nodes.at(-1) as BenchNode;
  return {
    phases: { upload: uploads, file, gallery },
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

async function scaledSite(
  root: string,
  pg: PostgresServer,
  swift: SwiftServer,
  processes: number,
): Promise<Site> {
  const database = await pg.createDatabase();
  const env = {
    MOSAIC_DATABASE: database,
    MOSAIC_BLOBS: `s3://bench-scale-${processes}?endpoint=${swift.endpoint}&region=${swift.region}`,
    AWS_ACCESS_KEY_ID: swift.accessKeyId,
    AWS_SECRET_ACCESS_KEY: swift.secretAccessKey,
  };
  const key = randomBytes(24).toString('base64url');
  const start = async (i: number): Promise<BenchNode> => {
    const data = join(root, `scaled-${processes}-${i}`);
    await mkdir(data, { recursive: true });
    const port = await freePort();
    const args = [
      '--data',
      data,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--name',
      'scaled',
    ];
    const node = await startBenchNode([...args, '--cluster-key', key], env);
    cleanups.push(() => node.kill());
    return node;
  };
  // The first creates the schema and the bucket; the others then start together.
  const first = await start(0);
  const rest = await Promise.all(Array.from({ length: processes - 1 }, (_, i) => start(i + 1)));
  const nodes = [first, ...rest];
  return { nodes, cookie: first.cookie, postgresPid: pg.pid, swiftPid: swift.pid ?? null };
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
  const run = async (label: string, site: Site, scaled: boolean): Promise<void> => {
    try {
      log(`${label}: measuring`);
      points.push({
        label,
        processes: site.nodes.length,
        scaled,
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
    false,
  );
  for (const n of SCALED_PROCESSES) {
    await run(
      `scaled, ${n} process${n > 1 ? 'es' : ''}`,
      await scaledSite(root, pg, swift, n),
      true,
    );
  }
  await cleanup();
  report(points, (performance.now() - benchStart) / 1000);
}

function report(points: readonly Point[], benchSec: number): void {
  const anchor = points.find((p) => !p.scaled);
  const serverCpu = (c: Cpu): number => c.nodes + c.postgres + c.swift;
  const perOp = (seconds: number, ph: Phase): number => (seconds * 1000) / Math.max(1, ph.ok);
  const rows = points.flatMap((p) =>
    OP_KINDS.map((kind) => {
      const ph = p.phases[kind];
      const c = ph.cpu;
      return [
        p.label,
        kind,
        String(round(ph.ok / ph.wallSec, 1)),
        String(ph.errors),
        String(round(perOp(serverCpu(c), ph), 1)),
        `${round(perOp(c.nodes, ph), 1)} / ${round(perOp(c.postgres, ph), 1)} / ${round(perOp(c.swift, ph), 1)}`,
        String(round(perOp(c.client, ph), 1)),
        String(round(serverCpu(c) / ph.wallSec, 2)),
        `${Math.round(c.others * 100)}%`,
        `${round(percentile(ph.latencies, 50), 0)} / ${round(percentile(ph.latencies, 95), 0)}`,
      ];
    }),
  );
  console.log(
    formatTable(
      [
        'site',
        'op',
        'ops/s',
        'errors',
        'server CPU ms/op',
        'node / pg / swift',
        'client ms/op',
        'cores busy',
        'others busy',
        'p50 / p95 ms',
      ],
      rows,
    ),
  );
  const ratios = points
    .filter((p) => p.scaled)
    .flatMap((p) =>
      OP_KINDS.map((kind) => {
        const a = anchor?.phases[kind];
        const s = p.phases[kind];
        const rate = (ph: Phase): number => ph.ok / ph.wallSec;
        const cpuPerOp = (ph: Phase): number => serverCpu(ph.cpu) / Math.max(1, ph.ok);
        return [
          p.label,
          kind,
          a ? `${round(rate(s) / rate(a), 2)}x` : 'n/a',
          a ? `${round(cpuPerOp(a) / cpuPerOp(s), 2)}x` : 'n/a',
        ];
      }),
    );
  console.log('');
  console.log(
    formatTable(
      ['site', 'op', 'throughput vs default', 'per core vs default (target >= 0.7x)'],
      ratios,
    ),
  );
  const scaled = points.filter((p) => p.scaled);
  for (const kind of ['file', 'gallery'] as const) {
    const rates = scaled.map((p) => round(p.phases[kind].ok / p.phases[kind].wallSec, 1));
    const grows = rates.every((r, i) => i === 0 || r > (rates[i - 1] ?? 0));
    console.log(
      `${kind} reads/s through 1, 2, 3 processes: ${rates.join(', ')} (${grows ? 'grows' : 'does not grow'})`,
    );
  }
  for (const p of points) {
    if (p.listed !== p.created) {
      console.log(`${p.label}: LOST uploads: ${p.created} answered 201, ${p.listed} listed`);
    }
    for (const kind of OP_KINDS) {
      const e = p.phases[kind].firstError;
      if (e !== null)
        console.log(`${p.label} ${kind}: ${p.phases[kind].errors} errors, first: ${e}`);
    }
  }
  console.log(
    JSON.stringify({
      bench: 'scale',
      seconds: { upload: UPLOAD_SECONDS, read: READ_SECONDS, total: round(benchSec, 0) },
      clients: { upload: UPLOAD_CLIENTS, read: READ_CLIENTS },
      points: points.map((p) => ({
        site: p.label,
        processes: p.processes,
        created: p.created,
        listed: p.listed,
        ...Object.fromEntries(
          OP_KINDS.map((kind) => {
            const ph = p.phases[kind];
            const c = ph.cpu;
            return [
              kind,
              {
                perSec: round(ph.ok / ph.wallSec, 1),
                ok: ph.ok,
                errors: ph.errors,
                cpuMsPerOp: {
                  node: round(perOp(c.nodes, ph), 2),
                  postgres: round(perOp(c.postgres, ph), 2),
                  swift: round(perOp(c.swift, ph), 2),
                  client: round(perOp(c.client, ph), 2),
                },
                others: round(c.others, 2),
                p50: round(percentile(ph.latencies, 50), 0),
                p95: round(percentile(ph.latencies, 95), 0),
              },
            ];
          }),
        ),
      })),
    }),
  );
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
