/**
 * `mosaic cluster` as a person runs it: the real CLI starts two node processes, prints a banner
 * with their URLs and a generated admin password that works on both, keeps the cluster key
 * private on disk, reuses it on the next start, and stops everything on Ctrl-C (SIGINT). A node
 * whose data was lost takes the cluster's admin account back.
 * Needs `npm run build` first.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFile, rm, stat } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  BIN,
  REPO_ROOT,
  canLogin,
  cleanup,
  login,
  makeTempDir,
  waitFor,
} from '../helpers/node-process.js';

const NODES = 2;
const BANNER_END = 'Ctrl-C stops all nodes.';

interface Cluster {
  readonly process: ChildProcessWithoutNullStreams;
  output(): string;
  /** Resolves with the exit code once the process and its output are done. */
  readonly closed: Promise<number | null>;
}

const started: Cluster[] = [];
/** The admin password the first start printed. */
let firstPassword = '';
let dataDir: string;
let basePort: number;

beforeAll(async () => {
  dataDir = await makeTempDir('mosaic-cluster-');
  basePort = await freeConsecutivePorts(NODES);
});

afterAll(async () => {
  // A test that failed half-way must not leave a cluster running: Ctrl-C it, then kill it.
  for (const cluster of started) {
    if (cluster.process.exitCode === null && cluster.process.signalCode === null) {
      cluster.process.kill('SIGINT');
      const timer = setTimeout(() => cluster.process.kill('SIGKILL'), 12_000);
      await cluster.closed;
      clearTimeout(timer);
    }
  }
  await cleanup();
});

function startCluster(): Cluster {
  const env: Record<string, string> = {};
  // None of this process's MOSAIC_* settings: the cluster must generate its password and key.
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('MOSAIC_')) env[key] = value;
  }
  const child = spawn(
    process.execPath,
    [BIN, 'cluster', '--nodes', String(NODES), '--base-port', String(basePort), '--data', dataDir],
    { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const closed = new Promise<number | null>((resolve) => {
    child.once('close', (code) => {
      resolve(code);
    });
  });
  const cluster = { process: child, output: () => output, closed };
  started.push(cluster);
  return cluster;
}

/** Waits for the whole banner; fails at once (with the output) if the cluster exits instead. */
async function waitForBanner(cluster: Cluster): Promise<string> {
  return waitFor(
    () => {
      const output = cluster.output();
      if (cluster.process.exitCode !== null || cluster.process.signalCode !== null) {
        throw new Error(`mosaic cluster exited before its banner:\n${output}`);
      }
      return output.includes(BANNER_END) && output;
    },
    { timeoutMs: 15_000, what: 'the cluster banner' },
  );
}

function bannerUrls(output: string): string[] {
  return [...output.matchAll(/^ {2}node-\d+ +(http:\/\/\S+)$/gm)].map((m) => m[1] ?? '');
}

async function stopWithCtrlC(cluster: Cluster): Promise<void> {
  cluster.process.kill('SIGINT');
  const code = await cluster.closed;
  expect(code, cluster.output()).toBe(0);
}

describe('mosaic cluster', () => {
  const expectedUrls = () =>
    Array.from({ length: NODES }, (_, i) => `http://127.0.0.1:${basePort + i}`);

  test('first start: banner with both URLs and a working admin password; Ctrl-C stops all', async () => {
    const cluster = startCluster();
    const output = await waitForBanner(cluster);

    const urls = bannerUrls(output);
    expect(urls, output).toEqual(expectedUrls());
    const password = /Sign in as "admin" with the password: (\S+)$/m.exec(output)?.[1];
    expect(password, output).toBeDefined();
    firstPassword = password ?? '';
    expect(output).toContain(`Data: ${dataDir}`);

    const names = await Promise.all(
      urls.map(async (url) => {
        const res = await fetch(`${url}/healthz`);
        expect(res.status).toBe(200);
        return ((await res.json()) as { name: string }).name;
      }),
    );
    expect(names).toEqual(['node-1', 'node-2']);
    // Every node seeded "admin" with the same password, so it signs in anywhere.
    for (const url of urls) await login(url, 'admin', password ?? '');

    const key = await stat(join(dataDir, 'cluster.key'));
    expect(key.mode & 0o777).toBe(0o600);
    // Each node's data (password hashes, the cookie secret) is its user's only.
    for (const name of names) {
      expect((await stat(join(dataDir, name))).mode & 0o777).toBe(0o700);
      expect((await stat(join(dataDir, name, 'mosaic.db'))).mode & 0o777).toBe(0o600);
    }

    await stopWithCtrlC(cluster);
    for (const url of urls) expect(await portIsClosed(url)).toBe(true);
  });

  test('a restart reuses the cluster key and says the admin account exists', async () => {
    const keyBefore = await readFile(join(dataDir, 'cluster.key'), 'utf8');
    const cluster = startCluster();
    const output = await waitForBanner(cluster);

    expect(bannerUrls(output)).toEqual(expectedUrls());
    expect(output).toContain('The account "admin" already exists');
    expect(output).not.toContain('with the password:');
    expect(await readFile(join(dataDir, 'cluster.key'), 'utf8')).toBe(keyBefore);

    await stopWithCtrlC(cluster);
    for (const url of expectedUrls()) expect(await portIsClosed(url)).toBe(true);
  });

  test('a node whose data was lost takes the cluster’s admin account back', async () => {
    await rm(join(dataDir, 'node-2'), { recursive: true, force: true });
    const cluster = startCluster();
    const output = await waitForBanner(cluster);

    // Its own new "admin" is a seed the cluster's account replaces: no password to tell for it
    // (before, the banner printed a new one, and that one replaced the cluster's everywhere).
    expect(output).toContain('On node-1 the account "admin" already exists');
    expect(output).toContain('node-2 takes it once in touch with the others.');
    expect(output).not.toContain('with the password:');
    const [first, second] = expectedUrls() as [string, string];
    await waitFor(() => canLogin(second, 'admin', firstPassword), {
      timeoutMs: 30_000,
      what: 'node-2 to take the cluster’s admin password',
    });
    expect(await canLogin(first, 'admin', firstPassword)).toBe(true);

    await stopWithCtrlC(cluster);
  });
});

/**
 * A base port with `count` free ports after it, taken below the usual ephemeral range
 * (32768+) so that outgoing connections do not grab one between this check and the start.
 */
async function freeConsecutivePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    const free = await Promise.all(ports.map(canListen));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`found no ${count} consecutive free ports`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

function portIsClosed(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code === 'ECONNREFUSED');
    });
  });
}
