/**
 * A real PostgreSQL server for tests: Debian's `postgresql` package (`initdb` + `pg_ctl`, run
 * as the `postgres` user when this process is root) in a temp directory, on 127.0.0.1 with a
 * free port (or on the address of a network namespace the test made: `StartWhere`), fsync off
 * (a test's data need not survive a power cut). `initdb` runs once per machine (seconds on a
 * busy one) into a template kept in the temp dir, copied for each server: then about 0.5 s to
 * start. One server per test file; `createDatabase()` gives each test a fresh database. Missing binaries
 * are an error that says what to install, never a silent skip.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { appendFile, chown, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './free-port.js';

const run = promisify(execFile);
const PG_ROOT = '/usr/lib/postgresql';

export interface PostgresServer {
  /** postgres://postgres@HOST:PORT/postgres (HOST: 127.0.0.1 unless `StartWhere.host`) */
  readonly url: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(): Promise<string>;
  /** The postmaster's process id (its backends are its children), for the benches' CPU figures. */
  readonly pid: number;
  /**
   * Freezes every process of the server (SIGSTOP): connections stay open and new ones are
   * accepted by the kernel, but nothing answers, as from a host that hangs. Returns the thaw.
   */
  freeze(): Promise<() => void>;
  /**
   * SIGKILLs the postmaster and every backend at once, as a crash of the server does (the
   * data directory stays; `restart` recovers it from the WAL).
   */
  kill(): Promise<void>;
  /** Starts it again after `kill`, on the same data directory and port. */
  restart(): Promise<void>;
  /** Stops the server (immediate mode) and removes its directory. */
  stop(): Promise<void>;
}

/** The bin directory of the newest installed PostgreSQL, or MOSAIC_PG_BIN. */
export function findPostgresBin(): string {
  const fromEnv = process.env.MOSAIC_PG_BIN;
  const versions = existsSync(PG_ROOT)
    ? readdirSync(PG_ROOT)
        .filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  const bin = fromEnv ?? (newest === undefined ? undefined : join(PG_ROOT, newest, 'bin'));
  if (bin === undefined || !existsSync(join(bin, 'initdb'))) {
    throw new Error(
      `PostgreSQL server binaries not found (${bin ?? `${PG_ROOT}/<version>/bin`}): the ` +
        `PostgreSQL half of this suite cannot run. Install them (apt-get install -y postgresql), ` +
        `point MOSAIC_PG_BIN at their bin directory, or run SQLite only with ` +
        `MOSAIC_TEST_DIALECTS=sqlite.`,
    );
  }
  return bin;
}

/**
 * Where a server runs: by default on 127.0.0.1 of this network namespace. The fault tier puts
 * it in a namespace of its own (`wrap`: `ip netns exec <ns>`), listening on that namespace's
 * address (`host`), so that a test can cut one process of a site off its database.
 */
export interface StartWhere {
  readonly host?: string;
  /** A command prefix that runs the server's tools there (it must exec them). */
  readonly wrap?: readonly string[];
  /**
   * Commits wait for their WAL write (`synchronous_commit` on), so that a test may SIGKILL the
   * server without losing what it acknowledged. Off by default: faster, and a server that is
   * only stopped, cut off or frozen loses nothing either way.
   */
  readonly durable?: boolean;
}

/** initdb refuses root: as root, run the server's tools as the `postgres` user. */
async function asOwner(
  file: string,
  args: readonly string[],
  wrap: readonly string[] = [],
): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  const command = [
    ...wrap,
    ...(asRoot ? ['runuser', '-u', 'postgres', '--', file, ...args] : [file, ...args]),
  ];
  await run(command[0] ?? file, command.slice(1), { cwd: tmpdir() });
}

async function ownerIds(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: group } = await run('id', ['-g', 'postgres']);
  return { uid: Number(stdout.trim()), gid: Number(group.trim()) };
}

/** A fresh cluster's data directory for this PostgreSQL version, made once (atomically). */
async function template(bin: string, owner: { uid: number; gid: number } | null): Promise<string> {
  const path = join(tmpdir(), `mosaic-pg-template-${bin.replace(/\W+/g, '_')}`);
  if (existsSync(join(path, 'PG_VERSION'))) return path;
  const dir = await mkdtemp(join(tmpdir(), 'mosaic-pg-initdb-'));
  if (owner) await chown(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  await asOwner(join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
    '--no-sync',
  ]);
  // Another test file may have made it meanwhile: then keep theirs.
  await rename(data, path).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
  return path;
}

