/**
 * Memory bench (issue 16): real `mosaic node` processes with the default storage (SQLite and
 * files under --data), measured from outside (/proc) and through their /metrics (V8 heap):
 *
 * 1. start-up: spawn to "node listening" (wall ms, and the CPU ms the process used, steadier on
 *    a loaded machine), then idle RSS (anon / file-backed), V8 heap and threads after
 *    BENCH_IDLE_S seconds; once with the node's memory settings (the default) and once with
 *    MOSAIC_MEMORY_TUNING=off;
 * 2. after BENCH_UPLOADS photo uploads (~200 KB JPEGs, thumbnails made) to that node: the peak
 *    (VmHWM) and, after the idle wait, what stays;
 * 3. a folder of BENCH_FILES files of 4 KiB (in 100 directories), written into node 1's root
 *    before two nodes start, synced to node 2: the peak RSS of each (sampled every 100 ms, and
 *    VmHWM), the time to identical, and what stays after the idle wait. The bench signs in to
 *    each node as it starts, and a sign-in's scrypt is a 16 MiB transient (so is the admin
 *    account's, made at a new node's start): the sync's peak is VmHWM counted from once both
 *    nodes are signed in (reset then, where Linux allows: /proc/PID/clear_refs), and the peak of
 *    the start-up with its sign-in is given beside it.
 *
 * 4. with BENCH_RESTART_FILES (e.g. 100000): one node alone with a folder of that many tiny files
 *    (~70 bytes, in 400 directories) indexed from scratch, then restarted on the same data: the
 *    peak of each (VmHWM), the time to its scan's end, and RSS idle BENCH_IDLE_S s after it.
 *
 * The targets are printed beside the figures: idle < 100 MB; peak < 150 MB syncing 10 000
 * files, < 200 MB at 100 000. Asserts nothing. Note the load average printed with the figures.
 *
 *   npm run bench:memory                                     (about 1-2 minutes)
 *   BENCH_FILES=100000 BENCH_UPLOADS=0 npm run bench:memory  (scale check)
 *   BENCH_FILES=0 BENCH_UPLOADS=0 BENCH_RESTART_FILES=100000 npm run bench:memory  (restart)
 */
import { randomBytes } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import { join } from 'node:path';
import { writeSmallPhotoJpeg } from './lib/images.js';
import { procMemory, resetPeak, sampleRss, v8Heap, type ProcMemory } from './lib/memory.js';
import { freePort, startBenchNode, type BenchNode } from './lib/nodes.js';
import { formatTable, round } from './lib/stats.js';
import { processCpuMs as cpuMs } from './lib/cpu.js';

const IDLE_S = Number(process.env['BENCH_IDLE_S'] ?? 6);
const UPLOADS = Number(process.env['BENCH_UPLOADS'] ?? 50);
const FILES = Number(process.env['BENCH_FILES'] ?? 10_000);
const FILE_SIZE = 4096;
const RESTART_FILES = Number(process.env['BENCH_RESTART_FILES'] ?? 0);
const IDLE_TARGET_MB = 100;
const SYNC_TARGET_MB = FILES > 10_000 ? 200 : 150;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Row {
  readonly what: string;
  readonly mem: ProcMemory;
  readonly heap: Awaited<ReturnType<typeof v8Heap>>;
  readonly note: string;
}

const rows: Row[] = [];
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

async function record(what: string, node: BenchNode, note: string): Promise<ProcMemory> {
  const mem = await procMemory(node.proc.pid);
  rows.push({ what, mem, heap: await v8Heap(node), note });
  return mem;
}

/** Starts a node and times it: spawn to its "node listening" line, and the CPU it used. */
async function startTimed(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ node: BenchNode; wallMs: number; cpuMs: number }> {
  const t0 = performance.now();
  let listening = Number.NaN;
  const node = await startBenchNode(args, env, (line) => {
    if (line.includes('"node listening"')) listening = performance.now();
  });
  return { node, wallMs: listening - t0, cpuMs: await cpuMs(node.proc.pid) };
}

