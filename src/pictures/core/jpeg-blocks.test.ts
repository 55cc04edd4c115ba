import { describe, expect, test } from 'vitest';
import { jpegBlocks } from './jpeg-blocks.js';

/** A marker segment: FF, the code, the length (with itself), the payload. */
function segment(code: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  const head = Buffer.from([0xff, code, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

const SOI = Buffer.from([0xff, 0xd8]);
const SOF0 = segment(0xc0, Buffer.from([8, 0, 16, 0, 16, 1, 1, 0x11, 0]));
const SOS = Buffer.concat([
  segment(0xda, Buffer.from([1, 1, 0, 0, 63, 0])),
  Buffer.from([1, 2, 3]),
]);
const EXIF = 'Exif\0\0MM\0\x2a\0\0\0\x08\0\0';
const XMP = 'http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>';

const jpeg = (...parts: Buffer[]): Buffer => Buffer.concat([SOI, ...parts]);

describe('jpegBlocks', () => {
  test('finds the EXIF and XMP payloads among the header segments', () => {
    const blocks = jpegBlocks(
      jpeg(segment(0xe0, 'JFIF\0\x01\x01'), segment(0xe1, EXIF), segment(0xe1, XMP), SOF0, SOS),
    );
    expect(blocks?.exif?.toString('latin1')).toBe(EXIF);
    expect(blocks?.xmp?.toString('latin1')).toBe('<x:xmpmeta/>');
  });

  test('a header without metadata has no blocks; fill bytes and restart markers are skipped', () => {
    const fill = Buffer.from([0xff, 0xff]);
    const restart = Buffer.from([0xff, 0xd3]);
    expect(jpegBlocks(jpeg(fill, SOF0, restart, SOS))).toEqual({ exif: undefined, xmp: undefined });
  });

  test("libvips' rule: the first block of each kind; 4 bytes or other APP1s are not one", () => {
    const later = 'Exif\0\0II\x2a\0\x08\0\0\0';
    const blocks = jpegBlocks(
      jpeg(
        segment(0xe1, 'Exif'),
        segment(0xe1, EXIF),
        segment(0xe1, later),
        segment(0xe1, 'Other things'),
        segment(0xe1, 'http://ns.adobe.com/xmp/extension/\0second'),
        SOF0,
        SOS,
      ),
    );
    expect(blocks?.exif?.toString('latin1')).toBe(EXIF);
    expect(blocks?.xmp?.toString('latin1')).toBe('second');
  });

  test('an XMP segment without a NUL in its first 80 bytes is not taken; the next one is', () => {
    const long = `http://${'x'.repeat(80)}\0<late/>`;
    const blocks = jpegBlocks(jpeg(segment(0xe1, long), segment(0xe1, XMP), SOF0, SOS));
    expect(blocks?.xmp?.toString('latin1')).toBe('<x:xmpmeta/>');
    // The NUL may be the 81st byte (libvips checks the byte its search stopped at).
    const edge = `http://${'x'.repeat(73)}\0<edge/>`;
    expect(jpegBlocks(jpeg(segment(0xe1, edge), SOF0, SOS))?.xmp?.toString('latin1')).toBe(
      '<edge/>',
    );
  });

  test('segments after the first scan are not read', () => {
    const blocks = jpegBlocks(jpeg(SOF0, SOS, segment(0xe1, EXIF)));
    expect(blocks?.exif).toBeUndefined();
  });

  test('bytes that are not a well-formed JPEG header give null (libvips decides)', () => {
    const good = jpeg(segment(0xe1, EXIF), SOF0, SOS);
    expect(jpegBlocks(Buffer.from('not an image at all'))).toBeNull();
    expect(jpegBlocks(Buffer.alloc(0))).toBeNull();
    // Cut inside a segment, before the scan.
    expect(jpegBlocks(good.subarray(0, 20))).toBeNull();
    expect(jpegBlocks(good.subarray(0, SOI.length + 3))).toBeNull();
    // A length that runs past the end, or smaller than the length field itself.
    const overrun = Buffer.from(good);
    overrun.writeUInt16BE(0xfff0, SOI.length + 2);
    expect(jpegBlocks(overrun)).toBeNull();
    const tiny = Buffer.from(good);
    tiny.writeUInt16BE(1, SOI.length + 2);
    expect(jpegBlocks(tiny)).toBeNull();
    // No frame header before the scan; an image that ends before any scan; garbage between.
    expect(jpegBlocks(jpeg(segment(0xe1, EXIF), SOS))).toBeNull();
    expect(jpegBlocks(jpeg(segment(0xe1, EXIF), SOF0, Buffer.from([0xff, 0xd9])))).toBeNull();
    expect(jpegBlocks(jpeg(segment(0xe1, EXIF), Buffer.from([0x12]), SOF0, SOS))).toBeNull();
    expect(jpegBlocks(jpeg(Buffer.from([0xff, 0x00]), SOF0, SOS))).toBeNull();
  });

  test('the blocks are views of the bytes given, at any offset of their memory', () => {
    const whole = Buffer.concat([Buffer.from('prefix'), jpeg(segment(0xe1, EXIF), SOF0, SOS)]);
    const blocks = jpegBlocks(whole.subarray(6));
    expect(blocks?.exif?.toString('latin1')).toBe(EXIF);
    expect(blocks?.exif?.buffer).toBe(whole.buffer);
  });
});
