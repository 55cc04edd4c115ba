/**
 * What Mosaic knows about image files, all through sharp (libvips): whether some bytes are an
 * image we accept (by content, never by name), its dimensions, and thumbnails. Images come in as
 * bytes read through the blob store port; thumbnails are kept in its named-object area.
 *
 * Decoding is the costly part (a 100-megapixel PNG takes about 0.4 CPU-s and 75 MB), so it is
 * bounded three ways (issue 12, row 5: eight parallel uploads of 16000 x 16000 PNGs took a
 * node from 113 to 915 MB):
 * - a pixel limit read from the header before anything is decoded (`probeImage`, a few KB
 *   read): MAX_PIXELS, or MAX_JPEG_PIXELS for JPEG, which libvips decodes at 1/2, 1/4 or 1/8
 *   scale when it makes a thumbnail ("shrink-on-load"), so a 200-megapixel phone photo costs
 *   no more than a 100-megapixel PNG; the same limit is passed to every decode
 *   (`limitInputPixels`), for bytes that never went through an upload (replicated pictures);
 * - one `DecodeLimiter` per node, shared by thumbnails (at upload, on demand, and for
 *   replicated pictures) and event montages: at most `decodeSlots()` images are decoded at
 *   once, the rest wait their turn, so memory stays near slots x one decode;
 * - sharp's operation cache off and one libvips thread per image (./sharp-lib.ts, which also
 *   loads sharp at its first use, not at start).
 *
 * HEIC (HEVC inside HEIF, what iPhones write): sharp's prebuilt libvips reads its header and
 * metadata but cannot decode HEVC (a patent-encumbered codec it leaves out). Its pixels are
 * decoded by libheif compiled to WebAssembly (the `heic-decode` package, which ships it), then
 * handed to sharp as raw RGBA. libheif applies the HEIF's own rotation and mirroring while
 * decoding, so no EXIF rotation is applied after it. Slower than libvips (1.5-2.4 s for the
 * small thumbnail of a 12-megapixel photo, measured here) and held whole in memory (4 bytes a
 * pixel), hence its lower pixel limit. libheif's WebAssembly heap keeps what it grew to (+190
 * MB after a 12-megapixel decode), so it runs in a worker thread that ends when idle.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import type sharp from 'sharp';
import type { BlobStore, LocalBytes } from '../blobs/blob-store.js';
import {
  DamagedImageError,
  InvalidImageError,
  NotAnImageError,
  NotFoundError,
} from '../core/errors.js';
import { Limiter } from '../core/limiter.js';
import { readAll } from '../core/streams.js';
import type { ImageType } from '../oplog/op.js';
import { jpegBlocks } from './core/jpeg-blocks.js';
import type { EmbeddedMetadata } from './facts-reader.js';
import { HeicDecoder } from './heic-decoder.js';
import { loadSharp } from './sharp-lib.js';

export interface ImageInfo {
  readonly contentType: ImageType;
  readonly width: number;
  readonly height: number;
  /** The EXIF and XMP blocks found in the header (photo facts are read from them). */
  readonly embedded: EmbeddedMetadata;
}

export type ThumbSize = 'small' | 'large';
export const THUMB_SIZES: readonly ThumbSize[] = ['small', 'large'];
const THUMB_EDGE: Record<ThumbSize, number> = { small: 320, large: 1600 };

/**
 * The most pixels (width x height, from the header) an image may have: 100 megapixels, e.g.
 * 10000 x 10000 or a 20000 x 5000 panorama. sharp's default (268 Mpx) lets one 1 MB PNG cost
 * 1 GB to decode in full.
 */
export const MAX_PIXELS = 100_000_000;
/** JPEG only: shrink-on-load makes it cheaper per pixel; covers 200 Mpx phone cameras. */
export const MAX_JPEG_PIXELS = 210_000_000;
/** HEVC HEIC: decoded whole to RGBA (200 MB at the limit); covers 48 Mpx phone cameras. */
export const MAX_HEIC_PIXELS = 50_000_000;