async function idlePhase(dir: string): Promise<BenchNode> {
  let tuned: BenchNode | undefined;
  for (const setting of ['off', 'on'] as const) {
    const env: Record<string, string> = setting === 'off' ? { MOSAIC_MEMORY_TUNING: 'off' } : {};
    const data = join(dir, `idle-${setting}`);
    const {
      node,
      wallMs,
      cpuMs: cpu,
    } = await startTimed(['--data', data, '--port', String(await freePort())], env);
    // CPU while idle, over the wait's second half (the start's last work done by then).
    await sleep((IDLE_S * 1000) / 2);
    const idleFrom = await cpuMs(node.proc.pid);
    await sleep((IDLE_S * 1000) / 2);
    const idleCpu = ((await cpuMs(node.proc.pid)) - idleFrom) / (IDLE_S / 2);
    const label = setting === 'on' ? 'idle (memory settings)' : 'idle (MOSAIC_MEMORY_TUNING=off)';
    await record(
      label,
      node,
      `start-up ${round(wallMs, 0)} ms, ${round(cpu, 0)} CPU ms; idle ${round(idleCpu, 1)} CPU ms/s`,
    );
    if (setting === 'on') tuned = node;
    else await node.kill();
  }
  if (!tuned) throw new Error('no node');
  return tuned;
}

async function uploadPhase(node: BenchNode, dir: string): Promise<void> {
  if (UPLOADS === 0) return;
  const photos = join(dir, 'photos');
  await mkdir(photos, { recursive: true });
  const t0 = performance.now();
  for (let i = 0; i < UPLOADS; i++) {
    const file = join(photos, `${i}.jpg`);
    await writeSmallPhotoJpeg(file);
    const form = new FormData();
    form.append('title', `photo ${i}`);
    form.append('file', await openAsBlob(file), 'photo.jpg');
    const res = await fetch(`${node.url}/api/pictures`, {
      method: 'POST',
      headers: { cookie: node.cookie },
      body: form,
    });
    if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }
  const seconds = (performance.now() - t0) / 1000;
  const after = await record(`after ${UPLOADS} uploads`, node, `in ${round(seconds)} s`);
  await sleep(IDLE_S * 1000);
  await record(
    `  ${IDLE_S} s later`,
    node,
    `peak during the uploads ${round(after.peakMb)} MB (VmHWM)`,
  );
}

