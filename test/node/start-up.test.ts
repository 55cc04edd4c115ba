/**
 * What a `mosaic node` process is when it starts, seen from outside: it runs under its memory
 * settings whatever starts it (bin/mosaic.js, src/cli/runtime-env.ts), and a default node
 * (SQLite, local blobs) loads neither the PostgreSQL nor the S3 code, nor the image and upload
 * libraries before their first use (docs/benchmarks.md, "Memory").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cleanup, makeTempDir, REPO_ROOT } from '../helpers/node-process.js';

afterAll(cleanup);

interface Started {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly url: string;
}

/** `env`: the whole environment (nothing inherited but PATH and HOME). */
async function spawnBin(
  env: Record<string, string>,
  nodeFlags: readonly string[] = [],
): Promise<Started> {
  const dataDir = await makeTempDir();
  const child = spawn(
    process.execPath,
    [...nodeFlags, BIN, 'node', '--data', dataDir, '--port', '0', '--discovery', 'off'],
    {
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '',
        MOSAIC_ADMIN_PASSWORD: 'admin-password-for-tests',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error('the node did not report "node listening" within 30 s'));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the node exited before listening (code ${code})`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.includes('"node listening"')) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
  });
  if (child.pid === undefined) throw new Error('no pid');
  return { child, pid: child.pid, url };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * The bundle's map of what each of its files holds (scripts/bundle.mjs), or null when the build
 * made none. A loaded bundle file counts as loading every package in it.
 */
const bundle = await readFile(join(REPO_ROOT, 'dist', 'bundle', 'meta.json'), 'utf8').then(
  (text) => JSON.parse(text) as Record<string, { packages: string[] }>,
  () => null,
);

/** The packages the module files loaded are in (a bundle file: every package it holds). */
function packagesOf(files: readonly string[]): Set<string> {
  const packages = new Set(
    files.flatMap((path) => {
      const found = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
      if (found?.[1] !== undefined) return [found[1]];
      const inBundle = /\/dist\/bundle\/cli\/([^/]+)$/.exec(path)?.[1];
      return inBundle === undefined ? [] : (bundle?.[inBundle]?.packages ?? []);
    }),
  );
  // Mosaic's own directories are not packages.
  for (const name of packages) if (name.startsWith('src/')) packages.delete(name);
  return packages;
}

const RECORD_LOADS = join(REPO_ROOT, 'test', 'fixtures', 'record-loads.ts');

/** Every module file a node loads until it answers /healthz, and the packages they are in. */
async function loadsOf(
  env: Record<string, string>,
): Promise<{ files: string[]; packages: Set<string> }> {
  const file = join(await makeTempDir(), 'loads.txt');
  const { child, url } = await spawnBin({ ...env, RECORD_LOADS_FILE: file }, [
    '--import',
    RECORD_LOADS,
  ]);
  expect((await fetch(`${url}/healthz`)).ok).toBe(true);
  await stop(child);
  const files = (await readFile(file, 'utf8')).split('\n');
  return { files, packages: packagesOf(files) };
}

/** The packages a `mosaic` command (one that ends by itself) loads until it exits. */
async function commandLoads(args: readonly string[]): Promise<Set<string>> {
  const file = join(await makeTempDir(), 'loads.txt');
  const child = spawn(process.execPath, ['--import', RECORD_LOADS, BIN, ...args], {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: await makeTempDir(),
      RECORD_LOADS_FILE: file,
    },
    stdio: 'ignore',
  });
  await new Promise((resolve) => child.once('exit', resolve));
  return packagesOf((await readFile(file, 'utf8')).split('\n'));
}

/** The environment of a running process, from /proc. */
async function environOf(pid: number): Promise<Map<string, string>> {
  const raw = await readFile(`/proc/${pid}/environ`, 'utf8');
  const env = new Map<string, string>();
  for (const entry of raw.split('\0')) {
    const at = entry.indexOf('=');
    if (at > 0) env.set(entry.slice(0, at), entry.slice(at + 1));
  }
  return env;
}

describe.runIf(process.platform === 'linux')('a node process at start', () => {
  it('runs under MALLOC_ARENA_MAX=2, a fixed 4 MiB mmap threshold, 4 MiB V8 semi-spaces, a 50 % old-space growth and baseline WebAssembly when started plainly', async () => {
    const { child, pid, url } = await spawnBin({});
    try {
      // The same process (re-executed in place) answers, with the settings in its environment.
      expect((await fetch(`${url}/healthz`)).ok).toBe(true);
      const env = await environOf(pid);
      expect(env.get('MALLOC_ARENA_MAX')).toBe('2');
      expect(env.get('MALLOC_MMAP_THRESHOLD_')).toBe('4194304');
      expect(env.get('NODE_OPTIONS')).toBe('--max-semi-space-size=4');
      // V8 flags NODE_OPTIONS refuses: on the re-executed command line.
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      expect(cmdline).toContain('--heap-growing-percent=50');
      expect(cmdline).toContain('--no-wasm-tier-up');
    } finally {
      await stop(child);
    }
  });

  it('keeps what the operator set, and MOSAIC_MEMORY_TUNING=off leaves it alone', async () => {
    const set = await spawnBin({ MALLOC_ARENA_MAX: '4' }, ['--max-semi-space-size=8']);
    const off = await spawnBin({ MOSAIC_MEMORY_TUNING: 'off' });
    try {
      const setEnv = await environOf(set.pid);
      expect(setEnv.get('MALLOC_ARENA_MAX')).toBe('4');
      // What the operator did not set is added.
      expect(setEnv.get('MALLOC_MMAP_THRESHOLD_')).toBe('4194304');
      expect(setEnv.get('NODE_OPTIONS')).toBeUndefined();
      const offEnv = await environOf(off.pid);
      expect(offEnv.has('MALLOC_ARENA_MAX')).toBe(false);
      expect(offEnv.has('MALLOC_MMAP_THRESHOLD_')).toBe(false);
      expect(offEnv.has('NODE_OPTIONS')).toBe(false);
      expect(await readFile(`/proc/${off.pid}/cmdline`, 'utf8')).not.toContain('heap-growing');
    } finally {
      await Promise.all([stop(set.child), stop(off.child)]);
    }
  });

  // The bundle (scripts/bundle.mjs) keeps them out too: they stay outside it, loaded on first use.
  it.each([
    ['the bundle', {}],
    ['dist/src (MOSAIC_BUNDLE=off)', { MOSAIC_BUNDLE: 'off' }],
  ])(
    'loads neither pg, the AWS SDK, sharp, exifr, yazl, tus, the API docs nor the file server when the configuration does not need them: %s',
    async (_, env: Record<string, string>) => {
      const { packages, files } = await loadsOf(env);
      // The recording works: what every node needs is there.
      expect(packages).toContain('better-sqlite3');
      expect(packages).toContain('kysely');
      // The build asked for is what runs.
      const ran = bundle !== null && env['MOSAIC_BUNDLE'] !== 'off' ? 'bundle' : 'src';
      expect(files.filter((file) => /\/dist\/(bundle|src)\/cli\/main\.js$/.test(file))).toEqual([
        expect.stringContaining(`/dist/${ran}/cli/main.js`),
      ]);
      // undici's client is in the bundle: its ~60 files resolved one by one cost start-up CPU.
      if (ran === 'bundle') {
        expect(files.filter((file) => file.includes('/node_modules/undici/'))).toEqual([]);
      }
      for (const lazy of [
        'pg',
        '@aws-sdk/client-s3',
        '@aws-sdk/lib-storage',
        'sharp',
        'exifr',
        'heic-decode',
        'yazl',
        '@tus/server',
        '@tus/file-store',
        '@tus/s3-store',
        // The API docs, built at their first request (src/http/api-docs.ts).
        '@fastify/swagger',
        '@fastify/swagger-ui',
        'yaml',
        // What serves the web app's files, loaded at the first one (src/http/web.ts).
        '@fastify/send',
        '@fastify/static',
        'mime',
        'glob',
      ]) {
        expect(packages, lazy).not.toContain(lazy);
      }
    },
  );

  // What a command runs is loaded once its options are parsed (src/cli/engines.ts): `--help`,
  // a command's help and a wrong option load the command line only (0.24 s and 60 MB for
  // `mosaic --help`, against 0.54 s and 90 MB when every command loaded the node).
  it("loads none of the node's code for --help or a command's help", async () => {
    const runs = {
      help: await commandLoads(['--help']),
      syncHelp: await commandLoads(['sync', '--help']),
      loginHelp: await commandLoads(['login', '--help']),
      clusterHelp: await commandLoads(['cluster', '--help']),
      wrongOption: await commandLoads(['node', '--no-such-option']),
    };
    // The recording works: the command line is there.
    expect(runs.help).toContain('commander');
    for (const [name, packages] of Object.entries(runs)) {
      for (const engine of ['fastify', 'prom-client', 'pino', 'better-sqlite3', 'kysely']) {
        expect(packages, `${name}: ${engine}`).not.toContain(engine);
      }
    }
  });

  // What the bundle moved: paths taken from import.meta.url (dist/web, package.json) and the
  // packages left outside it (@fastify/swagger-ui's static files).
  it('serves the OpenAPI document, its UI and the web app from the build that runs', async () => {
    const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    for (const env of [{}, { MOSAIC_BUNDLE: 'off' }]) {
      const { child, url } = await spawnBin(env);
      try {
        const doc = (await (await fetch(`${url}/api/docs/json`)).json()) as {
          openapi: string;
          info: { version: string };
          paths: Record<string, unknown>;
        };
        expect(doc.openapi).toMatch(/^3\./);
        expect(doc.info.version).toBe(version);
        expect(Object.keys(doc.paths)).toContain('/healthz');
        const ui = await fetch(`${url}/api/docs`);
        expect(ui.status).toBe(200);
        expect(await ui.text()).toContain('swagger');
        const script = await fetch(`${url}/api/docs/static/swagger-ui-bundle.js`);
        expect(script.status).toBe(200);
        expect(script.headers.get('content-type')).toContain('javascript');
        expect(script.headers.get('x-frame-options')).toBe('DENY');
        expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
        const app = await fetch(`${url}/`, { headers: { accept: 'text/html' } });
        expect(app.status).toBe(200);
        expect(app.headers.get('content-type')).toContain('text/html');
      } finally {
        await stop(child);
      }
    }
  });
});
