/**
 * A laptop in the fault tier: `mosaic sync` in a network namespace of its own, syncing the
 * nodes' folder through one node at a time while the workload writes, edits, renames and
 * deletes files in its directory (as in a node's folder, with names of its own).
 *
 * Its faults, drawn from their own seeded generators (the other loops' draws do not move):
 * SIGKILL, then a start against a node picked at random (a device's cursor is the cluster's,
 * and the node may be down or cut off then: a device that synced before starts anyway, one that
 * never did exits 1 and is started again 2 s later); its link to its node cut for a while; a
 * clean stop and a move to another node. The nodes' own kills and splits go on meanwhile. After
 * the heal, the folder checks hold its directory against the nodes' folders and the history,
 * and it must never have exited by itself (but for that first start).
 */
import { startSync, type SyncProcess } from '../helpers/device-process.js';
import type { Net } from './netns.js';
import { FolderWorkload, type FaultNode, type History, type Rng } from './workload.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A device to play: its name, directory, namespace (an index of the Net) and API token. */
export interface DeviceSpec {
  readonly name: string;
  readonly folder: string;
  readonly index: number;
  readonly token: string;
}

export class FaultDevice {
  private process: SyncProcess | null = null;
  private server: FaultNode | null = null;
  private readonly runs: SyncProcess[] = [];
  private closed = false;
  /** Exits nobody asked for (code), which fail the folder checks. */
  readonly unexpectedExits: string[] = [];

  readonly name: string;
  /** The device's directory. */
  readonly folder: string;

  constructor(
    private readonly spec: DeviceSpec,
    private readonly net: Net,
    private readonly history: History,
  ) {
    this.name = spec.name;
    this.folder = spec.folder;
  }

  get up(): boolean {
    return this.process !== null;
  }

  /** Starts `mosaic sync` against `server`. */
  start(server: FaultNode): void {
    const args = ['--token', this.spec.token, '--interval', '2', '--device', this.name];
    const child = startSync(this.folder, server.node.url, args, {}, this.net.wrap(this.spec.index));
    this.process = child;
    this.runs.push(child);
    this.server = server;
    this.history.add({ kind: 'device-start', node: this.name, server: server.name });
    void child.exited.then((code) => {
      if (this.process !== child) return; // stopped or killed on purpose
      this.process = null;
      const said = JSON.stringify(child.logs.at(-1)?.msg ?? child.stderr().slice(-300));
      this.history.add({ kind: 'device-exit', node: this.name, code });
      // A directory that never synced cannot start while its node is out of reach: it says so
      // and exits 1, making nothing (test/device/device-offline-start.test.ts). It is started
      // again 2 s later, as its user would. Any other exit is a failure.
      if (code === 1 && !this.everStarted() && said.includes('cannot be reached')) {
        setTimeout(() => {
          if (this.process === null && !this.closed) this.start(server);
        }, 2000);
        return;
      }
      this.unexpectedExits.push(`exit ${code} (${said})`);
    });
  }

  /** SIGKILL (`hard`) or SIGTERM, waiting for the exit. */
  async stop(hard: boolean): Promise<void> {
    const child = this.process;
    if (child === null) return;
    this.process = null;
    if (hard) await child.kill();
    else await child.stop();
    if (hard) this.history.add({ kind: 'kill', node: this.name });
    else this.history.add({ kind: 'note', text: `${this.name} stopped (SIGTERM)` });
  }

  /** Cuts the device from its node for `ms`, then restores that link. */
  async cutFor(ms: number): Promise<void> {
    const server = this.server;
    if (server === null) return;
    await this.net.cut(this.spec.index, server.index);
    this.history.add({ kind: 'split', groups: [[this.name], [server.name]] });
    await sleep(ms);
    await this.net.uncut(this.spec.index, server.index);
    this.history.add({ kind: 'heal' });
  }

  /** Whether a run got as far as syncing (its directory then holds the device's replica). */
  private everStarted(): boolean {
    return this.runs.some((run) => run.logs.some((l) => l.msg === 'device sync started'));
  }

  /** Every log line of each `mosaic sync` it ran, in order (for a failure's report). */
  logs(): string[] {
    return this.runs.flatMap((run) => run.logs.map((l) => JSON.stringify(l)));
  }

  async close(): Promise<void> {
    this.closed = true;
    const child = this.process;
    this.process = null;
    await child?.kill();
  }
}

/**
 * Starts the device against a node picked at random, plays its writes and faults until `end`,
 * then leaves it running, with its link whole.
 */
export async function deviceLane(
  device: FaultDevice,
  nodes: readonly FaultNode[],
  rngs: { faults: Rng; writes: Rng },
  writes: FolderWorkload,
  end: number,
): Promise<void> {
  const { faults, writes: rngW } = rngs;
  const pickServer = () => faults.pick(nodes) ?? nodes[0];
  const first = pickServer();
  if (first) device.start(first);
  const writeLoop = async () => {
    while (Date.now() < end) {
      await writes.step(device);
      await sleep(rngW.between(50, 400));
    }
  };
  const faultLoop = async () => {
    for (;;) {
      await sleep(faults.between(1500, 5000));
      if (Date.now() >= end) break;
      const roll = faults.next();
      if (roll < 0.4) {
        await device.stop(true);
        await sleep(faults.between(300, 3000));
        const server = pickServer();
        if (server) device.start(server);
      } else if (roll < 0.75) {
        await device.cutFor(faults.between(2000, 6000));
      } else if (roll < 0.9) {
        await device.stop(false);
        const server = pickServer();
        if (server) device.start(server);
      }
    }
    if (!device.up) {
      const server = pickServer();
      if (server) device.start(server);
    }
  };
  await Promise.all([writeLoop(), faultLoop()]);
}
