/**
 * Pictures for the media tests, over HTTP (test/node/media.test.ts) and in the browser
 * (test/web/media.test.ts): real JPEGs with EXIF as a camera writes them, a real iPhone HEIC,
 * uploading them by title, and reading back a zip download.
 */
import { buffer } from 'node:stream/consumers';
import sharp from 'sharp';
import { expect } from 'vitest';
import yauzl from 'yauzl';
import type { Api, Picture } from './node-process.js';

export const HEIC = new URL('../fixtures/iphone.heic', import.meta.url);

/** What a camera writes beside the picture: its size, name and exposure (EXIF rationals). */
export interface Camera {
  readonly width: number;
  readonly height: number;
  readonly make: string;
  readonly model: string;
  readonly exposure: Readonly<Record<string, string>>;
}

export const FUJIFILM_X_T4: Camera = {
  width: 96,
  height: 64,
  make: 'FUJIFILM',
  model: 'X-T4',
  exposure: {
    ExposureTime: '1/500',
    FNumber: '56/10',
    ISOSpeedRatings: '160',
    FocalLength: '23/1',
  },
};

export const SONY_ILCE_7M3: Camera = {
  width: 480,
  height: 320,
  make: 'SONY',
  model: 'ILCE-7M3',
  exposure: { ExposureTime: '1/200', FNumber: '4/1', ISOSpeedRatings: '400' },
};

export interface Shot {
  /** `YYYY:MM:DD hh:mm:ss`, as EXIF writes it. */
  readonly taken?: string;
  readonly offset?: string;
  readonly gps?: readonly [number, number];
  readonly orientation?: number;
}

/** A real JPEG with EXIF; `seed` makes the pixels (and the id) differ. */
export async function photo(
  seed: number,
  shot: Shot = {},
  camera: Camera = FUJIFILM_X_T4,
): Promise<Buffer> {
  let image = sharp({
    create: {
      width: camera.width,
      height: camera.height,
      channels: 3,
      background: { r: (seed * 53) % 256, g: (seed * 97) % 256, b: (seed * 31) % 256 },
    },
  }).jpeg({ quality: 85 });
  const dms = (v: number) => {
    const a = Math.abs(v);
    const d = Math.floor(a);
    const m = Math.floor((a - d) * 60);
    const s = Math.round(((a - d) * 60 - m) * 60 * 100);
    return `${d}/1 ${m}/1 ${s}/100`;
  };
  image = image.withExif({
    IFD0: { Make: camera.make, Model: camera.model },
    IFD2: {
      ...(shot.taken ? { DateTimeOriginal: shot.taken } : {}),
      ...(shot.offset ? { OffsetTimeOriginal: shot.offset } : {}),
      ...camera.exposure,
    },
    ...(shot.gps
      ? {
          IFD3: {
            GPSLatitudeRef: shot.gps[0] < 0 ? 'S' : 'N',
            GPSLatitude: dms(shot.gps[0]),
            GPSLongitudeRef: shot.gps[1] < 0 ? 'W' : 'E',
            GPSLongitude: dms(shot.gps[1]),
          },
        }
      : {}),
  });
  if (shot.orientation) image = image.withMetadata({ orientation: shot.orientation });
  return image.toBuffer();
}

/**
 * Uploads each file under its title (with `fields` beside), in order, each a 201; the id of
 * every title.
 */
export async function uploadTitled(
  client: Api,
  files: readonly (readonly [title: string, file: Buffer])[],
  fields: Readonly<Record<string, string>> = {},
): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const [title, file] of files) {
    const res = await client.upload<Picture>({ file, fields: { ...fields, title } });
    expect(res.status).toBe(201);
    ids.set(title, res.body.id);
  }
  return ids;
}

/** Every entry of a zip: its name and bytes (yauzl, reading the central directory). */
export async function unzip(bytes: Buffer): Promise<Map<string, Buffer>> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true }, (err, file) => {
      if (err) reject(err);
      else resolve(file);
    });
  });
  const entries = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      zip.openReadStream(entry, (err, stream) => {
        if (err) {
          reject(err);
          return;
        }
        void buffer(stream).then((data) => {
          entries.set(entry.fileName, data);
          zip.readEntry();
        }, reject);
      });
    });
    zip.on('end', resolve);
    zip.on('error', reject);
    zip.readEntry();
  });
  return entries;
}
