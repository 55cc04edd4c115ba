/**
 * A real S3 server for tests: Debian's OpenStack Swift with its s3api middleware, one replica on
 * a temp directory, on 127.0.0.1 with free ports. Not a mock: the same proxy pipeline a
 * production Swift runs (s3api, tempauth, copy, slo for multipart uploads).
 *
 * - Rings are built once with swift-ring-builder (about 10 s on a busy machine) and cached in
 *   <tmp>/mosaic-swift-rings/ keyed by the three backend ports (a ring names its servers' ports);
 *   a later start reuses a set while its ports are free and no running Swift holds its lock
 *   (test files start Swift concurrently: two on one set of ports would serve each other's
 *   objects, and stopping one would break the other), else builds another set.
 * - The four servers run in one Python process (swift-server.py): about 5 s to answer.
 * - Storage is a temp directory; Swift keeps object metadata in xattrs, which /tmp (ext4 here)
 *   supports. mount_check is off, so the directory need not be a mount point.
 *
 * Swift missing is a failure, never a skip: CI installs it (.ci/run).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const START_TIMEOUT_MS = 60_000;
const RING_CACHE = join(tmpdir(), 'mosaic-swift-rings');
/**
 * The one-process Swift runner beside this file; compiled for the benches (dist/test/helpers/),
 * the .py stays in the source tree.
 */
const HERE = dirname(fileURLToPath(import.meta.url));
const SERVER_SCRIPT =
  [
    join(HERE, 'swift-server.py'),
    join(HERE, '..', '..', '..', 'test', 'helpers', 'swift-server.py'),
  ].find((path) => existsSync(path)) ?? join(HERE, 'swift-server.py');
const SERVERS = ['account', 'container', 'object'] as const;
type Backend = (typeof SERVERS)[number];

export const SWIFT_PACKAGES =
  'swift swift-proxy swift-object swift-container swift-account python3-swiftclient';

export interface SwiftServer {
  /** The S3 endpoint, e.g. http://127.0.0.1:41234 */
  readonly endpoint: string;
  readonly region: string;
  /** tempauth's account:user, which s3api takes as the access key id. */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The Python process that runs all four servers (for the benches' CPU figures). */
  readonly pid: number | undefined;
  /** SIGKILLs it, as a crash does (its objects stay on disk for `restart`). */
  kill(): Promise<void>;
  /** Starts it again after `kill`, on the same directory and ports; resolves once it answers. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Where Swift runs: by default on 127.0.0.1 of this network namespace. The fault tier runs it in
 * a namespace of its own (`wrap`: `ip netns exec <ns>`) with the proxy on that namespace's
 * address (`host`); the account, container and object servers stay on its 127.0.0.1.
 */
export interface SwiftWhere {
  readonly host?: string;
  /** A command prefix that runs Swift there (it must exec it, so the pid is Swift's). */
  readonly wrap?: readonly string[];
}

/** Starts a Swift: its own directory, rings of a free set of ports, a free proxy port. */
export async function startSwift(where: SwiftWhere = {}): Promise<SwiftServer> {
  assertInstalled();
  // A port found free may be taken by another process before Swift binds it (the suite starts
  // many servers at once): then Swift is started again on other ports, a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startSwiftOnce(where);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= START_ATTEMPTS) throw error;
    }
  }
}

const START_ATTEMPTS = 3;

/** Swift could not bind a port it was given: another process took it after it was chosen. */
class PortTakenError extends Error {}

