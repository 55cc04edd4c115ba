/**
 * Where upload time goes (issue 2): times each piece of the upload path on its own, with the
 * same kinds of files as the upload bench, plus a few alternatives to see what they would gain.
 * Uses the real classes from src/ (BlobStore, probeImage, Thumbnails, ChangeLog) and, for the
 * HTTP + multipart piece, a Fastify server in a child process that drains the file.
 *
 *   npm run build && node --expose-gc dist/bench/upload.profile.js
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBlobStore } from '../src/blobs/local-blob-store.js';
import { openDatabase } from '../src/db/database.js';
import { openReplicaState } from '../src/oplog/replica-state.js';
import type { MetadataStore } from '../src/storage/metadata/dialect.js';
import { SiteIdentityRepository } from '../src/storage/metadata/site-identity.repository.js';
import { sqliteStoreOver } from '../src/storage/metadata/sqlite.js';
import type { ChangeLog } from '../src/oplog/change-log.js';
import { Thumbnails, probeImage } from '../src/pictures/images.js';
import type { SqlPictureRepository } from '../src/pictures/picture.repository.js';
import { PictureService } from '../src/pictures/picture.service.js';
import pino from 'pino';
import { treeCpuSeconds } from './lib/cpu.js';
import { startDrainServer } from './lib/drain-server.js';
import { type Piece, uploadPieces } from './lib/upload-pieces.js';
import { writeBigNoiseJpeg, writeSmallPhotoJpeg } from './lib/images.js';
import { median, round, runPool, timed } from './lib/stats.js';
import { jpeg, thumbSmallOnly, thumbsChained, thumbsCloned, webp } from './lib/thumb-variants.js';
import {
  type Ceiling,
  type Kind,
  type Measured,
  printProfile,
} from './lib/upload-profile-report.js';

const RUNS = { big: 4, small: 15 } as const;

// ---------------------------------------------------------------------------------------------

interface Files {
  readonly big: string[];
  readonly small: string[];
}

async function openChangeLog(
  dir: string,
  synchronous: 'FULL' | 'NORMAL',
): Promise<{ store: MetadataStore; changes: ChangeLog; pictures: SqlPictureRepository }> {
  const db = openDatabase(join(dir, `mosaic-${synchronous}.db`));
  db.pragma(`synchronous = ${synchronous}`);
  const store = sqliteStoreOver(db);
  const identity = await new SiteIdentityRepository(store).load();
  const { changes, pictures } = openReplicaState(store, identity.id, { hasBlob: () => true });
  return { store, changes, pictures };
}

/** CPU ms of another process so far (Linux /proc, 10 ms resolution). */
async function processCpuMs(pid: number): Promise<number> {
  const [seconds = 0] = await treeCpuSeconds([pid]);
  return seconds * 1000;
}

function ownCpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'mosaic-profile-'));
  const stopServer: (() => void)[] = [];
  try {
    await run(root, stopServer);
  } finally {
    for (const stop of stopServer) stop();
    await rm(root, { recursive: true, force: true });
  }
}

