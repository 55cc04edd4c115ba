/**
 * One run of `bench:folder-cpu` (bench/folder-cpu.bench.ts), in a process of its own as a node
 * is: the folder engine of the build at argv[2] (a checkout whose `dist/src` is built), timed by
 * this process's CPU (`process.cpuUsage`, all threads: the libuv pool's flushes included).
 *
 *   sender:   the tree at argv[3] copied into a new folder (`cp -a`, not timed), then
 *             `FolderSync.syncNow`: the scan hashes every file and commits its versions.
 *   receiver: the same files as a peer's operations (each directory, then its files, as a scan
 *             sends them), taken in 1 000 at a time (`ChangeLog.receive`), then `syncNow`: the
 *             pull fetches the contents from memory, writes, flushes, places and records them.
 *
 * No HTTP and no second node: what the engine itself costs per file, steady where the two-node
 * bench (bench:folder) is noisy. `argv[4]` runs (the first is a fresh process's, as a node's
 * first sync is). Prints one JSON line.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';
import pino from 'pino';
import type { ContentSource } from '../../src/folders/content-source.js';
// The harness's own peer (this checkout's), whichever build's engine runs.
import { peerHolding } from '../../src/folders/peer-in-memory.js';
import type { Op } from '../../src/oplog/op.js';

type Engine = {
  openSqliteStore: typeof import('../../src/storage/metadata/sqlite.js').openSqliteStore;
  openReplicaState: typeof import('../../src/oplog/replica-state.js').openReplicaState;
  FolderSync: typeof import('../../src/folders/folder-sync.js').FolderSync;
  ensureMarker: typeof import('../../src/folders/marker.js').ensureMarker;
  HybridClock: typeof import('../../src/core/hlc.js').HybridClock;
};

const SELF = 'bbbbbbbbbbbbbbb1';
const PEER = 'bbbbbbbbbbbbbbb2';
const FOLDER = 'bench';

async function engineOf(build: string): Promise<Engine> {
  // Another build's modules: their types are this checkout's (the same engine, older or newer).
  const load = <T>(path: string): Promise<T> =>
    import(pathToFileURL(join(build, 'dist/src', path)).href) as Promise<T>;
  const [sqlite, replica, sync, marker, hlc] = await Promise.all([
    load<typeof import('../../src/storage/metadata/sqlite.js')>('storage/metadata/sqlite.js'),
    load<typeof import('../../src/oplog/replica-state.js')>('oplog/replica-state.js'),
    load<typeof import('../../src/folders/folder-sync.js')>('folders/folder-sync.js'),
    load<typeof import('../../src/folders/marker.js')>('folders/marker.js'),
    load<typeof import('../../src/core/hlc.js')>('core/hlc.js'),
  ]);
  return {
    openSqliteStore: sqlite.openSqliteStore,
    openReplicaState: replica.openReplicaState,
    FolderSync: sync.FolderSync,
    ensureMarker: marker.ensureMarker,
    HybridClock: hlc.HybridClock,
  };
}

/** A node's replica on a new SQLite file, and its FolderSync of `root` pulling from `source`. */
async function folderAt(engine: Engine, dir: string, root: string, source: ContentSource) {
  await mkdir(root, { recursive: true });
  await engine.ensureMarker(root, FOLDER);
  const store = engine.openSqliteStore(join(dir, 'mosaic.db'));
  const state = engine.openReplicaState(store, SELF);
  if (state.folders === null) throw new Error('no folder index on SQLite');
  const sync = new engine.FolderSync({
    config: { id: FOLDER, root },
    index: state.folders,
    changes: state.changes,
    selfId: SELF,
    selfName: 'bench',
    sources: () => [source],
    log: pino({ level: 'silent' }),
  });
  return { sync, changes: state.changes, close: () => store.close() };
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

async function sender(engine: Engine, tree: string): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'mosaic-folder-cpu-'));
  try {
    const root = join(dir, 'folder');
    const copied = spawnSync('cp', ['-a', tree, root]);
    if (copied.status !== 0) throw new Error(`cp -a failed: ${copied.stderr.toString()}`);
    const folder = await folderAt(engine, dir, root, peerHolding(new Map()));
    const start = process.cpuUsage();
    await folder.sync.syncNow();
    const ms = cpuMs(start);
    await folder.sync.close();
    await folder.close();
    return ms;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The tree's files as a peer's operations and contents: directories first, as a scan sends. */
function peerOps(engine: Engine, tree: string): { ops: Op[]; contents: Map<string, Buffer> } {
  const clock = new engine.HybridClock(PEER);
  const ops: Op[] = [];
  const contents = new Map<string, Buffer>();
  const put = (path: string, data: Buffer | null): void => {
    const seq = ops.length + 1;
    const hash = data === null ? null : createHash('sha256').update(data).digest('hex');
    if (data !== null && hash !== null) contents.set(hash, data);
    ops.push({
      origin: PEER,
      seq,
      hlc: clock.next(),
      body: {
        kind: 'file.put',
        folder: FOLDER,
        path,
        entry: data === null ? 'dir' : 'file',
        deleted: false,
        hash,
        size: data?.length ?? 0,
        mtimeMs: 1_700_000_000_000,
        vv: { [PEER]: seq },
        originName: 'peer',
      },
    });
  };
  for (const d of readdirSync(tree).sort()) {
    put(d, null);
    for (const f of readdirSync(join(tree, d)).sort()) {
      put(`${d}/${f}`, readFileSync(join(tree, d, f)));
    }
  }
  return { ops, contents };
}

async function receiver(engine: Engine, tree: string): Promise<{ takeMs: number; pullMs: number }> {
  const { ops, contents } = peerOps(engine, tree);
  const dir = await mkdtemp(join(tmpdir(), 'mosaic-folder-cpu-'));
  try {
    const folder = await folderAt(engine, dir, join(dir, 'folder'), peerHolding(contents));
    const start = process.cpuUsage();
    for (let i = 0; i < ops.length; i += 1000) await folder.changes.receive(ops.slice(i, i + 1000));
    const takeMs = cpuMs(start);
    const pulling = process.cpuUsage();
    await folder.sync.syncNow();
    const pullMs = cpuMs(pulling);
    await folder.sync.close();
    await folder.close();
    return { takeMs, pullMs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const [build, tree, runsArg] = process.argv.slice(2);
if (build === undefined || tree === undefined) {
  throw new Error('usage: folder-cpu-worker.js <checkout> <tree> [runs]');
}
const engine = await engineOf(build);
const runs = [];
for (let run = 0; run < Number(runsArg ?? 2); run++) {
  const senderMs = await sender(engine, tree);
  runs.push({ senderMs, ...(await receiver(engine, tree)) });
}
console.log(JSON.stringify({ runs }));
