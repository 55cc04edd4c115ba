/** Deterministic test images (different seeds, different bytes and so different ids). */
import sharp from 'sharp';
import { mulberry32 } from './random.js';

export { mulberry32 };

export interface ImageSpec {
  readonly width?: number;
  readonly height?: number;
  readonly format?: 'jpeg' | 'png' | 'webp';
  /** Different seeds give different pixels (and so different ids); same seed, same bytes. */
  readonly seed?: number;
}

/** A deterministic noisy image: a seed-dependent base color plus seeded noise on every pixel. */
export async function makeImage({
  width = 64,
  height = 48,
  format = 'png',
  seed = 1,
}: ImageSpec = {}): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  const random = mulberry32(seed);
  const base = [(seed * 37) % 256, (seed * 91) % 256, (seed * 173) % 256];
  for (let i = 0; i < pixels.length; i++) {
    pixels[i] = ((base[i % 3] ?? 0) + Math.floor(random() * 64)) % 256;
  }
  const image = sharp(pixels, { raw: { width, height, channels: 3 } });
  switch (format) {
    case 'jpeg':
      return image.jpeg({ quality: 90 }).toBuffer();
    case 'webp':
      return image.webp({ quality: 90 }).toBuffer();
    case 'png':
      // Level 0 keeps encoding fast for big images (their size is then about 3 bytes/pixel).
      return image.png({ compressionLevel: width * height > 1_000_000 ? 0 : 6 }).toBuffer();
  }
}
