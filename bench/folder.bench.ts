/**
 * Folder sync bench (issue 4): 2 real nodes on 127.0.0.1, each mirroring its own directory of
 * one folder. For each data set, the files are written into node 1's folder while both nodes run;
 * the clock runs until node 2's folder holds the same paths with the same sizes and every file
 * hashes equal. Prints files/s, MB/s and the peak RSS of both nodes; asserts nothing.
 *
 *   npm run bench:folder            (about 2-4 minutes, ~2.2 GB of temp space)
 *
 * Syncthing is not in this machine's package set by default; when `syncthing` is on the PATH the
 * comparison could be added here (not done yet).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { freePort, peakRssMb, startBenchNode, type BenchNode } from './lib/nodes.js';
import { MB, formatTable, round } from './lib/stats.js';

const SMALL_FILES = 10_000;
const SMALL_SIZE = 4096;
const BIG_SIZE = 1024 * 1024 * 1024;

async function listing(root: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    const abs = join(e.parentPath, e.name);
    const rel = relative(root, abs);
    if (rel.startsWith('.mosaic') || !e.isFile()) continue;
    out.set(rel, (await stat(abs).catch(() => null))?.size ?? -1);
  }
  return out;
}

async function sha(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), async (chunks: AsyncIterable<Buffer>) => {
    for await (const c of chunks) h.update(c);
  });
  return h.digest('hex');
}

interface FolderView {
  files: number;
  needFiles: number;
  state: string;
}

async function folderStatus(node: BenchNode): Promise<FolderView> {
  const res = await fetch(`${node.url}/api/folders`, { headers: { cookie: node.cookie } });
  const [view] = (await res.json()) as FolderView[];
  if (!view) throw new Error('no folder');
  return view;
}

/**
 * Waits until both nodes' folders hold `files` files with nothing still
 * needed (asking the nodes: cheap, so the bench's own polling does not compete for the cores),
 * then checks what the disks hold: same paths, sizes and hashes. Returns when node 1 had
 * indexed everything (seconds since t0) as a milestone.
 */
async function waitIdentical(
  nodes: readonly BenchNode[],
  roots: readonly [string, string],
  files: number,
  t0: number,
): Promise<{ indexedS: number }> {
  let indexedS = Number.NaN;
  for (;;) {
    const [s1, s2] = await Promise.all(nodes.map(folderStatus));
    if (s1 && Number.isNaN(indexedS) && s1.files >= files && s1.state === 'idle')
      indexedS = (performance.now() - t0) / 1000;
    if (s1?.files === files && s2?.files === files && s2.needFiles === 0) {
      const [la, lb] = await Promise.all(roots.map(listing));
      if (la && lb && la.size === lb.size && [...la].every(([p, s]) => lb.get(p) === s)) break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const p of (await listing(roots[0])).keys()) {
    if ((await sha(join(roots[0], p))) !== (await sha(join(roots[1], p))))
      throw new Error(`${p} differs`);
  }
  return { indexedS };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mosaic-bench-folder-'));
  const nodes: BenchNode[] = [];
  try {
    const roots = [join(dir, 'f1', 'folder'), join(dir, 'f2', 'folder')];
    await Promise.all(roots.map((r) => mkdir(r, { recursive: true })));
    const key = randomBytes(24).toString('base64url');
    const ports = [await freePort(), await freePort()];
    for (let i = 0; i < 2; i++) {
      nodes.push(
        await startBenchNode([
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
          roots[i] ?? '',
        ]),
      );
    }
    const [r1] = roots as [string, string];
    const rows: string[][] = [];

    console.log(
      `Writing ${SMALL_FILES} files of ${SMALL_SIZE / 1024} KiB into node 1's folder ...`,
    );
    const t0 = performance.now();
    for (let d = 0; d < SMALL_FILES / 100; d++) {
      const sub = join(r1, 'small', `d${d}`);
      await mkdir(sub, { recursive: true });
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          writeFile(join(sub, `f${i}.bin`), randomBytes(SMALL_SIZE)),
        ),
      );
    }
    const small = await waitIdentical(nodes, roots as [string, string], SMALL_FILES, t0);
    const smallS = (performance.now() - t0) / 1000;
    console.log(`  node 1 had indexed everything after ${round(small.indexedS, 2)} s`);
    rows.push([
      `${SMALL_FILES} x 4 KiB`,
      `${round(smallS, 2)} s`,
      `${round(SMALL_FILES / smallS)} files/s`,
      `${round((SMALL_FILES * SMALL_SIZE) / MB / smallS)} MB/s`,
      'target <= 3 s (Syncthing 1.19: 16-32 s)',
    ]);

    console.log("Writing one 1 GiB file into node 1's folder ...");
    const big = join(r1, 'big.bin');
    const chunk = randomBytes(16 * 1024 * 1024);
    const t1 = performance.now();
    {
      const { open } = await import('node:fs/promises');
      const fh = await open(big, 'w');
      for (let written = 0; written < BIG_SIZE; written += chunk.length) await fh.write(chunk);
      await fh.close();
    }
    const bigRun = await waitIdentical(nodes, roots as [string, string], SMALL_FILES + 1, t1);
    const bigS = (performance.now() - t1) / 1000;
    console.log(`  node 1 had indexed it after ${round(bigRun.indexedS, 2)} s`);
    rows.push([
      '1 GiB file',
      `${round(bigS, 2)} s`,
      '',
      `${round(BIG_SIZE / MB / bigS)} MB/s`,
      'target <= ~4.1 s (Syncthing 1.19: ~6.2 s)',
    ]);
    const rss = await Promise.all(nodes.map((n) => peakRssMb(n.proc.pid)));
    rows.push([
      'peak RSS',
      rss.map((r) => `${round(r)} MB`).join(' / '),
      '',
      '',
      'target < 200 MB per node',
    ]);
    console.log(
      `\n${formatTable(['data set', 'time to identical', 'files/s', 'throughput', 'note'], rows)}\n`,
    );
    console.log(
      JSON.stringify({
        bench: 'folder',
        smallSeconds: round(smallS, 2),
        smallFilesPerSecond: round(SMALL_FILES / smallS),
        bigSeconds: round(bigS, 2),
        bigMBps: round(BIG_SIZE / MB / bigS),
        peakRssMb: rss.map((r) => round(r)),
      }),
    );
  } finally {
    await Promise.all(nodes.map((n) => n.kill()));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
