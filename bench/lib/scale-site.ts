/**
 * The scale bench's sites and phases (bench/scale.bench.ts): a site is one or more `mosaic node`
 * processes (with the PostgreSQL and Swift they use); a phase runs client loops against it for
 * some seconds and notes each operation's latency and the CPU every part used, from /proc.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PostgresServer } from '../../test/helpers/postgres.js';
import type { SwiftServer } from '../../test/helpers/swift.js';
import { machineCpuSeconds, treeCpuSeconds } from './cpu.js';
import { freePort, startBenchNode, type BenchNode } from './nodes.js';
import type { Cpu, Phase } from './scale-report.js';
import { runPool } from './stats.js';

export interface Site {
  readonly nodes: BenchNode[];
  readonly cookie: string;
  readonly postgresPid: number | null;
  readonly swiftPid: number | null;
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
export async function phase(
  site: Site,
  clients: number,
  seconds: number,
  op: (client: number) => Promise<string | null>,
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
      while (performance.now() < until) {
        const start = performance.now();
        const result = await op(i).catch((error: unknown) => String(error));
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

export const at = (site: Site, client: number): BenchNode =>
  site.nodes[client % site.nodes.length] as BenchNode;

/** Cores the site's processes keep busy while nothing is asked of them. */
export async function idleCores(site: Site, seconds: number): Promise<number> {
  const before = await cpuNow(site);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const cpu = cpuBetween(site, before, await cpuNow(site));
  return (cpu.nodes + cpu.postgres + cpu.swift) / seconds;
}

/**
 * A site of `processes` nodes on a new PostgreSQL database and a new bucket; each node's kill is
 * pushed on `cleanups`.
 */
export async function scaledSite(
  root: string,
  pg: PostgresServer,
  swift: SwiftServer,
  processes: number,
  cleanups: (() => Promise<void>)[],
): Promise<Site> {
  const database = await pg.createDatabase();
  const env = {
    MOSAIC_DATABASE: database,
    MOSAIC_BLOBS: `s3://bench-scale-${processes}?endpoint=${swift.endpoint}&region=${swift.region}`,
    AWS_ACCESS_KEY_ID: swift.accessKeyId,
    AWS_SECRET_ACCESS_KEY: swift.secretAccessKey,
  };
  const key = randomBytes(24).toString('hex');
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
