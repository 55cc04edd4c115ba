/**
 * Multi-node harness: N real node processes on 127.0.0.1 that know each other as static peers,
 * with a shared cluster key, fault files for cutting links, and a convergence checker that
 * compares every node's pictures and reports the first difference.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ADMIN_PASSWORD,
  addUser,
  api,
  canLogin,
  login,
  makeTempDir,
  startNode,
  waitFor,
  type Api,
  type NodeProcess,
  type Picture,
  type PictureList,
} from './node-process.js';
import { freePort } from './free-port.js';

export { freePort };

export interface ClusterNode {
  readonly name: string;
  readonly port: number;
  readonly node: NodeProcess;
  readonly faultsFile: string;
  /** An admin API client (re-signs in after a restart: sessions survive, this is simpler). */
  api(): Promise<Api>;
}

export interface ClusterOptions {
  readonly syncIntervalMs?: number;
  readonly extraArgs?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** A synced folder per node index (passed as --folder). */
  readonly folders?: readonly string[];
}

/**
 * Hex: a base64url key starts with '-' one time in 64, and `--cluster-key -Vx…` is read by the
 * CLI's parser (commander) as options (`-V` printed the version and the node exited 0).
 */
export function newClusterKey(): string {
  return randomBytes(24).toString('hex');
}

export class TestCluster {
  readonly nodes: ClusterNode[] = [];
  readonly key = newClusterKey();
  private readonly ports: number[] = [];

  constructor(private readonly options: ClusterOptions = {}) {}

  /** Reserves ports for `count` nodes (so each can list the others before they start). */
  async reserve(count: number): Promise<void> {
    for (let i = 0; i < count; i++) this.ports.push(await freePort());
  }

  url(index: number): string {
    return `http://127.0.0.1:${this.portOf(index)}`;
  }

  /** Starts node `index` (0-based) with every reserved port but its own as a peer. */
  async start(index: number, peers?: readonly number[]): Promise<ClusterNode> {
    const name = `n${index + 1}`;
    const dataDir = await makeTempDir(`mosaic-${name}-`);
    const faultsFile = join(dataDir, 'faults.json');
    const peerIndexes = peers ?? this.ports.map((_, i) => i).filter((i) => i !== index);
    const args = [
      '--port',
      String(this.portOf(index)),
      '--name',
      name,
      '--cluster-key',
      this.key,
      '--sync-interval-ms',
      String(this.options.syncIntervalMs ?? 500),
      ...peerIndexes.flatMap((i) => ['--peer', this.url(i)]),
      ...(this.options.extraArgs ?? []),
      ...(this.options.folders?.[index] === undefined
        ? []
        : ['--folder', this.options.folders[index]]),
    ];
    const node = await startNode({
      dataDir,
      args,
      env: { MOSAIC_FAULTS: `@${faultsFile}`, ...this.options.env },
    });
    let cached: { pid: number | undefined; client: Api } | null = null;
    const entry: ClusterNode = {
      name,
      port: this.portOf(index),
      node,
      faultsFile,
      async api() {
        if (cached?.pid !== node.process.pid || cached === null) {
          cached = {
            pid: node.process.pid,
            client: api(node.url, await login(node.url, 'admin', ADMIN_PASSWORD)),
          };
        }
        return cached.client;
      },
    };
    this.nodes[index] = entry;
    return entry;
  }

  async startAll(count: number): Promise<ClusterNode[]> {
    await this.reserve(count);
    return Promise.all(Array.from({ length: count }, (_, i) => this.start(i)));
  }

  /** Cuts all peer traffic between the groups (both directions), by node name. */
  async partition(...groups: readonly ClusterNode[][]): Promise<void> {
    for (const group of groups) {
      const others = groups
        .filter((g) => g !== group)
        .flat()
        .map((n) => n.name);
      await Promise.all(group.map((n) => setFaults(n, { blockPeers: others })));
    }
  }

  async heal(): Promise<void> {
    await Promise.all(this.nodes.filter(Boolean).map((n) => setFaults(n, {})));
  }

  private portOf(index: number): number {
    const port = this.ports[index];
    if (port === undefined) throw new Error(`no port reserved for node ${index}`);
    return port;
  }
}

