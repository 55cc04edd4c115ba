/**
 * The fault tier with scaled sites (issue 13 under issue 11's faults): site A (and with
 * FAULT_SCALED_SITES=2 site B) is two (FAULT_SCALED_PROCESSES) `mosaic node` processes on a
 * PostgreSQL database and an S3 bucket of its own (one PostgreSQL and one OpenStack Swift with
 * s3api serve both); the other sites are one process on SQLite each. Every process is in its own network namespace;
 * PostgreSQL and Swift are in one more. Under a seeded random schedule of SIGKILLs (the process
 * leading a site among them), splits and isolations of whole sites, cuts between single
 * processes (one of A's reaches a peer the other cannot), cuts of one scaled process from
 * its database and store, and crashes (SIGKILL) of that PostgreSQL or Swift, a workload
 * uploads, edits and deletes pictures through every process and resumes tus uploads through any
 * process of a site (tus-workload.ts). After healing, the pictures are checked as in
 * fault.test.ts: every process and site lists the same pictures and serves their bytes, the
 * state is the rules' for the agreed operations, and no acknowledged write is lost.
 *
 *   FAULT_SCALED_SEED=123,456   replay these seeds (printed by every run)
 *   FAULT_SCALED_SEEDS=1        how many random seeds otherwise
 *   FAULT_PARTS=events,tus      (the default; pictures always)
 *   FAULT_SCALED_PROCESSES=2    how many processes a scaled site has (a1, a2, …)
 *   FAULT_SCALED_SITES=1        how many sites are scaled: 1 (A) or 2 (A and B, each with its
 *                               own database and bucket on the same servers)
 *   FAULT_DURATION_MS, FAULT_CONVERGE_MS, FAULT_LOG_LEVEL, FAULT_CLOCKS: as in fault.test.ts
 *                               (each process's wall clock is moved within ±40 s: clocks.ts)
 *
 * Needs root, iproute2, PostgreSQL and Swift (.ci/run installs them).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newClusterKey } from '../helpers/cluster.js';
import {
  ADMIN_PASSWORD,
  api,
  cleanup,
  login,
  makeTempDir,
  startNode,
} from '../helpers/node-process.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startSwift, type SwiftServer } from '../helpers/swift.js';
import { itChecks } from './checks.js';
import { Net, PREFIX, unsupported } from './netns.js';
import {
  saveSummary,
  schedule,
  summary,
  type CrashableServer,
  type Layout,
  type Run,
} from './schedule.js';
import type { FaultNode } from './workload.js';
import { clockFaultsOn, clocksUnsupported, NodeClock } from './clocks.js';

const PORT = 7000;
/** How many processes a scaled site has, and how many of the three sites are scaled. */
const PROCESSES = Number(process.env['FAULT_SCALED_PROCESSES'] ?? 2);
const SCALED_SITES = Number(process.env['FAULT_SCALED_SITES'] ?? 1);
/** Sites A, B, C: each process's index, by site (a scaled site's first: it makes the site). */
const SITES: number[][] = [];
for (let s = 0, next = 0; s < 3; s++) {
  const count = s < SCALED_SITES ? PROCESSES : 1;
  SITES.push(Array.from({ length: count }, () => next++));
}
/** a1, a2…, then b (or b1, b2…), c; then the namespace of the PostgreSQL and Swift. */
const NAMES = SITES.flatMap((site, s) =>
  site.map((_, k) => `${'abc'[s]}${s < SCALED_SITES ? String(k + 1) : ''}`),
);
const SCALED = SITES.slice(0, SCALED_SITES).flat();
const STORAGE = NAMES.length;
const siteOf = (i: number) => SITES.findIndex((site) => site.includes(i));
const DURATION_MS = Number(process.env['FAULT_DURATION_MS'] ?? 45_000);
const CONVERGE_MS = Number(process.env['FAULT_CONVERGE_MS'] ?? 90_000);
const LOG_LEVEL = process.env['FAULT_LOG_LEVEL'];
const PARTS = process.env['FAULT_PARTS'] ?? 'events,tus';
const WITH_EVENTS = PARTS.includes('events');
/** Resumable uploads spread over site A's processes as over the others' (tus-workload.ts). */
const WITH_TUS = PARTS.includes('tus');
const SEEDS: number[] = process.env['FAULT_SCALED_SEED']
  ? process.env['FAULT_SCALED_SEED'].split(',').map(Number)
  : Array.from({ length: Number(process.env['FAULT_SCALED_SEEDS'] ?? 1) }, () =>
      Math.floor(Math.random() * 1e9),
    );

