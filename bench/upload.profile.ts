/**
 * Where upload time goes (issue 2): times each piece of the upload path on its own, with the
 * same kinds of files as the upload bench, plus a few alternatives to see what they would gain.
 * Uses the real classes from src/ (BlobStore, probeImage, Thumbnails, ChangeLog) and, for the
 * HTTP + multipart piece, a Fastify server in a child process that drains the file.
 *
 *   npm run build && node --expose-gc dist/bench/upload.profile.js
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, openAsBlob, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import multipart from '@fastify/multipart';
import Fastify from 'fastify';
import sharp from 'sharp';
import type { StagedBlob } from '../src/blobs/blob-store.js';
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
import { writeBigNoiseJpeg, writeSmallPhotoJpeg } from './lib/images.js';
import { MB, formatTable, median, round, runPool, timed } from './lib/stats.js';

const SELF = fileURLToPath(import.meta.url);
const RUNS = { big: 4, small: 15 } as const;
type Kind = keyof typeof RUNS;

// ---------------------------------------------------------------------------------------------
// Child mode: an HTTP server with the app's multipart settings that only drains the bytes.

async function drainServer(): Promise<void> {
  const app = Fastify({ bodyLimit: 1024 * 1024 });
  await app.register(multipart, {
    limits: { fileSize: 200 * 1024 * 1024, files: 1, fields: 10, fieldSize: 64 * 1024, parts: 12 },
  });
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => {
    payload.on('error', done);
    payload.on('end', () => {
      done(null, undefined);
    });
    payload.resume();
  });
  app.post('/multipart', async (request) => {
    let bytes = 0;
    for await (const part of request.parts()) {
      if (part.type === 'file')
        for await (const chunk of part.file) bytes += (chunk as Buffer).length;
    }
    return { bytes };
  });
  app.post('/raw', async () => ({ ok: true }));
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`${address}\n`);
}

// ---------------------------------------------------------------------------------------------
// Thumbnail alternatives (the current code is Thumbnails.make in src/pictures/images.ts).

const LIMIT = { limitInputPixels: 268_402_689 } as const;
const box = (edge: number) =>
  ({ width: edge, height: edge, fit: 'inside', withoutEnlargement: true }) as const;

type Encode = (s: sharp.Sharp) => sharp.Sharp;
const webp =
  (effort: number): Encode =>
  (s) =>
    s.webp({ quality: 80, effort });
const jpeg: Encode = (s) => s.jpeg({ quality: 80 });

/** Current shape (large from the source, small from the large file) with another encoder. */
async function thumbsChained(source: string, out: string, encode: Encode): Promise<void> {
  await encode(
    sharp(source, { failOn: 'truncated', ...LIMIT })
      .rotate()
      .resize(box(1600)),
  ).toFile(`${out}.large`);
  await encode(
    sharp(`${out}.large`, { failOn: 'truncated', ...LIMIT })
      .rotate()
      .resize(box(320)),
  ).toFile(`${out}.small`);
}

/** One decode of the source, both sizes encoded from it in parallel (sharp clone()). */
async function thumbsCloned(source: string, out: string, encode: Encode): Promise<void> {
  const base = sharp(source, { failOn: 'truncated', ...LIMIT }).rotate();
  await Promise.all([
    encode(base.clone().resize(box(1600))).toFile(`${out}.large`),
    encode(base.clone().resize(box(320))).toFile(`${out}.small`),
  ]);
}

/** Only the small one, straight from the source (JPEG shrink-on-load applies). */
async function thumbSmallOnly(source: string, out: string, encode: Encode): Promise<void> {
  await encode(
    sharp(source, { failOn: 'truncated', ...LIMIT })
      .rotate()
      .resize(box(320)),
  ).toFile(`${out}.small`);
}

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

function createOp(size: number): Parameters<ChangeLog['commit']>[0] {
  return {
    kind: 'picture.create',
    id: randomBytes(32).toString('hex'),
    contentType: 'image/jpeg',
    size,
    width: 1280,
    height: 960,
    owner: 'admin',
    originName: 'bench',
    createdAt: Date.now(),
    title: 'a picture',
    category: '',
    desc: '',
  };
}

async function startDrainServer(): Promise<{ url: string; pid: number; stop: () => void }> {
  const child = spawn(process.execPath, [SELF, '--drain-server'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => {
      reject(new Error(`drain server exited (${String(code)})`));
    });
  });
  if (child.pid === undefined) throw new Error('drain server has no pid');
  return {
    url: line.trim(),
    pid: child.pid,
    stop: () => {
      child.kill('SIGTERM');
    },
  };
}

