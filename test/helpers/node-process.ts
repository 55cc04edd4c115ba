/**
 * Harness for the multi-process tier: real `mosaic node` processes on 127.0.0.1 with
 * ephemeral ports and temp data dirs, driven over HTTP with the global fetch.
 * Needs `npm run build` first (bin/mosaic.js runs dist/).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// The HTTP client and the test images, for the tests that import everything from here.
export * from './api.js';
export * from './images.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(REPO_ROOT, 'bin', 'mosaic.js');
export const ADMIN_PASSWORD = 'admin-password-for-tests';

const START_TIMEOUT_MS = 20_000;
/** A node on the shared backend migrates a fresh PostgreSQL database first: more on a busy box. */
const SHARED_START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
/** A node's last log lines kept for a failure's report (MOSAIC_TEST_LOG_LINES: more, to debug). */
const KEPT_LINES = keptLines(process.env['MOSAIC_TEST_LOG_LINES']);

function keptLines(setting: string | undefined): number {
  if (setting === undefined) return 200;
  const lines = Number(setting);
  if (!Number.isSafeInteger(lines) || lines < 1) {
    throw new Error(`MOSAIC_TEST_LOG_LINES must be a whole number of lines, not "${setting}"`);
  }
  return lines;
}

export interface StartOptions {
  /** Reuse a data dir (the caller owns it); default: a fresh temp dir removed by cleanup(). */
  readonly dataDir?: string;
  /** Added to the child's environment (MOSAIC_* of this process are not inherited). */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra `mosaic node` flags, e.g. ['--max-upload-bytes', '100000']. */
  readonly args?: readonly string[];
  /**
   * A command that runs node for us, e.g. ['ip', 'netns', 'exec', 'ns1'] (it must exec node in
   * its own process, so the pid is node's and SIGKILL reaches it).
   */
  readonly wrap?: readonly string[];
  /**
   * 'local': SQLite and files under the data dir even inside a describeEachBackend 'shared'
   * suite (./backends.ts), e.g. for a node with --folder. Default: the suite's backend.
   */
  readonly backend?: 'local';
  /**
   * How many of its last log lines to keep at least (MOSAIC_TEST_LOG_LINES, default 200, if
   * more): the fault tier keeps a whole run's, to name what touched a path a check found wrong.
   */
  readonly keptLines?: number;
}

/**
 * Where nodes started from now on keep their metadata and bytes: set by describeEachBackend
 * (./backends.ts) for its 'shared' suite, null (SQLite and files under --data) otherwise.
 */
export interface NodePlacement {
  /** The environment that puts a new node with this data dir on the shared backend. */
  place(dataDir: string): Promise<Readonly<Record<string, string>>>;
  /** The PostgreSQL URL of the node with this data dir, if it is on the shared backend. */
  databaseOf(dataDir: string): string | undefined;
}

let placement: NodePlacement | null = null;

export function setNodePlacement(next: NodePlacement | null): void {
  placement = next;
}

/** A parsed pino line (or `{msg: <raw>}` for a line that is not JSON). */
export type LogLine = Readonly<Record<string, unknown>> & { readonly msg?: unknown };

export interface NodeProcess {
  /** The base URL, e.g. http://127.0.0.1:43123 (kept across restarts). */
  readonly url: string;
  readonly dataDir: string;
  readonly process: ChildProcess;
  /** Every stdout line of the current process, parsed (its last `keptLines` or more). */
  readonly logs: readonly LogLine[];
  /** The last lines of the processes before it (restarted since), oldest first. */
  readonly earlierLogs: readonly LogLine[];
  /** SIGTERM, waits for the exit; resolves to the exit code (null if killed by a signal). */
  stop(): Promise<number | null>;
  /** SIGKILL, waits for the exit. */
  kill(): Promise<void>;
  /** Stops the process if it still runs, then starts it again on the same data dir and port. */
  restart(): Promise<void>;
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
}

const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();

// Safety net: never leave node processes behind, even if a test file dies half-way.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function makeTempDir(prefix = 'mosaic-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** makeTempDir for a caller that cannot wait for it; removed by cleanup() as well. */
export function makeTempDirSync(prefix = 'mosaic-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Kills every node this harness started and removes its temp dirs (call in afterAll). */
export async function cleanup(): Promise<void> {
  await Promise.all([...running].map((child) => killAndWait(child)));
  await Promise.all([...tempDirs].map((dir) => rm(dir, { recursive: true, force: true })));
  tempDirs.clear();
}

export async function startNode(options: StartOptions = {}): Promise<NodeProcess> {
  const dataDir = options.dataDir ?? (await makeTempDir());
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('MOSAIC_')) env[key] = value;
  }
  const placed =
    placement === null || options.backend === 'local' ? {} : await placement.place(dataDir);
  // No LAN discovery unless a test asks for it: test nodes must not find each other by accident.
  Object.assign(
    env,
    { MOSAIC_ADMIN_PASSWORD: ADMIN_PASSWORD, MOSAIC_DISCOVERY: 'off' },
    placed,
    options.env,
  );

  const startTimeoutMs = 'MOSAIC_DATABASE' in placed ? SHARED_START_TIMEOUT_MS : START_TIMEOUT_MS;
  const kept = Math.max(KEPT_LINES, options.keptLines ?? 0);
  const spawnIt = (port: string) =>
    spawnNode(dataDir, port, env, options.args ?? [], options.wrap ?? [], startTimeoutMs, kept);
  let port = '0';
  let current = await spawnIt(port);
  port = new URL(current.url).port;
  const earlier: LogLine[] = [];
  let archived: Spawned | null = null;

  const handle: NodeProcess = {
    get url() {
      return current.url;
    },
    dataDir,
    get process() {
      return current.child;
    },
    get logs() {
      return current.logs;
    },
    get earlierLogs() {
      return earlier;
    },
    async stop() {
      if (!hasExited(current.child)) current.child.kill('SIGTERM');
      return waitForExit(current.child, STOP_TIMEOUT_MS);
    },
    async kill() {
      await killAndWait(current.child);
    },
    async restart() {
      if (!hasExited(current.child)) await handle.stop();
      // Once per process: a start that fails leaves `current` as it was, for another try.
      if (archived !== current) {
        archived = current;
        earlier.push(...current.logs, { msg: '--- the process ended here; restarted ---' });
        if (earlier.length > kept) earlier.splice(0, earlier.length - kept);
      }
      current = await spawnIt(port);
    },
    waitForLog(match, timeoutMs = 10_000) {
      return waitFor(() => current.logs.find(match), { timeoutMs, what: 'a matching log line' });
    },
  };
  return handle;
}

