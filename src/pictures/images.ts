/**
 * What Mosaic knows about image files, all through sharp (libvips): whether a file is an image
 * we accept (by content, never by name), its dimensions, and thumbnails.
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { InvalidImageError, NotAnImageError } from '../core/errors.js';
import type { ImageType } from '../oplog/op.js';

export interface ImageInfo {
  readonly contentType: ImageType;
  readonly width: number;
  readonly height: number;
}

export type ThumbSize = 'small' | 'large';
export const THUMB_SIZES: readonly ThumbSize[] = ['small', 'large'];
const THUMB_EDGE: Record<ThumbSize, number> = { small: 320, large: 1600 };

/** Reject images whose header lies about a gigantic size (decompression bombs). */
const MAX_PIXELS = 268_402_689; // sharp's default, about 16384 x 16384

function contentTypeOf(meta: sharp.Metadata): ImageType | null {
  switch (meta.format) {
    case 'jpeg':
      return 'image/jpeg';
    case 'png':
      return 'image/png';
    case 'webp':
      return 'image/webp';
    case 'gif':
      return 'image/gif';
    case 'heif':
      return meta.compression === 'av1' ? 'image/avif' : 'image/heic';
    default:
      return null;
  }
}

/** Reads the header: the type (by content) and the displayed size (EXIF rotation applied). */
export async function probeImage(file: string): Promise<ImageInfo> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(file, { limitInputPixels: MAX_PIXELS }).metadata();
  } catch {
    throw new NotAnImageError();
  }
  const contentType = contentTypeOf(meta);
  if (contentType === null || !meta.width || !meta.height) throw new NotAnImageError();
  const rotated = (meta.orientation ?? 1) >= 5;
  return {
    contentType,
    width: rotated ? meta.height : meta.width,
    height: rotated ? meta.width : meta.height,
  };
}

/** Thumbnails on disk, `<dir>/<id>.<size>.webp`, made on demand and cached. */
export class Thumbnails {
  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  path(id: string, size: ThumbSize): string {
    return join(this.dir, `${id}.${size}.webp`);
  }

  /**
   * Makes one thumbnail from the source. This decodes the whole source, so a truncated or
   * corrupt image fails here with InvalidImageError: the upload path makes the small one before
   * accepting a picture (the large one, four times the work, is made afterwards or on demand —
   * see docs/benchmarks.md for why).
   */
  async make(id: string, source: string, size: ThumbSize): Promise<void> {
    const target = this.path(id, size);
    const tmp = `${target}.${randomUUID()}.tmp`;
    try {
      await resize(source, THUMB_EDGE[size], tmp);
      await rename(tmp, target);
    } catch (error) {
      await rm(tmp, { force: true });
      throw new InvalidImageError(
        `The image could not be decoded (truncated or corrupt): ${(error as Error).message}`,
        error,
      );
    }
  }

  async has(id: string, size: ThumbSize): Promise<boolean> {
    try {
      await access(this.path(id, size));
      return true;
    } catch {
      return false;
    }
  }

  read(file: string): ReadStream {
    return createReadStream(file);
  }

  async remove(id: string): Promise<void> {
    await Promise.all(THUMB_SIZES.map((size) => rm(this.path(id, size), { force: true })));
  }
}

async function resize(input: string, edge: number, output: string): Promise<void> {
  await sharp(input, { failOn: 'truncated', limitInputPixels: MAX_PIXELS })
    .rotate() // apply EXIF orientation
    .resize({ width: edge, height: edge, fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80 })
    .toFile(output);
}
