/**
 * Mosaic as the folder bench's contender (bench/folder.bench.ts): two real nodes on 127.0.0.1,
 * each mirroring its own root of one folder, started at once; their status from
 * `/api/folders`; a timed restart of both on the same data (issue 16).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Contender } from './folder-sync.js';
import { freePort, login, rssMb, startBenchNode, type BenchNode } from './nodes.js';

/**
 * BENCH_CPU_PROF=DIR: both nodes run with `--cpu-prof` into DIR/node1 and DIR/node2, one file
 * per thread (Node's default names: a fixed name would let the hash threads' profiles overwrite
 * the main thread's).
 */
const PROFILE_DIR = process.env['BENCH_CPU_PROF'];
/** BENCH_HEAP_PROF=DIR: both nodes run with `--heap-prof` (sampled allocations) into DIR. */
const HEAP_PROFILE_DIR = process.env['BENCH_HEAP_PROF'];

function profileEnv(i: number): Record<string, string> {
  const options: string[] = [];
  if (PROFILE_DIR) {
    options.push(`--cpu-prof --cpu-prof-dir=${PROFILE_DIR}/node${i + 1}`);
  }
  if (HEAP_PROFILE_DIR) {
    options.push(
      `--heap-prof --heap-prof-dir=${HEAP_PROFILE_DIR} --heap-prof-name=node${i + 1}.heapprofile`,
    );
  }
  return options.length === 0 ? {} : { NODE_OPTIONS: options.join(' ') };
}

/**
 * `signIn: false` (a fresh start, the set written before): the nodes are not signed in to, and
 * the status until `signIn()` comes from their log lines ('folder scanned' of a full scan,
 * 'folder pulled': the folder's totals, as `/api/folders` counts them). A sign-in is a
 * scrypt on each node (16 MiB; 32 before 2026-12-05), which ran beside the sync on the clock
 * (~0.45 s of the start-up here): Syncthing's status costs its bench an API key
 * (docs/benchmarks.md, "The bench's sign-in off the clock").
 */
export async function startMosaic(
  dir: string,
  roots: readonly [string, string],
  options: { signIn?: boolean } = {},
): Promise<Contender> {
  const logged: { files: number; need: number }[] = [
    { files: 0, need: 0 },
    { files: 0, need: 0 },
  ];
  const signIn = options.signIn !== false;
  let nodes = await startMosaicNodes(dir, roots, undefined, signIn, (i, line) => {
    const seen = logged[i];
    if (!seen) return;
    if (line.includes('"folder pulled"')) {
      const { files, needFiles } = JSON.parse(line) as { files: number; needFiles: number };
      seen.files = files;
      seen.need = needFiles;
    } else if (line.includes('"folder scanned"') && line.includes('"full":true')) {
      seen.files = (JSON.parse(line) as { files: number }).files;
    }
  });
  let signedIn = signIn;
  const folder = async (node: BenchNode) => {
    const res = await fetch(`${node.url}/api/folders`, { headers: { cookie: node.cookie } });
    const [view] = (await res.json()) as { files: number; needFiles: number }[];
    if (!view) throw new Error('no folder');
    return view;
  };
  const status = async () => {
    if (!signedIn) {
      const [a, b] = logged as [{ files: number; need: number }, { files: number; need: number }];
      return {
        files: [a.files, b.files] as [number, number],
        need: [a.need, b.need] as [number, number],
      };
    }
    const [a, b] = await Promise.all(nodes.map(folder));
    if (!a || !b) throw new Error('no node');
    return {
      files: [a.files, b.files] as [number, number],
      need: [a.needFiles, b.needFiles] as [number, number],
    };
  };
  const stop = async () => {
    // A profiled node must exit on its own to write its profile.
    await Promise.all(nodes.map((n) => (PROFILE_DIR ? n.stop() : n.kill())));
  };
  return {
    get pids() {
      return nodes.map((n) => n.proc.pid);
    },
    status,
    async signIn() {
      if (signedIn) return;
      for (const node of nodes) node.cookie = await login(node.url);
      signedIn = true;
    },
    stop,
    async restart(expectedFiles) {
      await Promise.all(nodes.map((n) => n.stop()));
      const scans: { ms: number; hashed: number; changed: number }[] = [];
      const t0 = performance.now();
      signedIn = true; // the restarted nodes are signed in to
      nodes = await startMosaicNodes(dir, roots, (line) => {
        if (!line.includes('"folder scanned"') || !line.includes('"full":true')) return;
        const logged = JSON.parse(line) as { ms: number; hashed: number; changed: number };
        if (scans.length < 2) scans.push(logged);
      });
      for (;;) {
        const now = await status().catch(() => null);
        if (
          scans.length === 2 &&
          now?.files[0] === expectedFiles &&
          now.files[1] === expectedFiles &&
          now.need[0] === 0 &&
          now.need[1] === 0
        )
          break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const seconds = (performance.now() - t0) / 1000;
      await new Promise((r) => setTimeout(r, 5000));
      const metrics = await fetch(`${nodes[1]?.url ?? ''}/metrics`, {
        headers: { cookie: nodes[1]?.cookie ?? '' },
      }).then((r) => r.text());
      const fetched = /^mosaic_folder_fetched_bytes_total\{[^}]*\} (\d+)/m.exec(metrics)?.[1];
      return {
        seconds,
        scanMs: scans.map((s) => s.ms),
        hashed: scans.reduce((n, s) => n + s.hashed, 0),
        changed: scans.reduce((n, s) => n + s.changed, 0),
        fetchedBytes: Number(fetched ?? NaN),
        idleRssMb: await Promise.all(nodes.map((n) => rssMb(n.proc.pid))),
      };
    },
  };
}

async function startMosaicNodes(
  dir: string,
  roots: readonly [string, string],
  onLine?: (line: string) => void,
  signIn = true,
  onNodeLine?: (node: number, line: string) => void,
): Promise<BenchNode[]> {
  const key = randomBytes(24).toString('hex');
  const ports = [await freePort(), await freePort()];
  // Both at once (each knows the other's port): the start-up is on the clock.
  const started = await Promise.allSettled(
    [0, 1].map((i) =>
      startBenchNode(
        [
          '--data',
          join(dir, `node${i + 1}`),
          '--port',
          String(ports[i]),
          '--name',
          `n${i + 1}`,
          '--cluster-key',
          key,
          '--peer',
          `http://127.0.0.1:${ports[1 - i]}`,
          '--folder',
          `bench=${roots[i] ?? ''}`,
        ],
        profileEnv(i),
        (line) => {
          onLine?.(line);
          onNodeLine?.(i, line);
        },
        undefined,
        // '': no sign-in (`signIn()` later).
        signIn ? undefined : '',
      ),
    ),
  );
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed !== undefined) {
    // The one that started would outlive the bench (and hold its output open).
    await Promise.all(nodes.map((node) => node.kill()));
    throw failed.reason;
  }
  return nodes;
}
