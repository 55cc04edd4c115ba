/**
 * Receiving operations (issue 16): `ChangeLog.receive` of a peer's `file.put` operations, the
 * receiver's side of a folder sync or a catch-up, on a real SQLite file (WAL, synchronous=FULL).
 * Prints the main thread's CPU and the bytes allocated per received operation, two ways:
 *
 * - "log only": a ChangeLog without a folder index (what a site on PostgreSQL does with
 *   `file.put`: log and relay), so the figure is the op log's own cost;
 * - "log + folder index": the whole receiving path of a folder sync.
 *
 * Allocation is counted with v8's GCProfiler: the heap's growth plus what each GC freed.
 *
 * BENCH_PG=1 runs "log only" on a PostgreSQL started for the bench (test/helpers/postgres.ts);
 * the CPU figure is then this process's only (the server's is not counted).
 *
 *   npm run bench:receive     (BENCH_OPS=10000 BENCH_BATCH=1000 by default; a few seconds)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { GCProfiler } from 'node:v8';
import { encodeHlc } from '../src/core/hlc.js';
import { ChangeLog } from '../src/oplog/change-log.js';
import type { Op } from '../src/oplog/op.js';
import { OpLogRepository } from '../src/oplog/oplog.repository.js';
import { openReplicaState } from '../src/oplog/replica-state.js';
import { OpClockRepository } from '../src/storage/metadata/op-clock.repository.js';
import type { MetadataStore } from '../src/storage/metadata/dialect.js';
import { openSqliteStore } from '../src/storage/metadata/sqlite.js';
import { openMetadataStore } from '../src/storage/metadata/store.js';
import { startPostgres, type PostgresServer } from '../test/helpers/postgres.js';
import { formatTable, round } from './lib/stats.js';

const OPS = Number(process.env['BENCH_OPS'] ?? 10_000);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 1_000);
const PG = process.env['BENCH_PG'] === '1';
const SELF = 'aaaaaaaaaaaaaaaa';
const PEER = 'bbbbbbbbbbbbbbbb';

function fileOps(count: number): Op[] {
  const t0 = Date.now() - 60_000;
  return Array.from({ length: count }, (_, i) => ({
    origin: PEER,
    seq: i + 1,
    hlc: encodeHlc({ wall: t0 + i, counter: 0, node: PEER }),
    body: {
      kind: 'file.put',
      folder: 'photos',
      path: `dir${i % 240}/file-${i}.bin`,
      entry: 'file',
      deleted: false,
      hash: i.toString(16).padStart(64, '0'),
      size: 4096,
      mtimeMs: t0 + i,
      vv: { [PEER]: i + 1 },
      originName: 'peer',
    },
  }));
}

interface Figures {
  cpuUsPerOp: number;
  kbPerOp: number;
  msTotal: number;
}

async function run(withIndex: boolean, pg: PostgresServer | null): Promise<Figures> {
  const dir = await mkdtemp(join(tmpdir(), 'mosaic-receive-'));
  const store: MetadataStore =
    pg === null
      ? openSqliteStore(join(dir, 'mosaic.db'))
      : await openMetadataStore(await pg.createDatabase());
  try {
    const state = openReplicaState(store, SELF);
    const changes = withIndex
      ? state.changes
      : new ChangeLog(
          store,
          new OpLogRepository(store),
          new OpClockRepository(store.dialect),
          SELF,
          {
            pictures: state.pictures,
            accounts: state.accounts,
            credentials: state.credentials,
            hasBlob: () => false,
            folders: null,
            devices: state.devices,
            albums: state.albums,
            shares: state.shares,
            trash: state.trash,
            selfId: SELF,
          },
        );
    const ops = fileOps(OPS);
    // Warm-up: a first batch of other paths (statements prepared, code compiled), not counted.
    const warm = fileOps(BATCH).map((op) => ({
      ...op,
      origin: 'cccccccccccccccc',
      hlc: op.hlc.replace(PEER, 'cccccccccccccccc'),
      body: { ...op.body, path: `warm/${op.seq}` },
    }));
    await changes.receive(warm);
    const heap0 = process.memoryUsage().heapUsed;
    const profiler = new GCProfiler();
    profiler.start();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < ops.length; i += BATCH) {
      const { applied } = await changes.receive(ops.slice(i, i + BATCH));
      if (applied.length !== Math.min(BATCH, ops.length - i)) throw new Error('ops not applied');
    }
    const msTotal = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const stats = profiler.stop();
    let freed = 0;
    for (const gc of stats.statistics) {
      freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
    }
    const allocated = freed + Math.max(0, process.memoryUsage().heapUsed - heap0);
    if ((await state.oplog.contiguous(PEER)) !== OPS) throw new Error('contiguous prefix wrong');
    return {
      cpuUsPerOp: (cpu.user + cpu.system) / OPS,
      kbPerOp: allocated / OPS / 1024,
      msTotal,
    };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows: string[][] = [];
  const pg = PG ? await startPostgres() : null;
  for (const withIndex of PG ? [false] : [false, true]) {
    const runs: Figures[] = [];
    for (let k = 0; k < 3; k++) {
      runs.push(await run(withIndex, pg));
    }
    const best = runs.reduce((a, b) => (b.cpuUsPerOp < a.cpuUsPerOp ? b : a));
    rows.push([
      withIndex ? 'log + folder index' : PG ? 'log only (PostgreSQL)' : 'log only',
      String(round(best.cpuUsPerOp, 1)),
      String(round(best.kbPerOp, 1)),
      String(round(best.msTotal, 0)),
    ]);
  }
  console.log(
    `receive: ${OPS} file.put ops in batches of ${BATCH}, ${PG ? 'PostgreSQL' : 'SQLite file'}; best of 3; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(formatTable(['path', 'CPU µs/op', 'KB allocated/op', 'wall ms'], rows));
  await pg?.stop();
}

await main();
