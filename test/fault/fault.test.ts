/**
 * The fault tier (issue 11): 4 real node processes, each in its own network namespace, under a
 * seeded random schedule of SIGKILLs and restarts, 2|2 splits and isolated nodes, while a
 * workload uploads, edits and deletes pictures over the API and writes, edits, renames and
 * deletes files in every node's folder. After healing, pictures and folders are checked apart
 * (see checker.ts). No MOSAIC_FAULTS hook: the faults are real.
 *
 *   FAULT_SEED=123,456      replay these seeds (printed by every run)
 *   FAULT_SEEDS=3           how many random seeds otherwise
 *   FAULT_DURATION_MS=45000 how long the faults and the workload run per seed
 *   FAULT_PARTS=pictures|folders|both (default both): the workload and the checks to run
 *   FAULT_CONVERGE_MS=90000 how long to wait for convergence after healing
 *   FAULT_LOG_LEVEL=debug   the nodes' log level (kept with a failed or slow seed; default info)
 *   MOSAIC_TEST_LOG_LINES=N  how many of each node's last log lines are kept (default 200)
 *
 * Needs root and iproute2; on a failure the history is written to test-results/fault-<seed>.json.
 */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newClusterKey } from '../helpers/cluster.js';
import {
  ADMIN_PASSWORD,
  REPO_ROOT,
  api,
  cleanup,
  login,
  makeTempDir,
  startNode,
} from '../helpers/node-process.js';
import { checkFolders, checkPictures, type FolderReport, type PictureReport } from './checker.js';
import { Net, unsupported } from './netns.js';
import { FolderWorkload, History, PictureWorkload, Rng, type FaultNode } from './workload.js';

const N = 4;
const PORT = 7000;
const DURATION_MS = Number(process.env['FAULT_DURATION_MS'] ?? 45_000);
const CONVERGE_MS = Number(process.env['FAULT_CONVERGE_MS'] ?? 90_000);
/**
 * Folders that agree only this long after the heal pass, but their history and nodes are kept
 * as for a failure (`fault-<seed>-folders-slow*`): usually they agree in 1-3 s, and a change
 * found only by the 30 s rescan is a lost hint worth reading.
 */
const SLOW_FOLDERS_MS = 10_000;
const LOG_LEVEL = process.env['FAULT_LOG_LEVEL'];
const PARTS = process.env['FAULT_PARTS'] ?? 'both';
const WITH_PICTURES = PARTS === 'both' || PARTS === 'pictures';
const WITH_FOLDERS = PARTS === 'both' || PARTS === 'folders';
const SEEDS: number[] = process.env['FAULT_SEED']
  ? process.env['FAULT_SEED'].split(',').map(Number)
  : Array.from({ length: Number(process.env['FAULT_SEEDS'] ?? 3) }, () =>
      Math.floor(Math.random() * 1e9),
    );