const why = await unsupported();
if (why !== null) console.warn(`fault tier (scaled site) not run: it ${why}`);
/** Clock faults (clocks.ts) unless FAULT_CLOCKS=off; they need Debian's faketime. */
const CLOCKS = clockFaultsOn();
const noClocks = CLOCKS ? clocksUnsupported() : null;
if (noClocks !== null) throw new Error(`fault tier clock faults ${noClocks} (or FAULT_CLOCKS=off)`);

/** The scaled sites' PostgreSQL and Swift, once started. */
const servers: CrashableServer[] = [];

const LAYOUT: Layout = {
  sites: SITES,
  storage: { index: STORAGE, processes: SCALED, servers },
  pictures: true,
  folders: false,
  eventLanes: WITH_EVENTS ? 2 : 0,
  tus: WITH_TUS,
  durationMs: DURATION_MS,
};

describe.skipIf(why !== null)(
  `fault tier: ${SCALED_SITES} sites of ${PROCESSES} processes on PostgreSQL and S3`,
  () => {
    const net = new Net(NAMES.length + 1, {
      prefix: `${PREFIX}s`,
      subnet: process.env['FAULT_SCALED_SUBNET'] ?? '10.231.78',
    });
    const runs: Run[] = [];
    let pg: PostgresServer | undefined;
    let swift: SwiftServer | undefined;

    beforeAll(async () => {
      await net.setUp();
      const where = { host: net.address(STORAGE), wrap: net.wrap(STORAGE) };
      // Durable commits: the schedule SIGKILLs the server, and what it acknowledged must stay.
      [pg, swift] = await Promise.all([
        startPostgres({ ...where, durable: true }),
        startSwift(where),
      ]);
      servers.push({ name: 'postgres', ...bound(pg) }, { name: 'swift', ...bound(swift) });
    }, 120_000);
    afterAll(async () => {
      await cleanup();
      await Promise.all([pg?.stop(), swift?.stop()]);
      await net.tearDown();
      for (const run of runs) console.log(summary(run));
      await saveSummary(runs, 'fault-scaled-summary.json');
    });

    for (const [n, seed] of SEEDS.entries()) {
      describe(`seed ${seed}`, () => {
        let run: Run;

        beforeAll(async () => {
          console.log(
            `fault tier, scaled site: seed ${seed} (replay with FAULT_SCALED_SEED=${seed})`,
          );
          if (!pg || !swift) throw new Error('PostgreSQL or Swift did not start');
          const nodes = await startNodes(net, newClusterKey(), pg, swift, `seed${n}`);
          run = await schedule(net, nodes, seed, LAYOUT);
          runs.push(run);
        }, DURATION_MS + 120_000);

        afterAll(async () => {
          await cleanup();
        });

        itChecks(() => run, {
          pictures: true,
          folders: false,
          events: WITH_EVENTS,
          nodes: 'process and site',
          prefix: 'scaled-',
          convergeMs: CONVERGE_MS,
        });

        it('site A is one site whose lead moved between its processes', async () => {
          // One identity, whichever process answers.
          for (const site of SITES) {
            const first = run.nodes[site[0] ?? 0];
            for (const i of site) expect(run.nodes[i]?.id).toBe(first?.id);
          }
          const a1 = run.nodes[0];
          // How often the lead changed hands: its lease's fencing token grows each time.
          const leads = await leadTakes(a1?.database ?? '');
          const answers = new Map<string, number>();
          for (const e of run.history.entries) {
            if (!('status' in e)) continue;
            const key = `${e.node} ${e.status}`;
            answers.set(key, (answers.get(key) ?? 0) + 1);
          }
          console.log(
            `fault seed=${seed}: site A's lead was taken ${leads} times; answers ${JSON.stringify([...answers].sort())}`,
          );
          expect(leads).toBeGreaterThanOrEqual(1);
        });
      });
    }
  },
);

