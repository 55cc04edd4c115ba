/**
 * Builds montage images with sharp: version v is photos 1..v laid out by core/montage-layout.ts,
 * each photo scaled to cover its cell (EXIF rotation applied), on a white background, JPEG.
 *
 * Determinism: the inputs (the photos, in commit order) and every setting are the same at every
 * site, so every site builds the same image. Each photo's cell is decoded once and kept as raw
 * pixels in `<dir>/tiles/<hash>.raw`: version v + 1 then costs one decode, not v + 1, and a
 * tile read back is byte for byte what a fresh decode gives. Montages are cached as
 * `<dir>/<event>/<v>.jpg`.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { assertHash } from '../blobs/blob-store.js';
import { decodeOptions, newDecodeLimiter, type DecodeLimiter } from '../pictures/images.js';
import { loadSharp } from '../pictures/sharp-lib.js';
import { CELL_HEIGHT, CELL_WIDTH, montageLayout } from './core/montage-layout.js';

/** A photo of the montage: its hash (the tile cache key) and how to read its bytes. */
export interface MontagePhoto {
  readonly hash: string;
  read(): Promise<Buffer>;
}

const CHANNELS = 3 as const;
const TILE_BYTES = CELL_WIDTH * CELL_HEIGHT * CHANNELS;

export class MontageBuilder {
  private readonly building = new Map<string, Promise<string>>();

  /** `decodes`: the node's image decoding gate, shared with thumbnails (pictures/images.ts). */
  constructor(
    private readonly dir: string,
    private readonly decodes: DecodeLimiter = newDecodeLimiter(),
  ) {}

  path(eventId: string, version: number): string {
    return join(this.dir, eventId, `${version}.jpg`);
  }

  /** The montage file for this version, built once (concurrent callers share the build). */
  async get(eventId: string, version: number, photos: readonly MontagePhoto[]): Promise<string> {
    const target = this.path(eventId, version);
    if (await exists(target)) return target;
    const key = `${eventId}/${version}`;
    let pending = this.building.get(key);
    if (pending === undefined) {
      pending = buildMontage(photos, target, join(this.dir, 'tiles'), this.decodes).finally(() =>
        this.building.delete(key),
      );
      this.building.set(key, pending);
    }
    return pending;
  }
}

/**
 * Writes the montage of `photos` (in order) to `target`, atomically. With `tileDir`, cells
 * are cached there by the photo's SHA-256.
 */
export async function buildMontage(
  photos: readonly MontagePhoto[],
  target: string,
  tileDir?: string,
  decodes: DecodeLimiter = newDecodeLimiter(),
): Promise<string> {
  const layout = montageLayout(photos.length);
  const tiles = await Promise.all(
    layout.cells.map(async (cell) => ({
      input: await tile(photoAt(photos, cell.index), tileDir, decodes),
      raw: { width: CELL_WIDTH, height: CELL_HEIGHT, channels: CHANNELS },
      left: cell.left,
      top: cell.top,
    })),
  );
  await mkdir(join(target, '..'), { recursive: true });
  const tmp = `${target}.${randomUUID()}.tmp`;
  const sharp = await loadSharp();
  try {
    // The composite takes a decode slot of its own (after the tiles: never while holding one).
    await decodes.run(() =>
      sharp({
        create: {
          width: layout.width,
          height: layout.height,
          channels: CHANNELS,
          background: { r: 255, g: 255, b: 255 },
        },
      })
        .composite(tiles)
        .jpeg({ quality: 85 })
        .toFile(tmp),
    );
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  return target;
}

/** One photo scaled to cover a cell, as raw RGB pixels (cached when `tileDir` is given). */
function photoAt(photos: readonly MontagePhoto[], index: number): MontagePhoto {
  const photo = photos[index];
  if (photo === undefined) throw new Error(`The montage has no photo ${index + 1}`);
  return photo;
}

async function tile(
  photo: MontagePhoto,
  tileDir: string | undefined,
  decodes: DecodeLimiter,
): Promise<Buffer> {
  if (tileDir !== undefined) assertHash(photo.hash); // it names a cache file
  const cached = tileDir === undefined ? null : join(tileDir, `${photo.hash}.raw`);
  if (cached !== null) {
    const hit = await readFile(cached).catch(() => null);
    if (hit?.length === TILE_BYTES) return hit;
  }
  const bytes = await photo.read();
  const sharp = await loadSharp();
  const pixels = await decodes.run(async () =>
    sharp(bytes, { ...(await decodeOptions(bytes)), failOn: 'none' })
      .rotate()
      .resize({ width: CELL_WIDTH, height: CELL_HEIGHT, fit: 'cover', position: 'centre' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer(),
  );
  if (cached !== null && tileDir !== undefined) {
    await mkdir(tileDir, { recursive: true });
    const tmp = `${cached}.${randomUUID()}.tmp`;
    await writeFile(tmp, pixels);
    await rename(tmp, cached);
  }
  return pixels;
}

async function exists(file: string): Promise<boolean> {
  return (await stat(file).catch(() => null)) !== null;
}