function pixelLimit(format: string | undefined, compression?: string): number {
  if (format === 'heif' && compression === 'hevc') return MAX_HEIC_PIXELS;
  return format === 'jpeg' ? MAX_JPEG_PIXELS : MAX_PIXELS;
}

/**
 * At most this many images are decoded at once: 2 (1 on a single core), each on one libvips
 * thread (see configureSharp). Peak memory is about this many decodes (75 MB each at the
 * limit); on the small machines Mosaic targets memory runs out before cores do, so more cores
 * do not raise it.
 */
export function decodeSlots(): number {
  return Math.max(1, Math.min(2, availableParallelism()));
}

/** The node's one gate for image decoding (thumbnails and montages share it). */
export type DecodeLimiter = Limiter;

export function newDecodeLimiter(slots = decodeSlots()): DecodeLimiter {
  return new Limiter(slots);
}

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
  const sharp = await loadSharp();
  let meta: sharp.Metadata;
  try {
    // Header only: nothing is decoded, so no pixel limit here; it is checked just below.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw hasImageSignature(bytes) ? new DamagedImageError() : new NotAnImageError();
  }
  const contentType = contentTypeOf(meta);
  if (contentType === null || !meta.width || !meta.height) throw new NotAnImageError();
  assertPixels(meta.width, meta.height, meta.format, meta.compression);
  // HEIF's rotation is in its own boxes (libvips reports the size after them), not in EXIF.
  const rotated = meta.format !== 'heif' && (meta.orientation ?? 1) >= 5;
  return {
    contentType,
    width: rotated ? meta.height : meta.width,
    height: rotated ? meta.width : meta.height,
    // A JPEG's blocks as factsOfImage finds them at the nodes it replicates to (same facts).
    embedded: (meta.format === 'jpeg' ? jpegBlocks(bytes) : null) ?? {
      exif: meta.exif,
      xmp: meta.xmp,
      orientation: meta.orientation,
    },
  };
}

/**
 * Whether the bytes start as one of the accepted types does (its magic number): such a file
 * that libvips cannot read is damaged, not of another type.
 */