async function startSwiftOnce(where: SwiftWhere): Promise<SwiftServer> {
  const host = where.host ?? '127.0.0.1';
  const { ports, release } = await cachedRings();
  const dir = await mkdtemp(join(tmpdir(), 'mosaic-swift-'));
  try {
    const proxyPort = await freePort();
    await mkdir(join(dir, 'devices', 'd1'), { recursive: true });
    for (const name of SERVERS) {
      await copyFile(join(ringDir(ports), `${name}.ring.gz`), join(dir, `${name}.ring.gz`));
      await writeFile(join(dir, `${name}-server.conf`), backendConf(dir, name, ports[name]));
    }
    await writeFile(join(dir, 'swift.conf'), SWIFT_CONF);
    await writeFile(join(dir, 'proxy-server.conf'), proxyConf(dir, host, proxyPort));
    const command = [...(where.wrap ?? []), PYTHON, SERVER_SCRIPT, dir];
    const launch = () =>
      spawn(command[0] ?? PYTHON, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let child = launch();
    const endpoint = `http://${host}:${proxyPort}`;
    await waitUntilAnswering(child, endpoint);
    return {
      endpoint,
      region: 'us-east-1',
      accessKeyId: 'mosaic:tester',
      secretAccessKey: 'testing',
      get pid() {
        return child.pid;
      },
      async kill() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      },
      async restart() {
        child = launch();
        await waitUntilAnswering(child, endpoint);
      },
      async stop() {
        await stopChild(child);
        await rm(dir, { recursive: true, force: true });
        await release();
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    await release();
    throw error;
  }
}

/** Swift's Python package as Debian installs it (importing it to check would cost seconds). */
const SWIFT_MODULES = '/usr/lib/python3/dist-packages/swift';

function assertInstalled(): void {
  const needed = [
    PYTHON,
    '/usr/bin/swift-ring-builder',
    join(SWIFT_MODULES, 'common', 'middleware', 's3api'),
    join(SWIFT_MODULES, 'obj', 'server.py'),
    join(SWIFT_MODULES, 'proxy', 'server.py'),
  ];
  const missing = needed.filter((path) => !existsSync(path));
  if (missing.length > 0) {
    throw new Error(
      `OpenStack Swift is not installed (missing ${missing.join(', ')}), so the S3 blob store ` +
        `cannot be tested against a real S3 server. Install it: apt-get install -y ` +
        `--no-install-recommends ${SWIFT_PACKAGES} (as .ci/run does).`,
    );
  }
}

type Ports = Record<Backend, number>;

function ringDir(ports: Ports): string {
  return join(RING_CACHE, `${ports.account}-${ports.container}-${ports.object}`);
}

/**
 * Rings for three backend ports that this Swift alone uses until `release`: a cached set whose
 * lock this process took (a lock file naming a live pid; two test files start Swift at once, and
 * two servers on one set of ports would answer for each other's objects), else a new set.
 */
async function cachedRings(): Promise<{ ports: Ports; release: () => Promise<void> }> {
  await mkdir(RING_CACHE, { recursive: true });
  const sets = (await readdir(RING_CACHE))
    .map((name) => /^(\d+)-(\d+)-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ account: Number(m[1]), container: Number(m[2]), object: Number(m[3]) }));
  for (const ports of sets) {
    if (!SERVERS.every((n) => existsSync(join(ringDir(ports), `${n}.ring.gz`)))) continue;
    const release = await claim(ports);
    if (release === null) continue;
    const free = await Promise.all(SERVERS.map((name) => isFree(ports[name])));
    if (free.every(Boolean)) return { ports, release };
    await release();
  }
  const ports = {
    account: await freePort(),
    container: await freePort(),
    object: await freePort(),
  };
  const target = ringDir(ports);
  await mkdir(target, { recursive: true });
  const release = await claim(ports);
  if (release === null) throw new Error(`Swift ring set ${target} taken while being made`);
  await Promise.all(
    SERVERS.map(async (name) => {
      const builder = join(target, `${name}.builder`);
      // 2^4 partitions, 1 replica, 0 hours between moves: the smallest ring that works.
      await run('swift-ring-builder', [builder, 'create', '4', '1', '0']);
      await run('swift-ring-builder', [builder, 'add', `r1z1-127.0.0.1:${ports[name]}/d1`, '1']);
      // Exit status 1 is a warning (e.g. balance), not a failure.
      await run('swift-ring-builder', [builder, 'rebalance']).catch((error: unknown) => {
        if ((error as { code?: number }).code !== 1) throw error;
      });
    }),
  );
  return { ports, release };
}

/** Takes a ring set's lock (O_EXCL), replacing one left by a dead process; null if in use. */
async function claim(ports: Ports): Promise<(() => Promise<void>) | null> {
  const lock = join(ringDir(ports), 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      return () => rm(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(lock, 'utf8').catch(() => '')).split(' ')[0]);
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) return null;
      await rm(lock, { force: true });
    }
  }
  return null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const SWIFT_CONF = `[swift-hash]
swift_hash_path_suffix = mosaic-test
swift_hash_path_prefix = mosaic-test

[storage-policy:0]
name = Policy-0
default = yes
`;

function backendConf(dir: string, name: Backend, port: number): string {
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
devices = ${join(dir, 'devices')}
mount_check = false
swift_dir = ${dir}
log_level = WARNING

[pipeline:main]
pipeline = ${name}-server

[app:${name}-server]
use = egg:swift#${name}
`;
}

/** The pipeline of Swift's s3api documentation, without the parts a test has no use for. */
function proxyConf(dir: string, host: string, port: number): string {
  return `[DEFAULT]
bind_ip = ${host}
bind_port = ${port}
swift_dir = ${dir}
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_mosaic_tester = testing .admin

[filter:s3api]
use = egg:swift#s3api

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo
`;
}

async function waitUntilAnswering(child: ChildProcess, endpoint: string): Promise<void> {
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => output.push(line));
  }
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    const ok = await fetch(`${endpoint}/healthcheck`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stopChild(child);
  // Its last lines (why it stopped) may still be on their way through the pipes.
  await Promise.race([
    new Promise((resolve) => child.once('close', resolve)),
    new Promise((resolve) => setTimeout(resolve, 1000)),
  ]);
  const last = output.slice(-30).join('\n');
  if (last.includes('Address already in use')) {
    throw new PortTakenError(`Swift could not bind its ports:\n${last}`);
  }
  throw new Error(`Swift did not answer on ${endpoint} within ${START_TIMEOUT_MS} ms:\n${last}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () =>
      server.close(() => {
        resolve(true);
      }),
    );
  });
}
