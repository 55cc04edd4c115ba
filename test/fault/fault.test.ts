/**
 * The fault tier (issue 11): 4 real node processes, each in its own network namespace, under a
 * seeded random schedule of SIGKILLs and restarts, 2|2 splits and isolated nodes, and wall
 * clocks moved within ±40 s (libfaketime, clocks.ts), while a
 * workload uploads, edits and deletes pictures over the API and writes, edits, renames and
 * deletes files in every node's folder and in a device's (`mosaic sync` in a fifth namespace,
 * killed, cut off and moved from node to node; device-lane.ts), and resumes tus uploads
 * (tus-workload.ts). After healing, pictures, folders and events are checked apart (see
 * checks.ts). No MOSAIC_FAULTS hook: the faults are real.
 *
 *   FAULT_SEED=123,456      replay these seeds (printed by every run)
 *   FAULT_SEEDS=3           how many random seeds otherwise
 *   FAULT_DURATION_MS=45000 how long the faults and the workload run per seed
 *   FAULT_PARTS=pictures,folders,events,devices,tus (the default: all; `both` is
 *                           pictures,folders; devices needs folders, tus needs pictures)
 *   FAULT_CONVERGE_MS=90000 how long to wait for convergence after healing
 *   FAULT_LOG_LEVEL=debug   the nodes' log level (kept with a failed or slow seed; default info)
 *   FAULT_CLOCKS=off        no clock faults (by default each node's wall clock is moved now and
 *                           then within ±40 s, through libfaketime: clocks.ts)
 *   MOSAIC_TEST_LOG_LINES=N  how many of each node's last log lines are kept (default 200)
 *
 * Needs root and iproute2; on a failure the history is written to test-results/fault-<seed>.json.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { newClusterKey } from '../helpers/cluster.js';
import {
  ADMIN_PASSWORD,
  api,
  cleanup,
  login,
  makeTempDir,
  startNode,
  waitFor,
} from '../helpers/node-process.js';
import { createToken } from '../helpers/device-process.js';
import { itChecks } from './checks.js';
import { clockFaultsOn, clocksUnsupported, NodeClock } from './clocks.js';
import type { DeviceSpec } from './device-lane.js';
import { Net, unsupported } from './netns.js';
import { saveSummary, schedule, summary, type Layout, type Run } from './schedule.js';
import type { FaultNode } from './workload.js';

const N = 4;
const PORT = 7000;
const DURATION_MS = Number(process.env['FAULT_DURATION_MS'] ?? 45_000);
const CONVERGE_MS = Number(process.env['FAULT_CONVERGE_MS'] ?? 90_000);
const LOG_LEVEL = process.env['FAULT_LOG_LEVEL'];
const PARTS = (process.env['FAULT_PARTS'] ?? 'pictures,folders,events,devices,tus')
  .replace('both', 'pictures,folders')
  .split(',');
const WITH_PICTURES = PARTS.includes('pictures');
const WITH_FOLDERS = PARTS.includes('folders');
const WITH_EVENTS = PARTS.includes('events');
/** Resumable uploads ride with the pictures (they are checked as pictures). */
const WITH_TUS = WITH_PICTURES && PARTS.includes('tus');
/** Devices (`mosaic sync`) on the folder, each in a namespace after the nodes'. */
const DEVICES = WITH_FOLDERS && PARTS.includes('devices') ? 1 : 0;
const SEEDS: number[] = process.env['FAULT_SEED']
  ? process.env['FAULT_SEED'].split(',').map(Number)
  : Array.from({ length: Number(process.env['FAULT_SEEDS'] ?? 3) }, () =>
      Math.floor(Math.random() * 1e9),
    );

const why = await unsupported();
if (why !== null) console.warn(`fault tier not run: it ${why}`);
/** Clock faults (clocks.ts) unless FAULT_CLOCKS=off; they need Debian's faketime. */
const CLOCKS = clockFaultsOn();
const noClocks = CLOCKS ? clocksUnsupported() : null;
if (noClocks !== null) throw new Error(`fault tier clock faults ${noClocks} (or FAULT_CLOCKS=off)`);