export function hasImageSignature(bytes: Buffer): boolean {
  const ascii = (from: number, to: number) => bytes.subarray(from, to).toString('latin1');
  return (
    (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) || // JPEG
    ascii(0, 8) === '\x89PNG\r\n\x1a\n' ||
    ascii(0, 4) === 'GIF8' ||
    (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') ||
    ascii(4, 8) === 'ftyp' // HEIC, AVIF
  );
}

/** Refuses (422) an image whose header declares more pixels than its format's limit. */
export function assertPixels(
  width: number,
  height: number,
  format: string | undefined,
  compression?: string,
): void {
  const limit = pixelLimit(format, compression);
  if (width * height <= limit) return;
  const mpx = (n: number): string => `${Math.round(n / 1_000_000)} megapixels`;
  throw new InvalidImageError(
    `The image is ${width} x ${height} pixels (${mpx(width * height)}); ` +
      `this node accepts at most ${mpx(limit)}${limit === MAX_PIXELS ? '' : ` for ${format === 'jpeg' ? 'JPEG' : 'HEIC'}`}.`,
  );
}

/**
 * Options for every decode of an image whose format is not known yet: the header is read first
 * (cheap), an image over its format's limit refused (422), and the limit passed to libvips
 * too, so a decode never starts above it.
 */
export async function decodeOptions(input: Buffer | string): Promise<sharp.SharpOptions> {
  const sharp = await loadSharp();
  const meta = await sharp(input, { limitInputPixels: false }).metadata();
  assertPixels(meta.width, meta.height, meta.format, meta.compression);
  return { limitInputPixels: pixelLimit(meta.format), sequentialRead: true };
}

/**
 * Thumbnails, `<id>.<size>.webp` in the blob store's named-object area (files under
 * <data>/thumbs on the local store, objects on S3), made on demand and cached.
 */
export class Thumbnails {
  /** HEIC pixels: a worker thread started on the first HEIC, ended when idle. */
  private readonly heic = new HeicDecoder();

  constructor(
    private readonly store: BlobStore,
    private readonly decodes: DecodeLimiter = newDecodeLimiter(),
  ) {}

  /** Ends the HEIC decoder's thread, if one runs. */
  close(): Promise<void> {
    return this.heic.close();
  }

  private name(id: string, size: ThumbSize): string {
    return `${id}.${size}.webp`;
  }

  /**
   * Makes one thumbnail from the image's bytes: in a buffer, or in a local file that libvips
   * reads itself (LocalBytes: no copy of a 20 MB upload in this process). This decodes the whole
   * image, so a truncated or corrupt one fails here with InvalidImageError: the upload path makes
   * the small one before accepting a picture (the large one, four times the work, is made
   * afterwards or on demand — see docs/benchmarks.md for why).
   */
  async make(id: string, source: Buffer | LocalBytes, size: ThumbSize): Promise<void> {
    const input = Buffer.isBuffer(source) ? source : 'file' in source ? source.file : source.buffer;
    let webp: Buffer;
    try {
      webp = await this.decodes.run(() => resize(input, THUMB_EDGE[size], this.heic));
    } catch (error) {
      if (error instanceof InvalidImageError) throw error;
      // libvips' message may name server files ("Input file is missing: /tmp/..."): it stays
      // in the cause, for the log, and never reaches the client.
      throw new InvalidImageError('The image could not be decoded (truncated or corrupt).', error);
    }
    await this.store.putNamed(this.name(id, size), webp);
  }

  /**
   * Makes a stored blob's thumbnail: from its local file when the store has one (libvips reads
   * it; nothing is copied into this process), else from its bytes read whole. A file trashed
   * between the two is not a bad image: absent bytes say NotFound, as a read would.
   */
  async makeFromStore(id: string, size: ThumbSize): Promise<void> {
    const local = await this.store.localBytes(id);
    if (local === null) {
      await this.make(id, await readAll(await this.store.read(id)), size);
      return;
    }
    try {
      await this.make(id, local, size);
    } catch (error) {
      if (!(await this.store.has(id))) throw new NotFoundError('Blob');
      throw error;
    }
  }

  async has(id: string, size: ThumbSize): Promise<boolean> {
    return this.store.hasNamed(this.name(id, size));
  }

  /** The thumbnail's bytes, or null when it has not been made. */
  async read(id: string, size: ThumbSize): Promise<Readable | null> {
    return this.store.readNamed(this.name(id, size));
  }

  async remove(id: string, sizes: readonly ThumbSize[] = THUMB_SIZES): Promise<void> {
    await Promise.all(sizes.map((size) => this.store.removeNamed(this.name(id, size))));
  }
}

/** `input`: the bytes, or the path of a local file holding them. */
async function resize(input: Buffer | string, edge: number, heic: HeicDecoder): Promise<Buffer> {
  const sharp = await loadSharp();
  const meta = await sharp(input, { limitInputPixels: false }).metadata();
  assertPixels(meta.width, meta.height, meta.format, meta.compression);
  const image =
    meta.format === 'heif' && meta.compression === 'hevc'
      ? // libheif (WebAssembly) takes bytes only.
        await decodeHeic(typeof input === 'string' ? await readFile(input) : input, heic)
      : sharp(input, {
          limitInputPixels: pixelLimit(meta.format),
          sequentialRead: true,
          failOn: 'truncated',
        }).rotate(); // apply EXIF orientation
  return image
    .resize({ width: edge, height: edge, fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80 })
    .toBuffer();
}

/** An HEVC HEIC's primary image, decoded by libheif (WebAssembly), as a sharp pipeline. */
async function decodeHeic(input: Buffer, heic: HeicDecoder): Promise<sharp.Sharp> {
  const { width, height, rgba } = await heic.decode(input);
  const sharp = await loadSharp();
  return sharp(rgba, { raw: { width, height, channels: 4 } });
}