export async function setFaults(node: ClusterNode, spec: Record<string, unknown>): Promise<void> {
  const tmp = `${node.faultsFile}.${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, JSON.stringify(spec));
  await rename(tmp, node.faultsFile);
}

/**
 * Adds these accounts (one password for all) at `first` and waits until `other` signs each of
 * them in (accounts replicate).
 */
export async function addUsersAt(
  first: ClusterNode,
  other: ClusterNode,
  users: readonly string[],
  password: string,
): Promise<void> {
  for (const user of users) await addUser(first.node.dataDir, user, password);
  await waitFor(
    async () => {
      for (const user of users) if (!(await canLogin(other.node.url, user, password))) return false;
      return true;
    },
    { what: `the accounts at ${other.name}`, timeoutMs: 20_000, intervalMs: 300 },
  );
}

/** Every visible picture at a node, sorted by id. */
export async function allPictures(client: Api): Promise<Picture[]> {
  const items: Picture[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const res = await client.get<PictureList>(`/api/pictures?limit=200${query}`);
    if (res.status !== 200) throw new Error(`list: ${res.status} ${JSON.stringify(res.body)}`);
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor !== null);
  return items.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** What must be equal on every node: ids and every field of the info. */
function describePicture(p: Picture): string {
  return JSON.stringify([
    p.id,
    p.title,
    p.category,
    p.desc,
    p.contentType,
    p.size,
    p.width,
    p.height,
    p.owner,
    p.origin,
    p.createdAt,
    p.updatedAt,
  ]);
}

/** The first difference between two nodes' picture lists, or null when they are the same. */
export function firstDifference(
  a: { name: string; pictures: Picture[] },
  b: { name: string; pictures: Picture[] },
): string | null {
  const byId = new Map(b.pictures.map((p) => [p.id, p]));
  for (const p of a.pictures) {
    const q = byId.get(p.id);
    if (!q) return `${p.id.slice(0, 12)} (${p.title}) is at ${a.name} but not at ${b.name}`;
    if (describePicture(p) !== describePicture(q)) {
      return `${p.id.slice(0, 12)} differs: ${a.name} ${describePicture(p)} vs ${b.name} ${describePicture(q)}`;
    }
  }
  for (const q of b.pictures) {
    if (!a.pictures.some((p) => p.id === q.id))
      return `${q.id.slice(0, 12)} (${q.title}) is at ${b.name} but not at ${a.name}`;
  }
  return null;
}

/**
 * Waits until every node shows the same pictures (and, if given, `expect` holds), then checks
 * that every node serves bytes that hash to each picture's id. Fails with the first difference.
 */
export async function waitConverged(
  nodes: readonly ClusterNode[],
  {
    timeoutMs = 30_000,
    expect,
  }: { timeoutMs?: number; expect?: (pictures: Picture[]) => boolean } = {},
): Promise<Picture[]> {
  let last = 'no snapshot taken';
  let result: Picture[] = [];
  try {
    await waitFor(
      async () => {
        const snaps = await Promise.all(
          nodes.map(async (n) => ({ name: n.name, pictures: await allPictures(await n.api()) })),
        );
        const [first, ...rest] = snaps;
        if (!first) return true;
        for (const other of rest) {
          const diff = firstDifference(first, other);
          if (diff !== null) {
            last = diff;
            return false;
          }
        }
        if (expect && !expect(first.pictures)) {
          last = `all nodes agree on ${first.pictures.length} pictures, but not the expected ones yet`;
          return false;
        }
        result = first.pictures;
        return true;
      },
      { timeoutMs, intervalMs: 100, what: 'convergence' },
    );
  } catch {
    throw new Error(`Nodes did not converge within ${timeoutMs} ms: ${last}`);
  }
  for (const n of nodes) {
    const client = await n.api();
    for (const p of result) {
      const res = await client.fetch(`/api/pictures/${p.id}/file`);
      const hash = createHash('sha256')
        .update(Buffer.from(await res.arrayBuffer()))
        .digest('hex');
      if (hash !== p.id) throw new Error(`${n.name} serves bytes of ${p.id} that hash to ${hash}`);
    }
  }
  return result;
}
