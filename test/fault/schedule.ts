/**
 * The fault tier's seeded schedule, shared by its two layouts (fault.test.ts: four one-process
 * sites; scaled-fault.test.ts: sites of several processes on PostgreSQL and S3 beside a
 * one-process site): a workload over the API (and in the folders), SIGKILLs and restarts of
 * random processes, and network faults, for a while; then everything is healed and restarted.
 * A run's summary line and what is saved of it: run-report.ts.
 */
import type { PictureReport } from './checker.js';
import type { FolderReport } from './folder-checker.js';
import { clockLoop } from './clocks.js';
import { deviceLane, FaultDevice, type DeviceSpec } from './device-lane.js';
import { AccountWorkload, type AccountReport } from './accounts-workload.js';
import { EventWorkload, type EventReport } from './events-workload.js';
import { TusWorkload } from './tus-workload.js';
import type { Net } from './netns.js';
import { FolderWorkload, History, PictureWorkload, Rng, type FaultNode } from './workload.js';

export { saveHistory, saveSummary, summary } from './run-report.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Run {
  seed: number;
  nodes: FaultNode[];
  history: History;
  kills: number;
  splits: number;
  isolations: number;
  /** Times a process of a scaled site was cut from its database and object store. */
  storageCuts: number;
  /** Times its database or object store was SIGKILLed (and started again). */
  storageKills: number;
  /** When the faults and the workload stopped, and when every node was back and linked. */
  stoppedAt: number;
  healedAt: number;
  /** The events played (checked after the heal by `events.check`). */
  eventWorkload: EventWorkload;
  /** The accounts changed with the pictures (checked after the heal by its `check`). */
  accountWorkload: AccountWorkload;
  /** Devices (`mosaic sync`) on the nodes' folder, checked with the folders. */
  devices: readonly FaultDevice[];
  pictures?: PictureReport;
  folders?: FolderReport;
  events?: EventReport;
  accounts?: AccountReport;
}

export interface Layout {
  /**
   * The nodes' indices grouped by site: a split or an isolation moves a site's processes
   * together (they stand for one place), unless a round cuts processes apart on purpose.
   */
  readonly sites: readonly (readonly number[])[];
  /**
   * A scaled site's database and object store: the namespace they run in, and the processes
   * that use them. Some rounds cut one of those processes off them (both ways), as a switch
   * between an application server and its database does when it fails.
   */
  readonly storage?: {
    readonly index: number;
    readonly processes: readonly number[];
    /**
     * The servers themselves (PostgreSQL, the object store), SIGKILLed now and then and
     * started again on the same data, as a crash and its supervisor do.
     */
    readonly servers?: readonly CrashableServer[];
  };
  readonly pictures: boolean;
  readonly folders: boolean;
  /** Lanes of group photo events played meanwhile (0: none). */
  readonly eventLanes: number;
  /** Resumable (tus) uploads through a site's processes, one after another (tus-workload.ts). */
  readonly tus: boolean;
  readonly durationMs: number;
}

export interface CrashableServer {
  readonly name: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
}

