/**
 * Test images for the benches, made with sharp from random bytes so every file is distinct
 * (Mosaic stores by content: two equal files would be one picture).
 */
import { randomFillSync } from 'node:crypto';
import { join } from 'node:path';
import sharp from 'sharp';
import { runPool } from './stats.js';

/** Edge of the square noise JPEG: 2620² px at quality 100, 4:4:4 is about 20 MB. */
export const BIG_EDGE = 2620;

/**
 * A ~20 MB JPEG of pure RGB noise (quality 100, no chroma subsampling). Noise does not
 * compress, so this is the most bytes per pixel a JPEG gets: 6.9 Mpx, about 2.9 bytes/px.
 */
export async function writeBigNoiseJpeg(file: string, edge = BIG_EDGE): Promise<number> {
  const raw = randomFillSync(Buffer.allocUnsafe(edge * edge * 3));
  const info = await sharp(raw, { raw: { width: edge, height: edge, channels: 3 } })
    .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
    .toFile(file);
  return info.size;
}

/** Size of the photo-like JPEG: 1280 x 960 (1.2 Mpx), about 200 KB at quality 85. */
export const SMALL_WIDTH = 1280;
export const SMALL_HEIGHT = 960;

/**
 * A ~200 KB photo-like JPEG: a smooth random colour field (a 16 x 12 random image scaled up)
 * with fine grain on top, so it compresses like a photo rather than like noise.
 */
export async function writeSmallPhotoJpeg(file: string): Promise<number> {
  const w = SMALL_WIDTH;
  const h = SMALL_HEIGHT;
  const seed = randomFillSync(Buffer.allocUnsafe(16 * 12 * 3));
  const base = await sharp(seed, { raw: { width: 16, height: 12, channels: 3 } })
    .resize(w, h, { kernel: 'cubic' })
    .raw()
    .toBuffer();
  const grain = randomFillSync(Buffer.allocUnsafe(base.length));
  const out = new Uint8ClampedArray(base.length); // clamps to 0..255 on assignment
  for (let i = 0; i < base.length; i++) {
    out[i] = (base[i] ?? 0) + (((grain[i] ?? 0) * 24) >> 8) - 12;
  }
  const info = await sharp(out, { raw: { width: w, height: h, channels: 3 } })
    .jpeg({ quality: 85 })
    .toFile(file);
  return info.size;
}

/** `count` images made by `write` in `dir` as `<prefix>-0000.jpg`…, `parallel` at a time. */
export async function generate(
  dir: string,
  prefix: string,
  count: number,
  write: (file: string) => Promise<number>,
  parallel: number,
): Promise<{ path: string; size: number }[]> {
  const files: { path: string; size: number }[] = new Array<{ path: string; size: number }>(count);
  await runPool(
    Array.from({ length: count }, (_, i) => i),
    parallel,
    async (i) => {
      const path = join(dir, `${prefix}-${String(i).padStart(4, '0')}.jpg`);
      files[i] = { path, size: await write(path) };
      return 0;
    },
  );
  return files;
}
