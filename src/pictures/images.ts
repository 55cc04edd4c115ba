/**
 * What Mosaic knows about image files, all through sharp (libvips): whether some bytes are an
 * image we accept (by content, never by name), its dimensions, and thumbnails. Images come in as
 * bytes read through the blob store port; thumbnails are kept in its named-object area.
 */
import type { Readable } from 'node:stream';
import sharp from 'sharp';
import type { BlobStore } from '../blobs/blob-store.js';
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
export async function probeImage(bytes: Buffer): Promise<ImageInfo> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: MAX_PIXELS }).metadata();
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

/**
 * Thumbnails, `<id>.<size>.webp` in the blob store's named-object area (files under
 * <data>/thumbs on the local store, objects on S3), made on demand and cached.
 */
export class Thumbnails {
  constructor(private readonly store: BlobStore) {}

  private name(id: string, size: ThumbSize): string {
    return `${id}.${size}.webp`;
  }

  /**
   * Makes one thumbnail from the image's bytes. This decodes the whole image, so a truncated or
   * corrupt one fails here with InvalidImageError: the upload path makes the small one before
   * accepting a picture (the large one, four times the work, is made afterwards or on demand —
   * see docs/benchmarks.md for why).
   */
  async make(id: string, source: Buffer, size: ThumbSize): Promise<void> {
    let webp: Buffer;
    try {
      webp = await resize(source, THUMB_EDGE[size]);
    } catch (error) {
      throw new InvalidImageError(
        `The image could not be decoded (truncated or corrupt): ${(error as Error).message}`,
        error,
      );
    }
    await this.store.putNamed(this.name(id, size), webp);
  }

  async has(id: string, size: ThumbSize): Promise<boolean> {
    return this.store.hasNamed(this.name(id, size));
  }

  /** The thumbnail's bytes, or null when it has not been made. */
  async read(id: string, size: ThumbSize): Promise<Readable | null> {
    return this.store.readNamed(this.name(id, size));
  }

  async remove(id: string): Promise<void> {
    await Promise.all(THUMB_SIZES.map((size) => this.store.removeNamed(this.name(id, size))));
  }
}

async function resize(input: Buffer, edge: number): Promise<Buffer> {
  return sharp(input, { failOn: 'truncated', limitInputPixels: MAX_PIXELS })
    .rotate() // apply EXIF orientation
    .resize({ width: edge, height: edge, fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80 })
    .toBuffer();
}