interface Spawned {
  readonly child: ChildProcess;
  readonly url: string;
  readonly logs: LogLine[];
}

async function spawnNode(
  dataDir: string,
  port: string,
  env: Record<string, string>,
  args: readonly string[],
  wrap: readonly string[],
  startTimeoutMs: number,
  keptLines: number,
): Promise<Spawned> {
  const command = [
    ...wrap,
    process.execPath,
    BIN,
    'node',
    '--data',
    dataDir,
    '--port',
    port,
    '--log-level',
    'info',
    ...args,
  ];
  const child = spawn(command[0] ?? process.execPath, command.slice(1), {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));

  const logs: LogLine[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-10_000);
  });

  const url = await new Promise<string>((resolveUrl, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      const tail = logs.slice(-20).map((l) => JSON.stringify(l));
      reject(
        new Error(
          `mosaic node (data ${dataDir}) ${why}.\n--- stderr ---\n${stderr}\n--- stdout (last lines) ---\n${tail.join('\n')}`,
        ),
      );
    };
    const timer = setTimeout(() => {
      fail(`did not report "node listening" within ${startTimeoutMs} ms`);
    }, startTimeoutMs);
    // 'close' (not 'exit') comes after stderr is drained, so the message has all of it.
    const onClose = (code: number | null, signal: NodeJS.Signals | null) => {
      fail(`exited before listening (code ${code}, signal ${signal})`);
    };
    child.once('close', onClose);
    child.once('error', (error) => {
      fail(`could not be spawned: ${error.message}`);
    });
    createInterface({ input: child.stdout }).on('line', (raw) => {
      const line = parseLine(raw);
      logs.push(line);
      if (logs.length > keptLines * 2) logs.splice(0, keptLines);
      if (line.msg === 'node listening' && typeof line['url'] === 'string') {
        clearTimeout(timer);
        child.off('close', onClose);
        resolveUrl(line['url']);
      }
    });
  });
  return { child, url, logs };
}

function parseLine(raw: string): LogLine {
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value === 'object' && value !== null) return value as LogLine;
  } catch {
    // not JSON (e.g. the generated admin password announcement)
  }
  return { msg: raw };
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (hasExited(child)) return Promise.resolve(child.exitCode);
  return new Promise((resolveExit, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node pid ${child.pid} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolveExit(code);
    });
  });
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (!hasExited(child)) child.kill('SIGKILL');
  await waitForExit(child, STOP_TIMEOUT_MS);
}

/** Polls `probe` until it returns something other than undefined/false; never a fixed sleep. */
export async function waitFor<T>(
  probe: () => T | false | undefined | Promise<T | false | undefined>,
  { timeoutMs = 10_000, intervalMs = 20, what = 'a condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Paths (relative to `dir`) of all files below it; [] if it does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => e.isFile())
      .map((e) => relative(dir, join(e.parentPath, e.name)))
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * Runs `mosaic user add` against a data dir (works while the node runs); for a node on the
 * shared backend, against its PostgreSQL database.
 */
export async function addUser(
  dataDir: string,
  username: string,
  password: string,
  { admin = false } = {},
): Promise<void> {
  const args = ['add', username, '--password-stdin', ...(admin ? ['--admin'] : [])];
  await userCommand(dataDir, args, `${password}\n`);
}

/**
 * Runs `mosaic user <args>` against a node's data (as `addUser`); resolves to its output,
 * throws with it when the command fails.
 */
export async function userCommand(dataDir: string, args: string[], stdin = ''): Promise<string> {
  const all = [BIN, 'user', ...args, '--data', dataDir];
  const database = placement?.databaseOf(dataDir);
  if (database !== undefined) all.push('--database', database);
  const child = spawn(process.execPath, all, {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stdin.end(stdin);
  const code = await waitForExit(child, 20_000);
  if (code !== 0) throw new Error(`mosaic user ${args.join(' ')} failed (${code}): ${output}`);
  return output;
}
