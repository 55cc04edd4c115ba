/**
 * Reads photo facts from an image's embedded metadata. libvips (sharp's `metadata()`, which the
 * upload's probe already runs on the file's head) finds the EXIF and XMP blocks in every format
 * Mosaic accepts, HEIC included, without decoding pixels; exifr then reads the EXIF block's
 * tags (a TIFF structure) and ./core/photo-facts.ts turns them into facts. Costs about 0.1 ms
 * for a phone photo's EXIF. A JPEG's blocks are found without libvips (./core/jpeg-blocks.ts,
 * the same blocks by the same rule), libvips being asked only when that walk gives up.
 */
import type sharp from 'sharp';
import { jpegBlocks } from './core/jpeg-blocks.js';
import { factsFromTags, NO_FACTS, type PhotoFacts, type RawTags } from './core/photo-facts.js';
import { loadSharp } from './sharp-lib.js';

/** exifr, loaded at the first EXIF block read (not at the node's start). */
type ExifrParse = (typeof import('exifr'))['parse'];
let exifrLoading: Promise<ExifrParse> | undefined;
function loadExifr(): Promise<ExifrParse> {
  exifrLoading ??= import('exifr').then((m) => m.default.parse.bind(m.default));
  return exifrLoading;
}

/** The metadata blocks sharp reports for an image. */
export interface EmbeddedMetadata {
  readonly exif?: Buffer | undefined;
  readonly xmp?: Buffer | undefined;
  readonly orientation?: number | undefined;
}

/** The EXIF tag groups read; thumbnails (IFD1), maker notes, ICC and IPTC are skipped. */
const EXIFR_OPTIONS = {
  tiff: true,
  exif: true,
  gps: true,
  ifd1: false,
  interop: false,
  xmp: false,
  icc: false,
  iptc: false,
  jfif: false,
  ihdr: false,
  makerNote: false,
  userComment: false,
  translateKeys: true,
  translateValues: false,
  reviveValues: false,
  sanitize: true,
  mergeOutput: false,
  silentErrors: true,
};

/** Facts from sharp's metadata blocks; a missing or broken block gives no facts, never an error. */
export async function readFacts(meta: EmbeddedMetadata): Promise<PhotoFacts> {
  const tags: { -readonly [K in keyof RawTags]: RawTags[K] } = {
    orientation: meta.orientation,
    xmpDates: meta.xmp ? xmpDates(meta.xmp) : [],
  };
  const tiff = meta.exif ? tiffOf(meta.exif) : null;
  if (tiff) {
    const parse = await loadExifr();
    const parsed = (await parse(tiff, EXIFR_OPTIONS).catch(() => undefined)) as RawTags | undefined;
    tags.ifd0 = parsed?.ifd0;
    tags.exif = parsed?.exif;
    tags.gps = parsed?.gps;
  }
  const facts = factsFromTags(tags);
  return Object.values(facts).every((v) => v === null) ? NO_FACTS : facts;
}

/** Facts from a whole image (or its head): for bytes that did not come through an upload. */
export async function factsOfImage(bytes: Buffer): Promise<PhotoFacts> {
  // A replicated JPEG's facts cost no native call and do not load sharp (catch-up, issue 16).
  const jpeg = jpegBlocks(bytes);
  if (jpeg !== null) return readFacts(jpeg);
  const sharp = await loadSharp();
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    return NO_FACTS;
  }
  return readFacts(meta);
}

/** JPEG's APP1 block starts `Exif\0\0`; HEIC's and WebP's are the TIFF structure alone. */
function tiffOf(exif: Buffer): Buffer | null {
  const body = exif.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? exif.subarray(6) : exif;
  const order = body.subarray(0, 2).toString('latin1');
  return order === 'II' || order === 'MM' ? body : null;
}

const XMP_DATE =
  /(?:exif:DateTimeOriginal|photoshop:DateCreated|xmp:CreateDate)(?:="([^"]{1,40})"|>([^<]{1,40})<)/g;

/** The dates an XMP packet gives for the picture's creation, best first. */
function xmpDates(xmp: Buffer): string[] {
  const text = xmp.subarray(0, 256 * 1024).toString('utf8');
  const found: string[] = [];
  for (const m of text.matchAll(XMP_DATE)) {
    const value = m[1] ?? m[2];
    if (value) found.push(value);
  }
  return found;
}
