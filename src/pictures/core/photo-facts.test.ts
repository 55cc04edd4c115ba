import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { factsFromTags, offsetOf, parseExifDate, takenKey } from './photo-facts.js';

describe('factsFromTags', () => {
  test('reads the facts of a phone photo', () => {
    const facts = factsFromTags({
      ifd0: { Make: 'Apple', Model: 'iPhone 13\u0000', Orientation: 6 },
      exif: {
        DateTimeOriginal: '2019:07:14 18:30:05',
        SubSecTimeOriginal: '12',
        OffsetTimeOriginal: '+02:00',
        ExposureTime: 0.004,
        FNumber: 1.8,
        ISO: 100,
        FocalLength: 5.1,
        LensModel: 'iPhone 13 back camera',
      },
      gps: {
        GPSLatitudeRef: 'S',
        GPSLatitude: [48, 51, 29.99],
        GPSLongitudeRef: 'W',
        GPSLongitude: [2, 17, 40],
        GPSAltitude: 35,
        GPSAltitudeRef: new Uint8Array([1]),
      },
    });
    expect(facts).toEqual({
      takenAt: '2019-07-14T18:30:05.120+02:00',
      camera: { make: 'Apple', model: 'iPhone 13', lens: 'iPhone 13 back camera' },
      exposure: { exposureTime: 0.004, fNumber: 1.8, focalLength: 5.1, iso: 100 },
      gps: { latitude: -48.8583306, longitude: -2.2944444, altitude: -35 },
      orientation: 6,
    });
  });

  test('nothing known gives nulls, and junk values are dropped', () => {
    expect(factsFromTags({})).toEqual({
      takenAt: null,
      camera: null,
      exposure: null,
      gps: null,
      orientation: null,
    });
    const junk = factsFromTags({
      ifd0: { Make: '   ', Orientation: 9 },
      exif: { DateTimeOriginal: '0000:00:00 00:00:00', FNumber: -1, ISO: Number.NaN },
      gps: { GPSLatitude: [0, 0, 0], GPSLongitude: [0, 0, 0] },
    });
    expect(junk).toEqual({
      takenAt: null,
      camera: null,
      exposure: null,
      gps: null,
      orientation: null,
    });
  });

  test('the date falls back: digitized, then XMP, then the file change date', () => {
    expect(factsFromTags({ exif: { CreateDate: '2020:01:02 03:04:05' } }).takenAt).toBe(
      '2020-01-02T03:04:05',
    );
    expect(factsFromTags({ xmpDates: ['2015-03-02T10:11:12+01:00'] }).takenAt).toBe(
      '2015-03-02T10:11:12+01:00',
    );
    expect(
      factsFromTags({ ifd0: { ModifyDate: '2012:12:12 12:12:12' }, exif: { OffsetTime: '-0500' } })
        .takenAt,
    ).toBe('2012-12-12T12:12:12-05:00');
  });

  test('with no offset written, the GPS time (UTC) gives it', () => {
    const facts = factsFromTags({
      exif: { DateTimeOriginal: '2022:08:01 21:10:00' },
      gps: { GPSDateStamp: '2022:08:01', GPSTimeStamp: [19, 9, 58] },
    });
    expect(facts.takenAt).toBe('2022-08-01T21:10:00+02:00');
  });
});

describe('dates', () => {
  test('impossible dates are refused', () => {
    expect(parseExifDate('2019:02:30 10:00:00', undefined)).toBeNull();
    expect(parseExifDate('2019:02:28 25:00:00', undefined)).toBeNull();
    expect(parseExifDate('1700:01:01 00:00:00', undefined)).toBeNull();
    expect(parseExifDate(20190101, undefined)).toBeNull();
  });

  test('offsets are normalised or refused', () => {
    expect(offsetOf('+0530')).toBe('+05:30');
    expect(offsetOf('Z')).toBe('+00:00');
    expect(offsetOf('+15:00')).toBeNull();
    expect(offsetOf('2')).toBeNull();
  });

  const localTime = fc
    .date({
      min: new Date('1900-01-01T00:00:00Z'),
      max: new Date('2150-12-31T23:59:59Z'),
      noInvalidDate: true,
    })
    .map((d) => d.toISOString().slice(0, 19));
  const offset = fc
    .tuple(
      fc.constantFrom('+', '-'),
      fc.integer({ min: 0, max: 14 }),
      fc.constantFrom(0, 15, 30, 45),
    )
    .map(([s, h, m]) => `${s}${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);

  test('a valid EXIF date round-trips, and the sort key orders by local time whatever the offset', () => {
    fc.assert(
      fc.property(localTime, localTime, offset, offset, (a, b, oa, ob) => {
        const exif = (iso: string) => iso.replace('T', ' ').replace(/-/g, ':');
        const pa = factsFromTags({ exif: { DateTimeOriginal: exif(a), OffsetTimeOriginal: oa } });
        const pb = factsFromTags({ exif: { DateTimeOriginal: exif(b), OffsetTimeOriginal: ob } });
        expect(pa.takenAt).toBe(`${a}${oa}`);
        const ka = takenKey(pa.takenAt);
        const kb = takenKey(pb.takenAt);
        expect(ka).not.toBeNull();
        expect(Math.sign((ka ?? 0) - (kb ?? 0))).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
    );
  });

  test('any tag values at all give facts of the right shape, never an exception', () => {
    const anyValue = fc.oneof(
      fc.string(),
      fc.double(),
      fc.integer(),
      fc.array(fc.double(), { maxLength: 4 }),
      fc.constant(null),
    );
    const group = fc.dictionary(
      fc.constantFrom(
        'Make',
        'Model',
        'Orientation',
        'DateTimeOriginal',
        'OffsetTimeOriginal',
        'ExposureTime',
        'FNumber',
        'ISO',
        'GPSLatitude',
        'GPSLongitude',
        'GPSLatitudeRef',
        'GPSAltitude',
        'GPSDateStamp',
        'GPSTimeStamp',
        'ModifyDate',
        'LensModel',
      ),
      anyValue,
    );
    fc.assert(
      fc.property(group, group, group, (ifd0, exif, gps) => {
        const facts = factsFromTags({ ifd0, exif, gps });
        if (facts.takenAt !== null) expect(takenKey(facts.takenAt)).not.toBeNull();
        if (facts.gps) {
          expect(Math.abs(facts.gps.latitude)).toBeLessThanOrEqual(90);
          expect(Math.abs(facts.gps.longitude)).toBeLessThanOrEqual(180);
        }
        if (facts.orientation !== null) expect(facts.orientation).toBeGreaterThanOrEqual(1);
        expect(JSON.parse(JSON.stringify(facts))).toEqual(facts);
      }),
    );
  });
});