async function run(root: string, stopServer: (() => void)[]): Promise<void> {
  const imagesDir = join(root, 'images');
  const outDir = join(root, 'out');
  await mkdir(imagesDir, { recursive: true });
  await mkdir(outDir, { recursive: true });
  const files: Files = { big: [], small: [] };
  for (let i = 0; i < RUNS.big + 1; i++) {
    const f = join(imagesDir, `big-${i}.jpg`);
    await writeBigNoiseJpeg(f);
    files.big.push(f);
  }
  for (let i = 0; i < RUNS.small + 1; i++) {
    const f = join(imagesDir, `small-${i}.jpg`);
    await writeSmallPhotoJpeg(f);
    files.small.push(f);
  }
  const sizes = {
    big: (await stat(files.big[0] ?? '')).size,
    small: (await stat(files.small[0] ?? '')).size,
  };
  process.stderr.write(`[profile] images ready in ${root}\n`);

  const server = await startDrainServer();
  stopServer.push(server.stop);
  const blobs = new LocalBlobStore(join(root, 'store'), { namedDir: join(root, 'thumbs') });
  await blobs.init();
  const thumbs = new Thumbnails(blobs);
  // probeImage and Thumbnails take the image's bytes (read through the blob store port).
  const imageBytes = new Map<string, Buffer>();
  const bytesOf = (file: string): Buffer => {
    let bytes = imageBytes.get(file);
    if (bytes === undefined) {
      bytes = readFileSync(file);
      imageBytes.set(file, bytes);
    }
    return bytes;
  };
  const full = await openChangeLog(root, 'FULL');
  const normal = await openChangeLog(root, 'NORMAL');
  const out = (i: number): string => join(outDir, `t${i}`);
  const tmpFile = (): string => join(root, `w-${randomBytes(6).toString('hex')}`);
  const chunks = async (f: string): Promise<Buffer[]> => {
    const data = await readFile(f);
    const list: Buffer[] = [];
    for (let o = 0; o < data.length; o += 65536) list.push(data.subarray(o, o + 65536));
    return list;
  };
  const newId = (): string => randomBytes(32).toString('hex');

  const pieces = uploadPieces({
    server,
    blobs,
    thumbs,
    bytesOf,
    full: full.changes,
    normal: normal.changes,
    out,
    tmpFile,
    chunks,
  });

  /** Median wall ms and mean CPU ms of a piece over the kind's files (one warm-up first). */
  const measure = async (
    piece: Piece,
    kind: Kind,
  ): Promise<{ wall: number; cpu: number; serverCpu: number }> => {
    const list = files[kind];
    const warm = await piece.prepare(list[0] ?? '', 0);
    await warm.run();
    await warm.after?.();
    const walls: number[] = [];
    let cpu = 0;
    let serverCpu = 0;
    for (let i = 0; i < RUNS[kind]; i++) {
      const step = await piece.prepare(list[(i % (list.length - 1)) + 1] ?? '', i);
      globalThis.gc?.();
      const other = piece.alsoPid === undefined ? 0 : await processCpuMs(piece.alsoPid);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await step.run();
      walls.push(performance.now() - t0);
      cpu += ownCpuMs(cpu0);
      if (piece.alsoPid !== undefined) serverCpu += (await processCpuMs(piece.alsoPid)) - other;
      await step.after?.();
    }
    return {
      wall: median(walls),
      cpu: (cpu + serverCpu) / RUNS[kind],
      serverCpu: serverCpu / RUNS[kind],
    };
  };

  const results: Measured[] = [];
  for (const piece of pieces) {
    const big = await measure(piece, 'big');
    const small = await measure(piece, 'small');
    results.push({
      label: piece.label,
      wall: { big: big.wall, small: small.wall },
      cpu: { big: big.cpu, small: small.cpu },
      ...(piece.alsoPid === undefined
        ? {}
        : { serverCpu: { big: big.serverCpu, small: small.serverCpu } }),
    });
    process.stderr.write(
      `[profile] ${piece.label}: ${round(big.wall)} / ${round(small.wall)} ms wall, ${round(big.cpu)} / ${round(small.cpu)} ms CPU\n`,
    );
  }

  // In-process PictureService.upload after staging (probe + thumbs + commit + SQLite), each
  // file once (a second upload of the same bytes would be a duplicate).
  const serviceDb = await openChangeLog(join(root), 'FULL');
  const service = new PictureService({
    pictures: serviceDb.pictures,
    blobs,
    thumbs,
    changes: serviceDb.changes,
    nodeName: 'bench',
    log: pino({ level: 'silent' }),
    justStored: new Set(), // this change log's hasBlob answers true anyway
  });
  const serviceWall: Record<Kind, number> = { big: 0, small: 0 };
  const serviceCpu: Record<Kind, number> = { big: 0, small: 0 };
  for (const kind of ['big', 'small'] as const) {
    const walls: number[] = [];
    let cpu = 0;
    for (const [i, f] of files[kind].entries()) {
      const staged = await blobs.stage(createReadStream(f), 1e9);
      globalThis.gc?.();
      const cpu0 = process.cpuUsage();
      const { ms, value } = await timed(() =>
        service.upload({ username: 'admin', role: 'admin' }, staged, {
          title: 't',
          category: '',
          desc: '',
        }),
      );
      if (!value.created) throw new Error('expected a new picture');
      if (i === 0) continue; // warm-up
      walls.push(ms);
      cpu += ownCpuMs(cpu0);
    }
    serviceWall[kind] = median(walls);
    serviceCpu[kind] = cpu / walls.length;
  }
  results.push({
    label: 'PictureService.upload after stage (all)',
    wall: serviceWall,
    cpu: serviceCpu,
  });

  // Throughput for 200 KB pictures with thumbnails alone, 4 at a time (as a busy node would).
  const ceilings: Ceiling[] = [];
  const ceiling = async (label: string, fn: (f: string, i: number) => Promise<unknown>) => {
    const list = Array.from({ length: 48 }, (_, i) => files.small[i % files.small.length] ?? '');
    globalThis.gc?.();
    const cpu0 = process.cpuUsage();
    const { wallMs } = await runPool(list, 4, async (f, i) => {
      await fn(f, i);
      return 0;
    });
    ceilings.push({
      label,
      perSec: list.length / (wallMs / 1000),
      cpuMs: ownCpuMs(cpu0) / list.length,
    });
    process.stderr.write(`[profile] ceiling ${label}\n`);
  };
  await ceiling('Thumbnails.make (current, small only)', (f) =>
    thumbs.make(newId(), bytesOf(f), 'small'),
  );
  await ceiling('thumbs WebP effort 2', (f, i) => thumbsChained(f, out(i), webp(2)));
  await ceiling('thumbs WebP effort 0', (f, i) => thumbsChained(f, out(i), webp(0)));
  await ceiling('thumbs JPEG q80', (f, i) => thumbsChained(f, out(i), jpeg));
  await ceiling('thumbs 1 decode, clone() x2, JPEG q80', (f, i) => thumbsCloned(f, out(i), jpeg));
  await ceiling('small thumb only, WebP 4', (f, i) => thumbSmallOnly(f, out(i), webp(4)));
  await ceiling('probe only', (f) => probeImage(bytesOf(f)));

  await full.store.close();
  await normal.store.close();
  await serviceDb.store.close();

  printProfile(sizes, RUNS, results, ceilings);
}

await main();