const why = await unsupported();
if (why !== null) console.warn(`fault tier not run: it ${why}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  seed: number;
  nodes: FaultNode[];
  history: History;
  kills: number;
  splits: number;
  isolations: number;
  /** When the faults and the workload stopped, and when every node was back and linked. */
  stoppedAt: number;
  healedAt: number;
  pictures?: PictureReport;
  folders?: FolderReport;
}

describe.skipIf(why !== null)('fault tier: 4 nodes in network namespaces', () => {
  const net = new Net(N);
  const runs: Run[] = [];

  beforeAll(async () => {
    await net.setUp();
  });
  afterAll(async () => {
    await cleanup();
    await net.tearDown();
    for (const run of runs) {
      const p = run.pictures;
      const f = run.folders;
      console.log(
        `fault seed=${run.seed} kills=${run.kills} splits=${run.splits} isolations=${run.isolations} ` +
          `all-back=${((run.healedAt - run.stoppedAt) / 1000).toFixed(1)}s ` +
          `pictures=${p ? `${(p.convergedMs / 1000).toFixed(1)}s/${p.pictures} pictures/${p.ops} ops/acked ${p.acked.uploads}u ${p.acked.edits}e ${p.acked.deletes}d` : 'not checked or failed'} ` +
          `folders=${f ? `${(f.convergedMs / 1000).toFixed(1)}s/${f.files} files/${f.conflictCopies} copies/${f.versionsChecked} paths written${f.convergedMs > 5000 ? ` (last waited for: ${f.lastWait})` : ''}` : 'not checked or failed'}`,
      );
      // A slow convergence says what the nodes were doing meanwhile.
      for (const line of f?.slowLog ?? []) console.log(`  ${line}`);
    }
    await mkdir(join(REPO_ROOT, 'test-results'), { recursive: true });
    await writeFile(
      join(REPO_ROOT, 'test-results', 'fault-summary.json'),
      JSON.stringify(
        runs.map(({ nodes: _n, history: _h, ...rest }) => rest),
        null,
        2,
      ),
    );
  });

  for (const seed of SEEDS) {
    describe(`seed ${seed}`, () => {
      let run: Run;

      beforeAll(async () => {
        console.log(`fault tier: seed ${seed} (replay with FAULT_SEED=${seed})`);
        run = await schedule(net, seed);
        runs.push(run);
      }, DURATION_MS + 120_000);

      afterAll(async () => {
        await cleanup();
      });

      it.runIf(WITH_PICTURES)(
        'pictures: every node lists the same pictures and bytes, every acknowledged write accounted for',
        async () => {
          try {
            run.pictures = await checkPictures(run.nodes, run.history, CONVERGE_MS, run.healedAt);
          } catch (error) {
            await saveHistory(run, 'pictures', error);
            throw error;
          }
          expect(run.pictures.pictures).toBeGreaterThan(0);
        },
        CONVERGE_MS + 120_000,
      );

      it.runIf(WITH_FOLDERS)(
        'folders: every node holds the same tree, every version written survives, no temp file',
        async () => {
          try {
            run.folders = await checkFolders(run.nodes, run.history, CONVERGE_MS, run.healedAt);
          } catch (error) {
            await saveHistory(run, 'folders', error);
            throw error;
          }
          if (run.folders.convergedMs > SLOW_FOLDERS_MS) {
            const slow = `agreed only after ${run.folders.convergedMs} ms (${run.folders.lastWait})`;
            await saveHistory(run, 'folders-slow', new Error(slow));
          }
          expect(run.folders.files).toBeGreaterThan(0);
        },
        CONVERGE_MS + 60_000,
      );
    });
  }
});

async function startNodes(net: Net, key: string): Promise<FaultNode[]> {
  const urls = Array.from({ length: N }, (_, i) => `http://${net.address(i)}:${PORT}`);
  return Promise.all(
    urls.map(async (url, i) => {
      const name = `n${i + 1}`;
      const folder = await makeTempDir(`mosaic-fault-${name}-folder-`);
      const node = await startNode({
        dataDir: await makeTempDir(`mosaic-fault-${name}-`),
        wrap: net.wrap(i),
        args: [
          ...['--name', name, '--host', net.address(i), '--port', String(PORT)],
          ...['--advertise-url', url, '--cluster-key', key, '--sync-interval-ms', '1000'],
          ...urls.filter((_, j) => j !== i).flatMap((u) => ['--peer', u]),
          ...(WITH_FOLDERS ? ['--folder', `shared=${folder}`] : []),
          ...(LOG_LEVEL === undefined ? [] : ['--log-level', LOG_LEVEL]),
        ],
      });
      const client = api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD));
      const self = await client.get<{ self: { id: string } }>('/api/cluster');
      return { index: i, name, node, folder, id: self.body.self.id, up: true, api: client };
    }),
  );
}

