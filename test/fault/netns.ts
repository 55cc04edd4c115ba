/**
 * A private network for the fault tier: one Linux network namespace per node, each with a veth
 * pair to a bridge in the root namespace, addresses in a private /24. The root namespace has
 * an address on the bridge too, so the test (which runs there) reaches every node's API, and
 * keeps reaching it while the nodes are cut from each other.
 *
 * Links are cut without iptables: a blackhole route to the other node's address inside each
 * of the two namespaces (both directions), removed to heal. Needs root and iproute2 (`ip`).
 *
 * Every name starts with PREFIX, so a run that crashed is cleaned up by the next one.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Unique to this tier: namespaces `${PREFIX}n1`.., bridge `${PREFIX}br`, veths `${PREFIX}v1`.. */
export const PREFIX = process.env['FAULT_NET_PREFIX'] ?? 'mft';
/** The /24 used: nodes at .11, .12, ..., the root namespace at .254. */
const SUBNET = process.env['FAULT_SUBNET'] ?? '10.231.77';

/** A network of its own for a second layout of the tier, so that two never meet. */
export interface NetPlace {
  /** Starts with PREFIX, so that the tier's clean-up finds it too. */
  readonly prefix: string;
  readonly subnet: string;
}

export async function ip(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('ip', args);
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${e.stderr?.trim() ?? e.message}`);
  }
}

/** Why this machine cannot run the tier (not root, no `ip`), or null when it can. */
export async function unsupported(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  try {
    await run('ip', ['-V']);
  } catch {
    return 'needs iproute2 (`ip`): apt-get install -y iproute2';
  }
  return null;
}

export class Net {
  readonly bridge: string;
  readonly rootAddress: string;
  /** Cut pairs, as "i-j" with i < j. */
  private readonly cuts = new Set<string>();
  private changes: Promise<void> = Promise.resolve();
  private readonly prefix: string;
  private readonly subnet: string;

  constructor(
    readonly size: number,
    place: NetPlace = { prefix: PREFIX, subnet: SUBNET },
  ) {
    this.prefix = place.prefix;
    this.subnet = place.subnet;
    this.bridge = `${this.prefix}br`;
    this.rootAddress = `${this.subnet}.254`;
  }

  ns(i: number): string {
    return `${this.prefix}n${i + 1}`;
  }

  address(i: number): string {
    return `${this.subnet}.${11 + i}`;
  }

  /** The command prefix that runs a program inside node i's namespace. */
  wrap(i: number): string[] {
    return ['ip', 'netns', 'exec', this.ns(i)];
  }

  async setUp(): Promise<void> {
    await removeStale(this.prefix);
    const routes = await ip('-4', 'route', 'show');
    if (routes.includes(`${this.subnet}.`)) {
      throw new Error(`${this.subnet}.0/24 is already routed here; set FAULT_SUBNET to a free /24`);
    }
    await ip('link', 'add', this.bridge, 'type', 'bridge');
    await ip('addr', 'add', `${this.rootAddress}/24`, 'dev', this.bridge);
    await ip('link', 'set', this.bridge, 'up');
    for (let i = 0; i < this.size; i++) {
      const ns = this.ns(i);
      const outer = `${this.prefix}v${i + 1}`;
      const inner = `${this.prefix}i${i + 1}`;
      await ip('netns', 'add', ns);
      await ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
      await ip('link', 'set', outer, 'master', this.bridge);
      await ip('link', 'set', outer, 'up');
      await ip('link', 'set', inner, 'netns', ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      await ip('-n', ns, 'addr', 'add', `${this.address(i)}/24`, 'dev', inner);
      await ip('-n', ns, 'link', 'set', inner, 'up');
    }
  }

  /** Cuts every link between the two groups (both directions). */
  split(a: readonly number[], b: readonly number[]): Promise<void> {
    return this.serial(async () => {
      for (const i of a) for (const j of b) await this.cutLink(i, j);
    });
  }

  cut(i: number, j: number): Promise<void> {
    return this.serial(() => this.cutLink(i, j));
  }

  heal(): Promise<void> {
    return this.serial(async () => {
      for (const key of [...this.cuts]) {
        const [i, j] = key.split('-').map(Number) as [number, number];
        await this.uncutLink(i, j);
      }
    });
  }

  /** Restores the link between i and j if it is cut (a heal of everything may have come first). */
  uncut(i: number, j: number): Promise<void> {
    return this.serial(() => this.uncutLink(i, j));
  }

  /**
   * One change of routes at a time: the schedule's loops cut and heal concurrently, and a heal
   * must not run between the two halves of a cut.
   */
  private serial(change: () => Promise<void>): Promise<void> {
    const next = this.changes.then(change);
    this.changes = next.catch(() => undefined);
    return next;
  }

  private async cutLink(i: number, j: number): Promise<void> {
    const key = i < j ? `${i}-${j}` : `${j}-${i}`;
    if (this.cuts.has(key)) return;
    this.cuts.add(key);
    await ip('-n', this.ns(i), 'route', 'add', 'blackhole', `${this.address(j)}/32`);
    await ip('-n', this.ns(j), 'route', 'add', 'blackhole', `${this.address(i)}/32`);
  }

  private async uncutLink(i: number, j: number): Promise<void> {
    const key = i < j ? `${i}-${j}` : `${j}-${i}`;
    if (!this.cuts.delete(key)) return;
    await ip('-n', this.ns(i), 'route', 'del', 'blackhole', `${this.address(j)}/32`);
    await ip('-n', this.ns(j), 'route', 'del', 'blackhole', `${this.address(i)}/32`);
  }

  async tearDown(): Promise<void> {
    this.cuts.clear();
    await removeStale(this.prefix);
  }
}

/**
 * Removes every namespace, process and link of this tier, left by this run or a crashed one:
 * processes still inside a namespace are SIGKILLed by pid first (deleting a namespace does not
 * end them), then the namespaces (their veth ends go with them), then the bridge.
 */
export async function removeStale(prefix = PREFIX): Promise<void> {
  const list = await ip('netns', 'list');
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (!name.startsWith(prefix)) continue;
    const pids = (await ip('netns', 'pids', name)).split('\n').filter((p) => /^\d+$/.test(p));
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await ip('netns', 'del', name);
  }
  const links = await ip('-o', 'link', 'show');
  for (const line of links.split('\n')) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
    if (name?.startsWith(prefix)) await ip('link', 'del', name).catch(() => undefined);
  }
}