async function postMultipart(url: string, file: string): Promise<void> {
  const form = new FormData();
  form.append('title', 'x');
  form.append('file', await openAsBlob(file, { type: 'image/jpeg' }), basename(file));
  const res = await fetch(`${url}/multipart`, { method: 'POST', body: form });
  await res.text();
  if (res.status !== 200) throw new Error(`drain server: HTTP ${res.status}`);
}

async function postRaw(url: string, file: string): Promise<void> {
  const res = await fetch(`${url}/raw`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: await openAsBlob(file),
  });
  await res.text();
  if (res.status !== 200) throw new Error(`drain server: HTTP ${res.status}`);
}

/** CPU ms of another process so far (Linux /proc, 10 ms resolution). */
async function processCpuMs(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function ownCpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

/** One timed action, with optional untimed set-up before (prepare) and clean-up after. */
interface Step {
  readonly run: () => Promise<unknown>;
  readonly after?: () => Promise<unknown>;
}

interface Piece {
  readonly label: string;
  readonly prepare: (file: string, i: number) => Step | Promise<Step>;
  /** Also count the CPU of this process (the drain server). */
  readonly alsoPid?: number;
}

interface Measured {
  readonly label: string;
  readonly wall: Record<Kind, number>;
  readonly cpu: Record<Kind, number>;
  /** Of `cpu`, the part used by the drain server (the rest is the fetch client). */
  readonly serverCpu?: Record<Kind, number>;
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
  const thumbStep = (fn: () => Promise<unknown>): Step => ({ run: fn });

  const pieces: Piece[] = [
    {
      label: 'HTTP + multipart parse, file drained *',
      prepare: (f) => ({ run: () => postMultipart(server.url, f) }),
      alsoPid: server.pid,
    },
    {
      label: 'HTTP raw body (no multipart), drained *',
      prepare: (f) => ({ run: () => postRaw(server.url, f) }),
      alsoPid: server.pid,
    },
    {
      label: 'SHA-256, 64 KiB chunks from memory',
      prepare: async (f) => {
        const list = await chunks(f);
        return {
          run: () => {
            const hash = createHash('sha256');
            for (const c of list) hash.update(c);
            hash.digest();
            return Promise.resolve();
          },
        };
      },
    },
    {
      label: 'write 64 KiB chunks from memory, no fsync',
      prepare: async (f) => {
        const list = await chunks(f);
        const tmp = tmpFile();
        return {
          run: () => pipeline(Readable.from(list), createWriteStream(tmp, { flags: 'wx' })),
          after: () => rm(tmp),
        };
      },
    },
    {
      label: 'write 64 KiB chunks from memory + fsync',
      prepare: async (f) => {
        const list = await chunks(f);
        const tmp = tmpFile();
        return {
          run: () =>
            pipeline(Readable.from(list), createWriteStream(tmp, { flags: 'wx', flush: true })),
          after: () => rm(tmp),
        };
      },
    },
    {
      label: 'BlobStore.stage (file stream, hash, write, fsync)',
      prepare: (f) => {
        let staged: StagedBlob | null = null;
        return {
          run: async () => {
            staged = await blobs.stage(createReadStream(f), 1e9);
          },
          after: async () => {
            if (staged) await blobs.discard(staged);
          },
        };
      },
    },
    {
      label: 'probeImage (sharp metadata)',
      prepare: (f) => ({ run: () => probeImage(bytesOf(f)) }),
    },
    {
      label: 'Thumbnails.make (small, at upload)',
      prepare: (f) => thumbStep(() => thumbs.make(newId(), bytesOf(f), 'small')),
    },
    {
      label: '  part: decode whole source only',
      prepare: (f) =>
        thumbStep(() =>
          sharp(f, { failOn: 'truncated', ...LIMIT })
            .raw()
            .toBuffer(),
        ),
    },
    {
      label: '  part: large 1600 WebP from source',
      prepare: (f, i) =>
        thumbStep(() =>
          webp(4)(
            sharp(f, { failOn: 'truncated', ...LIMIT })
              .rotate()
              .resize(box(1600)),
          ).toFile(`${out(i)}.large`),
        ),
    },
    {
      label: '  part: small 320 WebP from the large',
      prepare: async (f, i) => {
        await webp(4)(sharp(f).rotate().resize(box(1600))).toFile(`${out(i)}.l`);
        return thumbStep(() =>
          webp(4)(
            sharp(`${out(i)}.l`)
              .rotate()
              .resize(box(320)),
          ).toFile(`${out(i)}.s`),
        );
      },
    },
    {
      label: 'BlobStore.commit (rename + dir fsync)',
      prepare: async (f) => {
        const staged = await blobs.stage(createReadStream(f), 1e9);
        return { run: () => blobs.commit(staged), after: () => blobs.trash(staged.hash) };
      },
    },
    {
      label: 'SQLite picture.create (synchronous=FULL)',
      prepare: () => ({
        run: async () => {
          await full.changes.commit(createOp(1));
        },
      }),
    },
    {
      label: 'alt: SQLite synchronous=NORMAL',
      prepare: () => ({
        run: async () => {
          await normal.changes.commit(createOp(1));
        },
      }),
    },
    {
      label: 'alt: thumbs WebP effort 2',
      prepare: (f, i) => thumbStep(() => thumbsChained(f, out(i), webp(2))),
    },
    {
      label: 'alt: thumbs WebP effort 0',
      prepare: (f, i) => thumbStep(() => thumbsChained(f, out(i), webp(0))),
    },
    {
      label: 'alt: thumbs JPEG q80',
      prepare: (f, i) => thumbStep(() => thumbsChained(f, out(i), jpeg)),
    },
    {
      label: 'alt: thumbs 1 decode, clone() x2, WebP 4',
      prepare: (f, i) => thumbStep(() => thumbsCloned(f, out(i), webp(4))),
    },
    {
      label: 'alt: thumbs 1 decode, clone() x2, WebP 0',
      prepare: (f, i) => thumbStep(() => thumbsCloned(f, out(i), webp(0))),
    },
    {
      label: 'alt: thumbs 1 decode, clone() x2, JPEG q80',
      prepare: (f, i) => thumbStep(() => thumbsCloned(f, out(i), jpeg)),
    },
    {
      label: 'alt: small thumb only, from source, WebP 4',
      prepare: (f, i) => thumbStep(() => thumbSmallOnly(f, out(i), webp(4))),
    },
    {
      label: 'alt: Thumbnails.make, sharp.concurrency(2)',
      prepare: (f) =>
        thumbStep(async () => {
          const before = sharp.concurrency();
          sharp.concurrency(2);
          try {
            await thumbs.make(newId(), bytesOf(f), 'small');
          } finally {
            sharp.concurrency(before);
          }
        }),
    },
  ];

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
  const ceilings: { label: string; perSec: number; cpuMs: number }[] = [];
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

  console.log('');
  console.log(
    `Upload profile: 20 MB = ${round(sizes.big / MB, 1)} MB noise JPEG 2620x2620 q100; 200 KB = ${round(sizes.small / 1000, 0)} KB photo-like JPEG 1280x960 q85.`,
  );
  console.log(
    `Median wall ms and mean CPU ms (all threads of this process; * = plus the drain server's) over ${RUNS.big} / ${RUNS.small} runs. sharp.concurrency() = ${sharp.concurrency()}.`,
  );
  console.log('');
  console.log(
    formatTable(
      ['piece', '20 MB wall', '20 MB CPU', '200 KB wall', '200 KB CPU', ''],
      results.map((r) => [
        r.label,
        `${round(r.wall.big, 1)}`,
        `${round(r.cpu.big, 1)}`,
        `${round(r.wall.small, 1)}`,
        `${round(r.cpu.small, 1)}`,
        '',
      ]),
    ),
  );
  for (const r of results) {
    if (r.serverCpu === undefined) continue;
    console.log(
      `* ${r.label.replace(' *', '')}: drain server ${round(r.serverCpu.big, 0)} / ${round(r.serverCpu.small, 1)} ms CPU, fetch client ${round(r.cpu.big - r.serverCpu.big, 0)} / ${round(r.cpu.small - r.serverCpu.small, 1)} ms CPU`,
    );
  }
  console.log('');
  console.log(
    'Thumbnails alone for 200 KB pictures, 48 done 4 at a time: measured pictures/s, CPU ms per picture, and the CPU-bound ceiling on 2 idle cores (2000 / CPU ms):',
  );
  console.log(
    formatTable(
      ['work per picture', 'pictures/s', 'CPU ms', 'ceiling/s', ''],
      ceilings.map((c) => [
        c.label,
        `${round(c.perSec, 1)}`,
        `${round(c.cpuMs, 1)}`,
        `${round(2000 / c.cpuMs, 0)}`,
        '',
      ]),
    ),
  );
  console.log(
    JSON.stringify({
      profile: 'upload',
      pieces: results.map((r) => ({
        piece: r.label.trim(),
        bigWallMs: round(r.wall.big, 1),
        bigCpuMs: round(r.cpu.big, 1),
        smallWallMs: round(r.wall.small, 1),
        smallCpuMs: round(r.cpu.small, 1),
        ...(r.serverCpu === undefined
          ? {}
          : {
              bigServerCpuMs: round(r.serverCpu.big, 1),
              smallServerCpuMs: round(r.serverCpu.small, 1),
            }),
      })),
      ceilings: ceilings.map((c) => ({
        work: c.label,
        picturesPerSec: round(c.perSec, 1),
        cpuMs: round(c.cpuMs, 1),
      })),
    }),
  );
}

if (process.argv.includes('--drain-server')) {
  await drainServer();
} else {
  await main();
}
