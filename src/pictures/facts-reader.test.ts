import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import { jpegBlocks } from './core/jpeg-blocks.js';
import { factsOfImage, readFacts } from './facts-reader.js';
import { sharpLoaded } from './sharp-lib.js';

const HEIC = new URL('../../test/fixtures/iphone.heic', import.meta.url);

function blank(width = 60, height = 40): sharp.Sharp {
  return sharp({ create: { width, height, channels: 3, background: { r: 90, g: 120, b: 150 } } });
}

const XMP_PACKET =
  '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
  '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreateDate="2011-06-05T04:03:02"/>' +
  '</rdf:RDF></x:xmpmeta>';

/** JPEGs as cameras and editors write them: EXIF, orientation, XMP, both, none. */
async function sampleJpegs(): Promise<Buffer[]> {
  const exif = {
    IFD0: { Make: 'Canon', Model: 'Canon EOS R6' },
    IFD2: { DateTimeOriginal: '2018:12:24 17:45:10', OffsetTimeOriginal: '+01:00' },
  };
  return Promise.all([
    blank().jpeg().withExif(exif).withMetadata({ orientation: 6 }).toBuffer(),
    blank().jpeg().withExif(exif).toBuffer(),
    blank().jpeg().withMetadata({ orientation: 3 }).toBuffer(),
    blank().jpeg().withXmp(XMP_PACKET).toBuffer(),
    blank().jpeg().withExif(exif).withXmp(XMP_PACKET).toBuffer(),
    blank().jpeg({ progressive: true }).withExif(exif).toBuffer(),
    blank().jpeg().toBuffer(),
  ]);
}

/** `jpeg` with a second EXIF segment (other tags) right after its first marker. */
async function withSecondExif(jpeg: Buffer): Promise<Buffer> {
  const other = await blank()
    .jpeg()
    .withExif({ IFD0: { Make: 'Nikon', Model: 'Z 6' } })
    .toBuffer();
  const app1 = other.indexOf(Buffer.from([0xff, 0xe1]));
  const length = other.readUInt16BE(app1 + 2);
  const segment = other.subarray(app1, app1 + 2 + length);
  // After SOI and the first segment (APP0 or APP1).
  const first = 2 + 2 + jpeg.readUInt16BE(4);
  return Buffer.concat([jpeg.subarray(0, first), segment, jpeg.subarray(first)]);
}

describe('a JPEG read without libvips (core/jpeg-blocks.ts)', () => {
  test('gives its facts without loading sharp', async () => {
    const jpeg = await blank()
      .jpeg()
      .withExif({ IFD0: { Make: 'Canon' } })
      .toBuffer();
    // This file's own `sharp` import is not the node's loader (sharp-lib.ts).
    expect(sharpLoaded()).toBe(false);
    expect((await factsOfImage(jpeg)).camera?.make).toBe('Canon');
    expect(sharpLoaded()).toBe(false);
  });

  test('finds the very blocks libvips reports, hence the same facts', async () => {
    const jpegs = await sampleJpegs();
    jpegs.push(await withSecondExif(jpegs[0] as Buffer));
    for (const jpeg of jpegs) {
      const meta = await sharp(jpeg).metadata();
      const blocks = jpegBlocks(jpeg);
      expect(blocks).not.toBeNull();
      expect(blocks?.exif).toEqual(meta.exif);
      expect(blocks?.xmp).toEqual(meta.xmp);
      expect(await factsOfImage(jpeg)).toEqual(await readFacts(meta));
    }
    // The spliced second segment is not the one either takes.
    expect((await factsOfImage(jpegs.at(-1) as Buffer)).camera?.make).toBe('Canon');
  });
});

describe('factsOfImage', () => {
  test('a JPEG written with EXIF (date, offset, camera, exposure, GPS, portrait orientation)', async () => {
    const jpeg = await blank()
      .jpeg()
      .withExif({
        IFD0: { Make: 'Canon', Model: 'Canon EOS R6' },
        IFD2: {
          DateTimeOriginal: '2018:12:24 17:45:10',
          OffsetTimeOriginal: '+01:00',
          ExposureTime: '1/60',
          FNumber: '28/10',
          ISOSpeedRatings: '3200',
          FocalLength: '35/1',
          LensModel: 'RF35mm F1.8 MACRO IS STM',
        },
        IFD3: {
          GPSLatitudeRef: 'N',
          GPSLatitude: '46/1 12/1 3600/100',
          GPSLongitudeRef: 'E',
          GPSLongitude: '6/1 8/1 2400/100',
        },
      })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect(await factsOfImage(jpeg)).toEqual({
      takenAt: '2018-12-24T17:45:10+01:00',
      camera: { make: 'Canon', model: 'Canon EOS R6', lens: 'RF35mm F1.8 MACRO IS STM' },
      exposure: { exposureTime: 0.016667, fNumber: 2.8, focalLength: 35, iso: 3200 },
      gps: { latitude: 46.21, longitude: 6.14, altitude: null },
      orientation: 6,
    });
  });

  test('XMP alone gives the date', async () => {
    const png = await blank().png().withXmp(XMP_PACKET).toBuffer();
    expect((await factsOfImage(png)).takenAt).toBe('2011-06-05T04:03:02');
  });

  test('an image without metadata, or bytes that are not an image, have no facts', async () => {
    const none = { takenAt: null, camera: null, exposure: null, gps: null, orientation: null };
    expect(await factsOfImage(await blank().png().toBuffer())).toEqual(none);
    expect(await factsOfImage(Buffer.from('not an image at all'))).toEqual(none);
  });

  test('an iPhone HEIC (HEVC) gives its facts without being decoded', async () => {
    const facts = await factsOfImage(await readFile(HEIC));
    expect(facts.takenAt).toBe('2021-05-03T09:15:00-07:00');
    expect(facts.camera).toEqual({
      make: 'Apple',
      model: 'iPhone 12 mini',
      lens: 'iPhone 12 mini back dual wide camera 4.2mm f/1.6',
    });
    expect(facts.gps?.latitude).toBeCloseTo(37.7748, 3);
    expect(facts.gps?.longitude).toBeCloseTo(-122.4193, 3);
  });
});
