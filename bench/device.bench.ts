/**
 * Device sync bench (issue 7): one real node with a folder and `mosaic sync --once` processes.
 * For each data set, the initial sync of a device that holds the files (device -> node: the
 * clock runs until the sync exits in sync and the node's folder has every file), then of an
 * empty device (node -> device: until the sync exits in sync). Prints the times, rates and the
 * client's peak RSS; asserts nothing. Compare with `npm run bench:folder` (node to node).
 *
 *   npm run bench:device            (a few minutes, ~3.3 GB of temp space)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MOSAIC_BIN, freePort, startBenchNode, type BenchNode } from './lib/nodes.js';
import { MB, formatTable, round } from './lib/stats.js';

const SMALL_FILES = 10_000;
const SMALL_SIZE = 4096;
const BIG_SIZE = 1024 * 1024 * 1024;

interface FolderView {
  files: number;
  needFiles: number;
}

async function folderStatus(node: BenchNode): Promise<FolderView> {
  const res = await fetch(`${node.url}/api/folders`, { headers: { cookie: node.cookie } });
  const [view] = (await res.json()) as FolderView[];
  if (!view) throw new Error('no folder');
  return view;
}

/** Runs `mosaic sync --once`; resolves with its exit code and peak RSS (sampled from /proc). */
async function syncOnce(dir: string, node: BenchNode, token: string): Promise<{ peakMb: number }> {
  const child = spawn(
    process.execPath,
    [
      MOSAIC_BIN,
      'sync',
      dir,
      '--server',
      node.url,
      '--token',
      token,
      '--folder',
      'folder',
      '--once',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  let peakKb = 0;
  const sample = async () => {
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    peakKb = Math.max(peakKb, kb);
  };
  const timer = setInterval(() => void sample(), 100);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearInterval(timer);
  if (code !== 0) throw new Error(`mosaic sync exited with ${code}`);
  return { peakMb: peakKb / 1024 };
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50));
}

async function token(node: BenchNode): Promise<string> {
  const res = await fetch(`${node.url}/api/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: node.cookie },
    body: JSON.stringify({ name: 'bench' }),
  });
  return ((await res.json()) as { token: string }).token;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mosaic-bench-device-'));
  let node: BenchNode | null = null;
  try {
    const root = join(dir, 'node-folder', 'folder');
    await mkdir(root, { recursive: true });
    node = await startBenchNode([
      '--data',
      join(dir, 'node'),
      '--port',
      String(await freePort()),
      '--folder',
      root,
    ]);
    const bearer = await token(node);
    const up = join(dir, 'device-up');
    const down = join(dir, 'device-down');
    await mkdir(down);
    const rows: string[][] = [];

    console.log(`Writing ${SMALL_FILES} files of ${SMALL_SIZE / 1024} KiB into the device ...`);
    for (let d = 0; d < SMALL_FILES / 100; d++) {
      const sub = join(up, 'small', `d${d}`);
      await mkdir(sub, { recursive: true });
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          writeFile(join(sub, `f${i}.bin`), randomBytes(SMALL_SIZE)),
        ),
      );
    }
    let t = performance.now();
    const n = node;
    const smallUp = await syncOnce(up, n, bearer);
    await until(async () => {
      const s = await folderStatus(n);
      return s.files === SMALL_FILES && s.needFiles === 0;
    });
    const smallUpS = (performance.now() - t) / 1000;
    t = performance.now();
    const smallDown = await syncOnce(down, n, bearer);
    const smallDownS = (performance.now() - t) / 1000;
    const rate = (s: number) => `${round(SMALL_FILES / s)} files/s`;
    rows.push([
      `${SMALL_FILES} x 4 KiB, device -> node`,
      `${round(smallUpS, 2)} s`,
      rate(smallUpS),
      `${round(smallUp.peakMb)} MB`,
    ]);
    rows.push([
      `${SMALL_FILES} x 4 KiB, node -> device`,
      `${round(smallDownS, 2)} s`,
      rate(smallDownS),
      `${round(smallDown.peakMb)} MB`,
    ]);

    console.log('Writing one 1 GiB file into the device ...');
    {
      const chunk = randomBytes(16 * 1024 * 1024);
      const fh = await open(join(up, 'big.bin'), 'w');
      for (let written = 0; written < BIG_SIZE; written += chunk.length) await fh.write(chunk);
      await fh.close();
    }
    t = performance.now();
    const bigUp = await syncOnce(up, n, bearer);
    await until(async () => {
      const s = await folderStatus(n);
      return s.files === SMALL_FILES + 1 && s.needFiles === 0;
    });
    const bigUpS = (performance.now() - t) / 1000;
    t = performance.now();
    const bigDown = await syncOnce(down, n, bearer);
    const bigDownS = (performance.now() - t) / 1000;
    const mbps = (s: number) => `${round(BIG_SIZE / MB / s)} MB/s`;
    rows.push([
      '1 GiB file, device -> node',
      `${round(bigUpS, 2)} s`,
      mbps(bigUpS),
      `${round(bigUp.peakMb)} MB`,
    ]);
    rows.push([
      '1 GiB file, node -> device',
      `${round(bigDownS, 2)} s`,
      mbps(bigDownS),
      `${round(bigDown.peakMb)} MB`,
    ]);
    console.log(
      `\n${formatTable(['initial sync', 'time (until in sync)', 'rate', 'client peak RSS'], rows)}\n`,
    );
    console.log(
      JSON.stringify({
        bench: 'device',
        smallUpSeconds: round(smallUpS, 2),
        smallDownSeconds: round(smallDownS, 2),
        bigUpSeconds: round(bigUpS, 2),
        bigDownSeconds: round(bigDownS, 2),
        clientPeakRssMb: [smallUp, smallDown, bigUp, bigDown].map((r) => round(r.peakMb)),
      }),
    );
  } finally {
    await node?.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
