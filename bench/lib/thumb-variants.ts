/**
 * Thumbnail alternatives for the upload profile, beside the current code (Thumbnails.make in
 * src/pictures/images.ts).
 */
import sharp from 'sharp';

export const LIMIT = { limitInputPixels: 268_402_689 } as const;
export const box = (edge: number) =>
  ({ width: edge, height: edge, fit: 'inside', withoutEnlargement: true }) as const;

export type Encode = (s: sharp.Sharp) => sharp.Sharp;
export const webp =
  (effort: number): Encode =>
  (s) =>
    s.webp({ quality: 80, effort });
export const jpeg: Encode = (s) => s.jpeg({ quality: 80 });

/** Current shape (large from the source, small from the large file) with another encoder. */
export async function thumbsChained(source: string, out: string, encode: Encode): Promise<void> {
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
export async function thumbsCloned(source: string, out: string, encode: Encode): Promise<void> {
  const base = sharp(source, { failOn: 'truncated', ...LIMIT }).rotate();
  await Promise.all([
    encode(base.clone().resize(box(1600))).toFile(`${out}.large`),
    encode(base.clone().resize(box(320))).toFile(`${out}.small`),
  ]);
}

/** Only the small one, straight from the source (JPEG shrink-on-load applies). */
export async function thumbSmallOnly(source: string, out: string, encode: Encode): Promise<void> {
  await encode(
    sharp(source, { failOn: 'truncated', ...LIMIT })
      .rotate()
      .resize(box(320)),
  ).toFile(`${out}.small`);
}
