import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { deflateSync } from 'node:zlib';
import { join } from 'node:path';
import sharp from 'sharp';
import { buffer } from 'node:stream/consumers';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DamagedImageError, InvalidImageError, NotAnImageError } from '../core/errors.js';
import { Limiter } from '../core/limiter.js';
import { LocalBlobStore } from '../blobs/local-blob-store.js';
import { assertPixels, MAX_JPEG_PIXELS, MAX_PIXELS, probeImage, Thumbnails } from './images.js';

/** A PNG with a valid header (IHDR, RGBA 8-bit) and no pixel data to speak of. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(0))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

let dir: string;
let bomb: Buffer;
let normal: Buffer;

async function storeAt(name: string): Promise<LocalBlobStore> {
  const store = new LocalBlobStore(join(dir, name));
  await store.init();
  return store;
}
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-images-'));
  // A 60-byte PNG whose header declares 16000 x 16000 RGBA (1 GB decoded): only the header
  // is meant to be read.
  bomb = pngHeaderOnly(16_000, 16_000);
  normal = await sharp({
    create: { width: 800, height: 600, channels: 3, background: '#abcdef' },
  })
    .png()
    .toBuffer();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pixel limit', () => {
  it('accepts up to the limit, per format', () => {
    expect(() => {
      assertPixels(10_000, 10_000, 'png');
    }).not.toThrow();
    expect(() => {
      assertPixels(10_001, 10_000, 'png');
    }).toThrow(InvalidImageError);
    expect(() => {
      assertPixels(16_320, 12_240, 'jpeg'); // a 200 Mpx phone photo
    }).not.toThrow();
    expect(() => {
      assertPixels(16_000, 16_000, 'jpeg');
    }).toThrow(/at most 210 megapixels for JPEG/);
    expect(MAX_PIXELS).toBeLessThan(MAX_JPEG_PIXELS);
  });

  it('refuses a declared 16000 x 16000 PNG from its header, quickly, with a 422', async () => {
    const started = performance.now();
    const error: unknown = await probeImage(bomb).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(500);
    expect(error).toBeInstanceOf(InvalidImageError);
    expect((error as InvalidImageError).status).toBe(422);
    expect((error as Error).message).toBe(
      'The image is 16000 x 16000 pixels (256 megapixels); this node accepts at most 100 megapixels.',
    );
  });

  it('refuses it for a thumbnail too (bytes that never went through an upload)', async () => {
    const thumbs = new Thumbnails(await storeAt('thumbs'));
    await expect(thumbs.make('bomb', bomb, 'small')).rejects.toThrow(/256 megapixels/);
  });
});

class CountingLimiter extends Limiter {
  inFlight = 0;
  peak = 0;
  override run<T>(task: () => Promise<T>): Promise<T> {
    return super.run(async () => {
      this.inFlight++;
      this.peak = Math.max(this.peak, this.inFlight);
      try {
        return await task();
      } finally {
        this.inFlight--;
      }
    });
  }
}

describe('thumbnails', () => {
  it('decode through the limiter: never more at once than its slots', async () => {
    const counting = new CountingLimiter(1);
    const thumbs = new Thumbnails(await storeAt('gated'), counting);
    await Promise.all(['a', 'b', 'c', 'd'].map((id) => thumbs.make(id, normal, 'small')));
    expect(counting.peak).toBe(1);
    for (const id of ['a', 'b', 'c', 'd']) expect(await thumbs.has(id, 'small')).toBe(true);
  });

  it('never put a server path in the error a client sees', async () => {
    const truncated = normal.subarray(0, normal.length / 2);
    const thumbs = new Thumbnails(await storeAt('errors'));
    for (const source of [truncated, Buffer.from('not an image at all')]) {
      const error = (await thumbs.make('x', source, 'small').catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(InvalidImageError);
      expect(error.message).toBe('The image could not be decoded (truncated or corrupt).');
      expect(error.message).not.toContain(dir);
    }
    await expect(probeImage(Buffer.from('no image'))).rejects.toBeInstanceOf(NotAnImageError);
  });

  it('a JPEG cut short in its header is refused as damaged, a text file as not an image', async () => {
    const jpeg = await sharp({
      create: { width: 64, height: 64, channels: 3, background: '#c33' },
    })
      .jpeg()
      .toBuffer();
    const cut = (await probeImage(jpeg.subarray(0, 100)).catch((e: unknown) => e)) as Error;
    expect(cut).toBeInstanceOf(DamagedImageError);
    expect(cut).toBeInstanceOf(NotAnImageError); // a 415 all the same
    expect(cut.message).toBe('This file is damaged or is not a picture Mosaic can read.');
    const text = (await probeImage(Buffer.from('no image')).catch((e: unknown) => e)) as Error;
    expect(text).not.toBeInstanceOf(DamagedImageError);
    expect(text.message).toMatch(/^The file is not an image Mosaic can read/);
  });

  it('come out the same from a local file as from its bytes, HEIC too; a bad file is refused alike', async () => {
    const store = await storeAt('from-files');
    const thumbs = new Thumbnails(store);
    const heic = await readFile(new URL('../../test/fixtures/iphone.heic', import.meta.url));
    const truncatedFile = join(dir, 'truncated.png');
    await writeFile(truncatedFile, normal.subarray(0, normal.length / 2));
    for (const [name, bytes] of [
      ['png', normal],
      ['heic', heic],
    ] as const) {
      const file = join(dir, `source.${name}`);
      await writeFile(file, bytes);
      await thumbs.make(`${name}-bytes`, bytes, 'small');
      await thumbs.make(`${name}-file`, { file }, 'small');
      await thumbs.make(`${name}-buffer`, { buffer: bytes }, 'small');
      const made = await Promise.all(
        ['bytes', 'file', 'buffer'].map(async (how) => {
          const out = await thumbs.read(`${name}-${how}`, 'small');
          return out === null ? null : buffer(out);
        }),
      );
      expect(made[0]?.length).toBeGreaterThan(0);
      expect(made[1]?.equals(made[0] as Buffer)).toBe(true);
      expect(made[2]?.equals(made[0] as Buffer)).toBe(true);
    }
    const error = (await thumbs
      .make('bad', { file: truncatedFile }, 'small')
      .catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(InvalidImageError);
    expect(error.message).not.toContain(dir);
    await thumbs.close();
  });
});
