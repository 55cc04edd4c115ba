/**
 * Harness for device sync tests: `mosaic sync` as real child processes (bin/mosaic.js, so
 * `npm run build` first), trees of folders compared by content, and tokens made over HTTP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { folderTree } from './folder-tree.js';
import {
  ADMIN_PASSWORD,
  BIN,
  REPO_ROOT,
  login,
  makeTempDir,
  makeTempDirSync,
  startNode,
  waitFor,
  type LogLine,
  type NodeProcess,
} from './node-process.js';

export interface SyncProcess {
  readonly child: ChildProcess;
  readonly logs: readonly LogLine[];
  /** Everything written to stderr. */
  readonly stderr: () => string;
  /** Resolves with the exit code once the process ended. */
  readonly exited: Promise<number | null>;
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

const running = new Set<ChildProcess>();
/**
 * The XDG_CONFIG_HOME of the `mosaic sync` runs that are given none: each run records its DIR
 * there (src/cli/synced-dirs.ts), which must not be the home of the person running the tests.
 * A temp dir of the harness, made again after a cleanup() removed it.
 */
let configHome: string | null = null;
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function childEnv(extra: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('MOSAIC_')) env[key] = value;
  }
  if (configHome === null || !existsSync(configHome)) {
    configHome = makeTempDirSync('mosaic-sync-config-');
  }
  return { ...env, XDG_CONFIG_HOME: configHome, ...extra };
}

/**
 * Starts `mosaic sync DIR --server URL ...args` (not a TTY: JSON log lines on stdout); `wrap`
 * is a command prefix that runs it elsewhere (`ip netns exec NS`: the fault tier).
 */
export function startSync(
  dir: string,
  server: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  wrap: readonly string[] = [],
): SyncProcess {
  const command = [...wrap, process.execPath, BIN, 'sync', dir, '--server', server, ...args];
  const child = spawn(command[0] ?? process.execPath, command.slice(1), {
    cwd: REPO_ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const logs: LogLine[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  createInterface({ input: child.stdout }).on('line', (raw) => {
    try {
      logs.push(JSON.parse(raw) as LogLine);
    } catch {
      logs.push({ msg: raw });
    }
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => {
      running.delete(child);
      resolve(code);
    });
  });
  return {
    child,
    logs,
    stderr: () => stderr,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** `mosaic sync --once`: resolves with the exit code and the output. */
export async function syncOnce(
  dir: string,
  server: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<{ code: number | null; logs: readonly LogLine[]; stderr: string }> {
  const p = startSync(dir, server, ['--once', ...args], env);
  const code = await p.exited;
  return { code, logs: p.logs, stderr: p.stderr() };
}

/** A new API token of `username` at the node at `url`. */
export async function createToken(
  url: string,
  username: string,
  password: string,
): Promise<string> {
  const cookie = await login(url, username, password);
  const res = await fetch(`${url}/api/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ name: 'device test' }),
  });
  if (res.status !== 201) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** What a folder holds: path -> sha256 for files, 'dir' for directories (./folder-tree.ts). */
export { folderTree as tree } from './folder-tree.js';

export function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A laptop's `file.put` of `path` in folder `docs`, as `mosaic sync` pushes it
 * (`POST /api/folders/docs/devices/:id/ops`): by `device` (named `name`), its `seq`th
 * operation, after the version vector `vv`.
 */
export function devicePut(
  device: string,
  name: string,
  seq: number,
  path: string,
  content: string,
  vv: Record<string, number> = {},
) {
  const wall = Date.now() - 60_000 + seq;
  return {
    origin: device,
    seq,
    hlc: `${String(wall).padStart(16, '0')}-0000-${device}`,
    body: {
      kind: 'file.put',
      folder: 'docs',
      path,
      entry: 'file',
      deleted: false,
      hash: sha(content),
      size: content.length,
      mtimeMs: wall,
      vv: { ...vv, [device]: seq },
      originName: name,
    },
  };
}

/** Waits until every directory holds the same tree and `check` holds on it; returns the tree. */
export async function converged(
  dirs: readonly string[],
  check: (t: Map<string, string>) => boolean = () => true,
  timeoutMs = 30_000,
): Promise<Map<string, string>> {
  let last = '';
  let result = new Map<string, string>();
  try {
    await waitFor(
      async () => {
        const trees = await Promise.all(dirs.map((d) => folderTree(d)));
        const [first, ...rest] = trees;
        if (!first) return true;
        for (const [i, t] of rest.entries()) {
          const a = JSON.stringify([...first]);
          const b = JSON.stringify([...t]);
          if (a !== b) {
            last = `dir 1 vs dir ${i + 2}: ${a.slice(0, 300)} vs ${b.slice(0, 300)}`;
            return false;
          }
        }
        if (!check(first)) {
          last = `same trees, not the expected one yet: ${JSON.stringify([...first.keys()])}`;
          return false;
        }
        result = first;
        return true;
      },
      { timeoutMs, intervalMs: 50, what: 'directories to converge' },
    );
  } catch {
    throw new Error(`Did not converge within ${timeoutMs} ms: ${last}`);
  }
  return result;
}

/** A node with the folder `docs`, and a laptop's `mosaic sync` of it (admin's token). */
export interface NodeAndLaptop {
  readonly node: NodeProcess;
  /** The node's folder. */
  readonly root: string;
  readonly laptop: string;
  readonly token: string;
  /** Syncs `laptop` with `docs`, rescanning every 2 s (`start` runs it again once stopped). */
  sync: SyncProcess;
  start(): SyncProcess;
}

/** Starts a node syncing `docs` every 300 ms, and `mosaic sync` on a new laptop directory. */
export async function nodeAndLaptop(prefix: string): Promise<NodeAndLaptop> {
  const root = join(await makeTempDir(`${prefix}-node-`), 'docs');
  await mkdir(root);
  const node = await startNode({ args: ['--folder', `docs=${root}`, '--sync-interval-ms', '300'] });
  const laptop = await makeTempDir(`${prefix}-laptop-`);
  const token = await createToken(node.url, 'admin', ADMIN_PASSWORD);
  const start = () =>
    startSync(laptop, node.url, ['--token', token, '--folder', 'docs', '--interval', '2']);
  const pair: NodeAndLaptop = { node, root, laptop, token, sync: start(), start };
  return pair;
}