export async function startPostgres(where: StartWhere = {}): Promise<PostgresServer> {
  const host = where.host ?? '127.0.0.1';
  const bin = findPostgresBin();
  const owner = await ownerIds();
  const source = await template(bin, owner);
  const dir = await mkdtemp(join(tmpdir(), 'mosaic-pg-'));
  if (owner) await chown(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  await run('cp', ['-a', source, data]);
  if (host !== '127.0.0.1') {
    // Clients in the other namespaces of the test's private subnet (the template trusts only
    // local ones).
    await appendFile(join(data, 'pg_hba.conf'), 'host all all samenet trust\n');
  }
  let port = 0;
  // fsync off: only a crash of the machine would lose data, and tests never crash it.
  const launch = () => {
    const options = [
      `-p ${port}`,
      `-c listen_addresses=${host}`,
      `-c unix_socket_directories=${dir}`,
      '-c fsync=off',
      ...(where.durable === true ? [] : ['-c synchronous_commit=off']),
      '-c full_page_writes=off',
      '-c max_connections=200',
    ].join(' ');
    return asOwner(
      join(bin, 'pg_ctl'),
      ['start', '-w', '-t', '30', '-D', data, '-l', log, '-o', options],
      where.wrap,
    );
  };
  const postmasterPid = async () =>
    Number((await readFile(join(data, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (error) {
      // Another process may have taken the port in between: try another, a few times.
      if (attempt >= 2) {
        const text = await readFile(log, 'utf8').catch(() => '');
        await rm(dir, { recursive: true, force: true });
        throw new Error(`PostgreSQL did not start: ${String(error)}\n${text}`);
      }
    }
  }
  const url = `postgres://postgres@${host}:${port}/postgres`;
  let pid = await postmasterPid();
  let databases = 0;
  let stopped = false;
  // Thaws of freezes not yet thawed (a test that timed out never reached its own).
  const thaws = new Set<() => void>();
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const thaw of thaws) thaw();
    await asOwner(join(bin, 'pg_ctl'), ['stop', '-m', 'immediate', '-w', '-D', data]).catch(
      () => undefined,
    );
    await rm(dir, { recursive: true, force: true });
  };
  return {
    url,
    get pid() {
      return pid;
    },
    async createDatabase() {
      const name = `test_${process.pid}_${++databases}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@${host}:${port}/${name}`;
    },
    async freeze() {
      // The postmaster first, so that it forks nothing unfrozen after the listing.
      signalIfAlive(pid, 'SIGSTOP');
      await waitUntil(() => !isAlive(pid) || isStopped(pid), 2000);
      const frozen = [...new Set([pid, ...(await childrenOf(pid)), ...processesIn(data)])];
      // A backend may end between the listing and the signal (ESRCH): nothing to freeze.
      for (const each of frozen) signalIfAlive(each, 'SIGSTOP');
      const thaw = (): void => {
        thaws.delete(thaw);
        for (const each of frozen) signalIfAlive(each, 'SIGCONT');
      };
      thaws.add(thaw);
      return thaw;
    },
    async kill() {
      // Stopped first, the postmaster forks no backend between the listing and the kill (CI
      // saw one born in that window outlive it, holding the shared memory, and the restart
      // refused: "pre-existing shared memory block is still in use"). Every process of the
      // server works in the data directory, orphans too, which `pgrep -P` no longer finds.
      signalIfAlive(pid, 'SIGSTOP');
      await waitUntil(() => !isAlive(pid) || isStopped(pid), 2000);
      const deadline = Date.now() + 10_000;
      for (;;) {
        const all = new Set([pid, ...(await childrenOf(pid)), ...processesIn(data)]);
        const alive = [...all].filter(isAlive);
        if (alive.length === 0) break;
        if (Date.now() > deadline)
          throw new Error(`postgres processes ${alive.join(', ')} outlived SIGKILL`);
        for (const each of alive) signalIfAlive(each, 'SIGKILL');
        // Gone when signal 0 finds no process (children are reaped by init, not by us).
        await waitUntil(() => !alive.some(isAlive), deadline - Date.now());
      }
      // The dead postmaster is a zombie until its parent reaps it, and the parent of a daemon
      // is PID 1, which here reaps late: a new postmaster would take the zombie for a running
      // one (its PID is in the lock files) and refuse to start. Every process is dead, so the
      // lock files (the data directory's and the socket's) are stale, as after a crash of the
      // machine; the new one writes its own.
      await rm(join(data, 'postmaster.pid'), { force: true });
      await rm(join(dir, `.s.PGSQL.${port}.lock`), { force: true });
    },
    async restart() {
      try {
        await launch();
      } catch (error) {
        const text = await readFile(log, 'utf8').catch(() => '');
        throw new Error(`${String(error)}\n${text.split('\n').slice(-15).join('\n')}`);
      }
      pid = await postmasterPid();
    },
    stop,
  };
}

function signalIfAlive(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

async function waitUntil(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

function isStopped(pid: number): boolean {
  const state = processState(pid);
  return state === 'T' || state === 't';
}

/** The processes whose working directory is `dir` (a PostgreSQL server's all work in its data directory). */
function processesIn(dir: string): number[] {
  const target = realpathSync(dir);
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === target) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** Whether the process runs (a zombie, killed but not yet reaped by its parent, does not). */
function isAlive(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== 'Z';
}

async function childrenOf(pid: number): Promise<number[]> {
  const { stdout } = await run('pgrep', ['-P', String(pid)]).catch(() => ({ stdout: '' }));
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(Number);
}