async function writeFolder(root: string): Promise<void> {
  const dirs = Math.max(1, Math.min(100, Math.ceil(FILES / 100)));
  for (let d = 0; d < dirs; d++) await mkdir(join(root, `d${d}`), { recursive: true });
  const pending: Promise<void>[] = [];
  for (let i = 0; i < FILES; i++) {
    pending.push(writeFile(join(root, `d${i % dirs}`, `f${i}.bin`), randomBytes(FILE_SIZE)));
    if (pending.length >= 64) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}

async function folderPhase(dir: string): Promise<void> {
  const roots = [join(dir, 'root1'), join(dir, 'root2')] as const;
  await writeFolder(roots[0]);
  await mkdir(roots[1], { recursive: true });
  const key = randomBytes(24).toString('hex');
  const ports = [await freePort(), await freePort()];
  const t0 = performance.now();
  const nodes: BenchNode[] = [];
  for (let i = 0; i < 2; i++) {
    nodes.push(
      await startBenchNode([
        '--data',
        join(dir, `folder-node${i + 1}`),
        '--port',
        String(ports[i]),
        '--name',
        `n${i + 1}`,
        '--cluster-key',
        key,
        '--peer',
        `http://127.0.0.1:${ports[1 - i]}`,
        '--folder',
        `bench=${roots[i]}`,
      ]),
    );
  }
  // The peak so far (start-up and the sign-in), then counted again from here.
  const startPeaks = await Promise.all(
    nodes.map(async (n) => (await procMemory(n.proc.pid)).peakMb),
  );
  const reset = await Promise.all(nodes.map((n) => resetPeak(n.proc.pid)));
  const sampler = sampleRss(nodes.map((n) => n.proc.pid));
  const cpuBefore = await Promise.all(nodes.map((n) => cpuMs(n.proc.pid)));
  const status = async (node: BenchNode) => {
    const res = await fetch(`${node.url}/api/folders`, { headers: { cookie: node.cookie } });
    const [view] = (await res.json()) as { files: number; needFiles: number }[];
    return view ?? { files: 0, needFiles: 1 };
  };
  for (;;) {
    const [a, b] = await Promise.all(nodes.map(status));
    if (a?.files === FILES && b?.files === FILES && a.needFiles === 0 && b.needFiles === 0) break;
    if (performance.now() - t0 > 30 * 60_000) throw new Error('folder not synced in 30 min');
    await sleep(200);
  }
  const seconds = (performance.now() - t0) / 1000;
  const peaks = await sampler.stop();
  const cpu = await Promise.all(
    nodes.map((n, i) => cpuMs(n.proc.pid).then((ms) => ms - (cpuBefore[i] ?? 0))),
  );
  for (const [i, node] of nodes.entries()) {
    const hwm = peaks.hwmMb[i] ?? Number.NaN;
    const start = startPeaks[i] ?? Number.NaN;
    // What the target is about is the sync's own peak. Before the reset, each node also made
    // its admin account and took the bench's sign-in: two scrypts, 16 MiB each (32 before),
    // one after the other on a pool thread, which can meet a start-up optimizing compile
    // (docs/benchmarks.md, "The peak before the sign-in").
    const peak = reset[i]
      ? `sync peak ${round(hwm)} MB (VmHWM once signed in); start-up with the sign-in ${round(start)} MB`
      : `peak ${round(hwm)} MB (VmHWM, start-up and sign-in included)`;
    await record(
      `node ${i + 1} after syncing ${FILES} files`,
      node,
      `${peak}, sampled ${round(peaks.sampledMb[i] ?? Number.NaN)}; target < ${SYNC_TARGET_MB}; synced in ${round(seconds)} s from spawn, ${round((cpu[i] ?? Number.NaN) / 1000)} CPU s`,
    );
  }
  await sleep(IDLE_S * 1000);
  for (const [i, node] of nodes.entries())
    await record(`  node ${i + 1}, ${IDLE_S} s later`, node, '');
  await Promise.all(nodes.map((n) => n.kill()));
}

async function restartPhase(dir: string): Promise<void> {
  const root = join(dir, 'restart-root');
  for (let d = 0; d < 400; d++) await mkdir(join(root, `d${d}`), { recursive: true });
  const pending: Promise<void>[] = [];
  for (let i = 0; i < RESTART_FILES; i++) {
    const body = `file ${i} ${randomBytes(24).toString('hex')}\n`;
    pending.push(writeFile(join(root, `d${i % 400}`, `f${i}.txt`), body));
    if (pending.length >= 64) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  const args = ['--data', join(dir, 'restart-node'), '--folder', `big=${root}`];
  for (const run of ['first index', 'restart'] as const) {
    const t0 = performance.now();
    // The node logs "folder scanned" at the end of each full scan (the first one is start-up's).
    let scanned: (line: string) => void = () => undefined;
    const scanLine = new Promise<string>((resolve) => (scanned = resolve));
    const node = await startBenchNode([...args, '--port', String(await freePort())], {}, (line) => {
      if (line.includes('"folder scanned"') && line.includes('"full":true')) scanned(line);
    });
    const { ms, files } = JSON.parse(await scanLine) as { ms: number; files: number };
    const seconds = (performance.now() - t0) / 1000;
    const cpu = await cpuMs(node.proc.pid);
    const mem = await record(
      `${files} files: ${run}, scanned`,
      node,
      `scan ${round(ms / 1000)} s, ${round(seconds)} s from spawn, ${round(cpu / 1000)} CPU s in all`,
    );
    await sleep(IDLE_S * 1000);
    await record(`  ${IDLE_S} s later`, node, `peak ${round(mem.peakMb)} MB (VmHWM), target < 200`);
    await node.kill();
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mosaic-bench-memory-'));
  console.log(
    `memory bench: idle ${IDLE_S} s, ${UPLOADS} uploads, folder of ${FILES} x 4 KiB; load ${load()}`,
  );
  try {
    const node = await idlePhase(dir);
    await uploadPhase(node, dir);
    await node.kill();
    if (FILES > 0) await folderPhase(dir);
    if (RESTART_FILES > 0) await restartPhase(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const mb = (n: number) => (Number.isNaN(n) ? '-' : round(n).toFixed(1));
  console.log(
    formatTable(
      [
        '',
        'RSS MB',
        'anon',
        'file',
        'V8 heap used/total',
        'external',
        'threads',
        'GC ms major/minor (n)',
        '',
      ],
      rows.map((r) => [
        r.what,
        mb(r.mem.rssMb),
        mb(r.mem.anonMb),
        mb(r.mem.fileMb),
        `${mb(r.heap.usedMb)} / ${mb(r.heap.totalMb)}`,
        mb(r.heap.externalMb),
        String(r.mem.threads),
        `${round(r.heap.gc.majorMs, 0)} (${r.heap.gc.majors}) / ${round(r.heap.gc.minorMs, 0)} (${r.heap.gc.minors})`,
        r.note,
      ]),
    ),
  );
  console.log(
    `targets: idle < ${IDLE_TARGET_MB} MB; peak < ${SYNC_TARGET_MB} MB syncing ${FILES} files. load ${load()}`,
  );
  console.log(
    JSON.stringify({
      bench: 'memory',
      rows: rows.map((r) => ({ what: r.what.trim(), ...r.mem, heap: r.heap, note: r.note })),
    }),
  );
}

await main();