function bound(server: {
  kill(): Promise<void>;
  restart(): Promise<void>;
}): Omit<CrashableServer, 'name'> {
  return { kill: () => server.kill(), restart: () => server.restart() };
}

/** The `site-lead` lease's fencing token: how many times a process took the lead. */
async function leadTakes(database: string): Promise<number> {
  const client = new pg.Client({ connectionString: database });
  await client.connect();
  try {
    const { rows } = await client.query<{ token: string }>(
      "SELECT token FROM lease WHERE name = 'site-lead'",
    );
    return Number(rows[0]?.token ?? 0);
  } finally {
    await client.end();
  }
}

/** Each scaled site's processes on a fresh database and bucket, the others on SQLite; all peered. */
async function startNodes(
  net: Net,
  key: string,
  pg: PostgresServer,
  swift: SwiftServer,
  bucket: string,
): Promise<FaultNode[]> {
  const urls = NAMES.map((_, i) => `http://${net.address(i)}:${PORT}`);
  const databases = await Promise.all(SITES.slice(0, SCALED_SITES).map(() => pg.createDatabase()));
  const siteEnv = (s: number) => ({
    MOSAIC_DATABASE: databases[s] ?? '',
    MOSAIC_BLOBS: `s3://${bucket}${'abc'[s] ?? ''}?endpoint=${swift.endpoint}&region=${swift.region}`,
    AWS_ACCESS_KEY_ID: swift.accessKeyId,
    AWS_SECRET_ACCESS_KEY: swift.secretAccessKey,
  });
  const start = async (i: number): Promise<FaultNode> => {
    const name = NAMES[i] ?? `n${i}`;
    const s = siteOf(i);
    const scaled = s < SCALED_SITES;
    // Each process names every process of the other sites (as a DNS name with one address per
    // process would): of two routes to one site, one is kept.
    const peers = urls.filter((_, j) => siteOf(j) !== s);
    const dataDir = await makeTempDir(`mosaic-fault-${name}-`);
    // Each process on a clock of its own (clocks.ts): a scaled site's processes may run on
    // machines whose clocks disagree, and its leases must not care.
    const clock = CLOCKS ? new NodeClock(dataDir) : undefined;
    const node = await startNode({
      dataDir,
      wrap: net.wrap(i),
      keptLines: 20_000, // a failed check names the lines about what it found wrong
      env: { ...(scaled ? siteEnv(s) : {}), ...(clock ? await clock.env() : {}) },
      args: [
        ...['--name', 'abc'[s] ?? name, '--host', net.address(i), '--port', String(PORT)],
        ...['--advertise-url', urls[i] ?? '', '--cluster-key', key, '--sync-interval-ms', '1000'],
        ...peers.flatMap((u) => ['--peer', u]),
        ...(LOG_LEVEL === undefined ? [] : ['--log-level', LOG_LEVEL]),
      ],
    });
    if (clock && i === 0) await clock.verify(node.url);
    const client = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
    const self = await client.get<{ self: { id: string } }>('/api/cluster');
    return {
      index: i,
      name,
      node,
      folder: '',
      id: self.body.self.id,
      up: true,
      api: client,
      ...(scaled ? { database: databases[s] ?? '' } : {}),
      ...(clock ? { clock } : {}),
    };
  };
  // A scaled site's first process makes it (its identity, the admin account) before the others
  // join.
  const firsts = SITES.map((site) => site[0] ?? 0);
  const started = await Promise.all(firsts.map((i) => start(i)));
  const rest = await Promise.all(NAMES.flatMap((_, i) => (firsts.includes(i) ? [] : [start(i)])));
  return [...started, ...rest].sort((x, y) => x.index - y.index);
}
