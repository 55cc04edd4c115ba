/**
 * The pieces of the upload path the upload profile times one by one, and the alternatives it
 * times beside them (each a Step prepared per file, untimed set-up and clean-up around it).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import sharp from 'sharp';
import type { StagedBlob } from '../../src/blobs/blob-store.js';
import type { LocalBlobStore } from '../../src/blobs/local-blob-store.js';
import type { ChangeLog } from '../../src/oplog/change-log.js';
import { type Thumbnails, probeImage } from '../../src/pictures/images.js';
import { postMultipart, postRaw } from './drain-server.js';
import {
  LIMIT,
  box,
  jpeg,
  thumbSmallOnly,
  thumbsChained,
  thumbsCloned,
  webp,
} from './thumb-variants.js';

/** One timed action, with optional untimed set-up before (prepare) and clean-up after. */
export interface Step {
  readonly run: () => Promise<unknown>;
  readonly after?: () => Promise<unknown>;
}

export interface Piece {
  readonly label: string;
  readonly prepare: (file: string, i: number) => Step | Promise<Step>;
  /** Also count the CPU of this process (the drain server). */
  readonly alsoPid?: number;
}

export interface PieceContext {
  readonly server: { readonly url: string; readonly pid: number };
  readonly blobs: LocalBlobStore;
  readonly thumbs: Thumbnails;
  /** An image's bytes, read once. */
  readonly bytesOf: (file: string) => Buffer;
  /** Change logs on SQLite with synchronous=FULL and NORMAL. */
  readonly full: ChangeLog;
  readonly normal: ChangeLog;
  /** An output path for run `i`. */
  readonly out: (i: number) => string;
  readonly tmpFile: () => string;
  /** A file's bytes in 64 KiB chunks. */
  readonly chunks: (file: string) => Promise<Buffer[]>;
}

export function createOp(size: number): Parameters<ChangeLog['commit']>[0] {
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

export function uploadPieces(ctx: PieceContext): Piece[] {
  const { server, blobs, thumbs, bytesOf, full, normal, out, tmpFile, chunks } = ctx;
  const newId = (): string => randomBytes(32).toString('hex');
  const thumbStep = (fn: () => Promise<unknown>): Step => ({ run: fn });
  return [
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
          await full.commit(createOp(1));
        },
      }),
    },
    {
      label: 'alt: SQLite synchronous=NORMAL',
      prepare: () => ({
        run: async () => {
          await normal.commit(createOp(1));
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
}