/** Runs the workload and the faults for `layout.durationMs`, then heals everything. */
export async function schedule(
  net: Net,
  nodes: FaultNode[],
  seed: number,
  layout: Layout,
  deviceSpecs: readonly DeviceSpec[] = [],
): Promise<Run> {
  const history = new History();
  const devices = deviceSpecs.map((spec) => new FaultDevice(spec, net, history));
  const eventWorkload = new EventWorkload(new Rng(seed * 7 + 7), history);
  const accountWorkload = new AccountWorkload(new Rng(seed * 7 + 50), history, seed);
  const run: Run = {
    seed,
    nodes,
    history,
    kills: 0,
    splits: 0,
    isolations: 0,
    storageCuts: 0,
    storageKills: 0,
    stoppedAt: 0,
    healedAt: 0,
    eventWorkload,
    accountWorkload,
    devices,
  };
  const end = Date.now() + layout.durationMs;
  // One generator per loop: each loop's choices replay the same for a seed.
  const pictures = new PictureWorkload(new Rng(seed * 7 + 1), history, seed % 10_000);
  const folders = new FolderWorkload(new Rng(seed * 7 + 2), history, seed);
  const rngP = new Rng(seed * 7 + 3);
  const rngF = new Rng(seed * 7 + 4);
  const rngX = new Rng(seed * 7 + 5);
  const rngK = new Rng(seed * 7 + 6);
  const restarts: Promise<void>[] = [];
  const byIndex = (i: number) => nodes.find((n) => n.index === i);

  // As a supervisor does: a process that exits at start (its database or store out of reach
  // exits with status 1, by design) is started again a second later, until the heal is long
  // past.
  const restart = async (n: FaultNode) => {
    for (;;) {
      try {
        await n.node.restart();
        history.add({ kind: 'restart', node: n.name });
        n.up = true;
        return;
      } catch (error) {
        history.add({ kind: 'restart-failed', node: n.name });
        const message = (error as Error).message.slice(0, 300);
        if (Date.now() > end + 30_000) {
          console.warn(`restart of ${n.name} failed: ${message}`);
          return;
        }
        await sleep(1000);
      }
    }
  };

  const pictureLoop = async () => {
    while (layout.pictures && Date.now() < end) {
      const node = rngP.pick(nodes.filter((n) => n.up));
      if (node) await pictures.step(node);
      await sleep(rngP.between(10, 120));
    }
  };
  // An admin's account changes, with the library's workload: few (each add and reset is a
  // password hash at the node).
  const rngA = new Rng(seed * 7 + 51);
  const accountLoop = async () => {
    while (layout.pictures && Date.now() < end) {
      await sleep(rngA.between(400, 1500));
      const node = rngA.pick(nodes.filter((n) => n.up));
      if (node) await accountWorkload.step(node);
    }
  };
  const folderLoop = async () => {
    while (layout.folders && Date.now() < end) {
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
      // What is moved about: whole sites, or (some rounds of a layout with a scaled site) its
      // processes one by one, so that one reaches a peer the other cannot.
      let units = layout.sites;
      const storage = layout.storage;
      if (storage !== undefined) {
        const roll = rngX.next();
        if (roll < 0.3) {
          const victim = rngX.pick(storage.processes) ?? storage.processes[0] ?? 0;
          await net.cut(victim, storage.index);
          run.storageCuts++;
          history.add({ kind: 'cut-storage', node: byIndex(victim)?.name ?? String(victim) });
          await sleep(rngX.between(2000, 6000));
          await net.heal();
          history.add({ kind: 'heal' });
          continue;
        }
        if (roll < 0.5) units = nodes.map((n) => [n.index]);
      }
      const order = [...units].sort(() => rngX.next() - 0.5);
      const split = rngX.chance(0.5);
      const cut = split ? Math.floor(order.length / 2) : 1;
      const groups = [order.slice(0, cut).flat(), order.slice(cut).flat()];
      if (split) run.splits++;
      else run.isolations++;
      const [a = [], b = []] = groups;
      await net.split(a, b);
      history.add({
        kind: 'split',
        groups: groups.map((g) => g.map((i) => byIndex(i)?.name ?? String(i))),
      });
      await sleep(rngX.between(2000, 6000));
      await net.heal();
      history.add({ kind: 'heal' });
    }
  };

  // The storage servers' crashes draw from a generator of their own (the other loops' draws
  // stay those of older runs of a seed).
  const rngS = new Rng(seed * 7 + 20);
  const storageLoop = async () => {
    const servers = layout.storage?.servers ?? [];
    while (servers.length > 0) {
      await sleep(rngS.between(5000, 12_000));
      const server = rngS.pick(servers);
      if (Date.now() >= end || !server) return;
      await server.kill();
      run.storageKills++;
      history.add({ kind: 'kill', node: server.name });
      await sleep(rngS.between(500, 3000));
      await restartServer(server);
    }
  };
  const restartServer = async (server: CrashableServer) => {
    try {
      await server.restart();
      history.add({ kind: 'restart', node: server.name });
    } catch (error) {
      history.add({ kind: 'restart-failed', node: server.name });
      throw new Error(`${server.name} did not start again: ${(error as Error).message}`);
    }
  };

  const tus = new TusWorkload(new Rng(seed * 7 + 30), history, seed);
  const rngT = new Rng(seed * 7 + 31);
  const tusLoop = async () => {
    while (layout.tus && Date.now() < end) {
      const site = rngT.pick(layout.sites) ?? [];
      await tus.step(nodes.filter((n) => site.includes(n.index)));
      await sleep(rngT.between(100, 600));
    }
  };

  const eventLanes = Array.from({ length: layout.eventLanes }, (_, lane) =>
    eventWorkload.lane(lane, nodes, end),
  );
  const deviceLanes = devices.map((device, k) => {
    const writes = new Rng(seed * 7 + 9 + 2 * k);
    const faults = new Rng(seed * 7 + 8 + 2 * k);
    const workload = new FolderWorkload(writes, history, seed, `${device.name}-`);
    return deviceLane(device, nodes, { faults, writes }, workload, end);
  });
  // Clock faults draw from a generator of their own too (clocks.ts): only the nodes started
  // with a movable clock.
  const clocks = nodes.flatMap((n) => (n.clock ? [{ name: n.name, clock: n.clock }] : []));
  await Promise.all([
    pictureLoop(),
    accountLoop(),
    folderLoop(),
    killLoop(),
    netLoop(),
    storageLoop(),
    tusLoop(),
    clockLoop(clocks, new Rng(seed * 7 + 40), history, end),
    ...eventLanes,
    ...deviceLanes,
  ]);
  run.stoppedAt = Date.now();
  await net.heal();
  history.add({ kind: 'heal' });
  await Promise.all(restarts);
  for (const n of nodes) if (!n.up) await restart(n);
  run.healedAt = Date.now();
  return run;
}