/** Runs the workload and the faults for DURATION_MS, then heals everything. */
async function schedule(net: Net, seed: number): Promise<Run> {
  const nodes = await startNodes(net, newClusterKey());
  const history = new History();
  const run: Run = {
    seed,
    nodes,
    history,
    kills: 0,
    splits: 0,
    isolations: 0,
    stoppedAt: 0,
    healedAt: 0,
  };
  const end = Date.now() + DURATION_MS;
  // One generator per loop: each loop's choices replay the same for a seed.
  const pictures = new PictureWorkload(new Rng(seed * 7 + 1), history, seed % 10_000);
  const folders = new FolderWorkload(new Rng(seed * 7 + 2), history, seed);
  const rngP = new Rng(seed * 7 + 3);
  const rngF = new Rng(seed * 7 + 4);
  const rngX = new Rng(seed * 7 + 5);
  const rngK = new Rng(seed * 7 + 6);
  const restarts: Promise<void>[] = [];

  const restart = async (n: FaultNode) => {
    try {
      await n.node.restart();
      history.add({ kind: 'restart', node: n.name });
      n.up = true;
    } catch (error) {
      history.add({ kind: 'restart-failed', node: n.name });
      console.warn(`restart of ${n.name} failed: ${(error as Error).message.slice(0, 500)}`);
    }
  };

  const pictureLoop = async () => {
    while (WITH_PICTURES && Date.now() < end) {
      const node = rngP.pick(nodes.filter((n) => n.up));
      if (node) await pictures.step(node);
      await sleep(rngP.between(10, 120));
    }
  };
  const folderLoop = async () => {
    while (WITH_FOLDERS && Date.now() < end) {
      const node = rngF.pick(nodes);
      if (node) await folders.step(node);
      await sleep(rngF.between(20, 200));
    }
  };
  // Kills and network faults are independent: a node may be killed while it is cut off.
  const killLoop = async () => {
    for (;;) {
      await sleep(rngK.between(1500, 5000));
      if (Date.now() >= end) return;
      const victim = rngK.pick(nodes.filter((n) => n.up));
      if (!victim) continue;
      victim.up = false;
      await victim.node.kill();
      run.kills++;
      history.add({ kind: 'kill', node: victim.name });
      const downFor = rngK.between(300, 3000);
      restarts.push(sleep(downFor).then(() => restart(victim)));
    }
  };
  const netLoop = async () => {
    for (;;) {
      await sleep(rngX.between(1000, 4000));
      if (Date.now() >= end) return;
      const order = [...nodes].sort(() => rngX.next() - 0.5);
      const split = rngX.chance(0.5);
      const groups = split
        ? [order.slice(0, 2), order.slice(2)]
        : [order.slice(0, 1), order.slice(1)];
      const [a = [], b = []] = groups;
      if (split) run.splits++;
      else run.isolations++;
      await net.split(
        a.map((n) => n.index),
        b.map((n) => n.index),
      );
      history.add({ kind: 'split', groups: groups.map((g) => g.map((n) => n.name)) });
      await sleep(rngX.between(2000, 6000));
      await net.heal();
      history.add({ kind: 'heal' });
    }
  };

  await Promise.all([pictureLoop(), folderLoop(), killLoop(), netLoop()]);
  run.stoppedAt = Date.now();
  await net.heal();
  history.add({ kind: 'heal' });
  await Promise.all(restarts);
  for (const n of nodes) if (!n.up) await restart(n);
  run.healedAt = Date.now();
  return run;
}

async function saveHistory(run: Run, part: string, error: unknown): Promise<void> {
  const dir = join(REPO_ROOT, 'test-results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `fault-${run.seed}-${part}.json`);
  await writeFile(
    file,
    JSON.stringify(
      {
        seed: run.seed,
        part,
        error: (error as Error).message,
        kills: run.kills,
        splits: run.splits,
        isolations: run.isolations,
        nodes: run.nodes.map((n) => ({ name: n.name, id: n.id, dataDir: n.node.dataDir })),
        history: run.history.entries,
      },
      null,
      1,
    ),
  );
  // What each node left (its database, its folder with `.mosaic/`, its last log lines), to
  // read why it did not converge: the temp directories are removed after the run.
  const left = join(dir, `fault-${run.seed}-${part}-nodes`);
  for (const n of run.nodes) {
    const to = join(left, n.name);
    await mkdir(to, { recursive: true });
    await cp(n.node.dataDir, join(to, 'data'), { recursive: true }).catch(() => undefined);
    await cp(n.folder, join(to, 'folder'), { recursive: true }).catch(() => undefined);
    await writeFile(
      join(to, 'log.jsonl'),
      n.node.logs.map((l) => JSON.stringify(l)).join('\n'),
    ).catch(() => undefined);
  }
  console.error(
    `fault tier: seed ${run.seed} ${part}: ${(error as Error).message}; history in ${file}, nodes in ${left}`,
  );
}