/** Four one-process sites, moved about one by one. */
const LAYOUT: Layout = {
  sites: Array.from({ length: N }, (_, i) => [i]),
  pictures: WITH_PICTURES,
  folders: WITH_FOLDERS,
  eventLanes: WITH_EVENTS ? 2 : 0,
  tus: WITH_TUS,
  durationMs: DURATION_MS,
};

describe.skipIf(why !== null)('fault tier: 4 nodes in network namespaces', () => {
  const net = new Net(N + DEVICES);
  const runs: Run[] = [];

  beforeAll(async () => {
    await net.setUp();
  });
  afterAll(async () => {
    await cleanup();
    await net.tearDown();
    for (const run of runs) {
      console.log(summary(run));
      // A slow convergence says what the nodes were doing meanwhile.
      for (const line of run.folders?.slowLog ?? []) console.log(`  ${line}`);
    }
    await saveSummary(runs, 'fault-summary.json');
  });

  for (const seed of SEEDS) {
    describe(`seed ${seed}`, () => {
      let run: Run | undefined;

      beforeAll(async () => {
        console.log(`fault tier: seed ${seed} (replay with FAULT_SEED=${seed})`);
        const nodes = await startNodes(net, newClusterKey());
        run = await schedule(net, nodes, seed, LAYOUT, await deviceSpecs(nodes));
        runs.push(run);
      }, DURATION_MS + 120_000);

      afterAll(async () => {
        for (const device of run?.devices ?? []) await device.close();
        await cleanup();
      });

      itChecks(() => run as Run, {
        pictures: WITH_PICTURES,
        folders: WITH_FOLDERS,
        events: WITH_EVENTS,
        nodes: 'node',
        prefix: '',
        convergeMs: CONVERGE_MS,
      });
    });
  }
});

async function startNodes(net: Net, key: string): Promise<FaultNode[]> {
  const urls = Array.from({ length: N }, (_, i) => `http://${net.address(i)}:${PORT}`);
  return Promise.all(
    urls.map(async (url, i) => {
      const name = `n${i + 1}`;
      const folder = await makeTempDir(`mosaic-fault-${name}-folder-`);
      const dataDir = await makeTempDir(`mosaic-fault-${name}-`);
      const clock = CLOCKS ? new NodeClock(dataDir) : undefined;
      const node = await startNode({
        dataDir,
        wrap: net.wrap(i),
        ...(clock ? { env: await clock.env() } : {}),
        // A whole run's lines: a failed check names those about the paths it found wrong.
        keptLines: 20_000,
        args: [
          ...['--name', name, '--host', net.address(i), '--port', String(PORT)],
          ...['--advertise-url', url, '--cluster-key', key, '--sync-interval-ms', '1000'],
          ...urls.filter((_, j) => j !== i).flatMap((u) => ['--peer', u]),
          ...(WITH_FOLDERS ? ['--folder', `shared=${folder}`] : []),
          ...(LOG_LEVEL === undefined ? [] : ['--log-level', LOG_LEVEL]),
        ],
      });
      // The first node's clock is checked to move at all (clocks.ts).
      if (clock && i === 0) await clock.verify(node.url);
      const client = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
      const self = await client.get<{ self: { id: string } }>('/api/cluster');
      return {
        index: i,
        name,
        node,
        folder,
        id: self.body.self.id,
        up: true,
        api: client,
        ...(clock ? { clock } : {}),
      };
    }),
  );
}

/** The devices' directories (empty) and an admin token that every node already accepts. */
async function deviceSpecs(nodes: readonly FaultNode[]): Promise<DeviceSpec[]> {
  if (DEVICES === 0) return [];
  const [first] = nodes;
  if (!first) return [];
  const token = await createToken(first.node.url, 'admin', ADMIN_PASSWORD);
  // The token is a replicated operation: wait until every node knows it.
  await waitFor(
    async () => {
      for (const n of nodes) {
        const res = await fetch(`${n.node.url}/api/auth/me`, {
          headers: { authorization: `Bearer ${token}` },
        });
        await res.body?.cancel();
        if (res.status !== 200) return false;
      }
      return true;
    },
    { timeoutMs: 30_000, what: 'the device token at every node' },
  );
  return Promise.all(
    Array.from({ length: DEVICES }, async (_, k) => ({
      name: `dev${k + 1}`,
      folder: await makeTempDir(`mosaic-fault-dev${k + 1}-`),
      index: N + k,
      token,
    })),
  );
}
