/**
 * Photo facts: what a picture's own bytes say about it (EXIF and XMP), turned from raw tags
 * into the few facts Mosaic shows and sorts by. Pure: the same tags give the same facts at
 * every node, whatever its clock or time zone, which is why facts never replicate as ops (each
 * node derives them from the bytes it stores; see docs/architecture.md, "Photo facts").
 *
 * Tags are untrusted input: every value is checked (type, range, length) and anything odd is
 * dropped rather than shown (a camera writing `0000:00:00 00:00:00`, a GPS of 0,0).
 */

export interface Camera {
  readonly make: string | null;
  readonly model: string | null;
  readonly lens: string | null;
}

export interface Exposure {
  /** Seconds, e.g. 0.004 for 1/250. */
  readonly exposureTime: number | null;
  readonly fNumber: number | null;
  /** Millimetres. */
  readonly focalLength: number | null;
  readonly iso: number | null;
}

export interface Gps {
  readonly latitude: number;
  readonly longitude: number;
  /** Metres above sea level (negative below). */
  readonly altitude: number | null;
}

export interface PhotoFacts {
  /**
   * When it was taken, as the camera wrote it: `YYYY-MM-DDTHH:MM:SS[.sss]` in the camera's local
   * time, followed by its offset (`+02:00`) when known.
   */
  readonly takenAt: string | null;
  readonly camera: Camera | null;
  readonly exposure: Exposure | null;
  readonly gps: Gps | null;
  /** EXIF orientation, 1–8. */
  readonly orientation: number | null;
}

export const NO_FACTS: PhotoFacts = {
  takenAt: null,
  camera: null,
  exposure: null,
  gps: null,
  orientation: null,
};

/**
 * The same facts as a new object with every key in the order of the API's schema, nested ones
 * too, and nothing else: what `PictureFactsRepository` stores as JSON, so that the stored text
 * is the facts' part of a picture's serialized view as it stands (a gallery page built by
 * PostgreSQL splices it in: ../gallery-json.repository.ts).
 */
export function canonicalFacts(facts: PhotoFacts): PhotoFacts {
  const { camera, exposure, gps } = facts;
  return {
    takenAt: facts.takenAt,
    camera: camera && { make: camera.make, model: camera.model, lens: camera.lens },
    exposure: exposure && {
      exposureTime: exposure.exposureTime,
      fNumber: exposure.fNumber,
      focalLength: exposure.focalLength,
      iso: exposure.iso,
    },
    gps: gps && { latitude: gps.latitude, longitude: gps.longitude, altitude: gps.altitude },
    orientation: facts.orientation,
  };
}

/** Raw tags as exifr reads them (`mergeOutput: false`, no revived or translated values). */
export interface RawTags {
  readonly ifd0?: Readonly<Record<string, unknown>> | undefined;
  readonly exif?: Readonly<Record<string, unknown>> | undefined;
  readonly gps?: Readonly<Record<string, unknown>> | undefined;
  /** Dates found in XMP (xmp:CreateDate, photoshop:DateCreated, exif:DateTimeOriginal). */
  readonly xmpDates?: readonly string[] | undefined;
  /** The container's orientation when there is no EXIF one (e.g. sharp's metadata). */
  readonly orientation?: number | undefined;
}

const MAX_TEXT = 120;
const MIN_YEAR = 1826; // the oldest surviving photograph
const MAX_YEAR = 2200;

export function factsFromTags(tags: RawTags): PhotoFacts {
  const ifd0 = tags.ifd0 ?? {};
  const exif = tags.exif ?? {};
  const gps = tags.gps ?? {};
  const make = text(ifd0.Make);
  const model = text(ifd0.Model);
  const lens = text(exif.LensModel) ?? text(exif.LensMake);
  const exposure: Exposure = {
    exposureTime: positive(exif.ExposureTime, 3600),
    fNumber: positive(exif.FNumber, 1000),
    focalLength: positive(exif.FocalLength, 10_000),
    iso: positiveInt(exif.ISO ?? exif.ISOSpeedRatings ?? exif.PhotographicSensitivity, 10_000_000),
  };
  const orientation = orientationOf(ifd0.Orientation) ?? orientationOf(tags.orientation);
  return {
    takenAt: takenAtOf(exif, ifd0, gps, tags.xmpDates ?? []),
    camera: make || model || lens ? { make, model, lens } : null,
    exposure: Object.values(exposure).some((v) => v !== null) ? exposure : null,
    gps: gpsOf(gps),
    orientation,
  };
}

/**
 * The key the timeline sorts by, in milliseconds: the local time the picture was taken, read
 * as if it were UTC (so a picture belongs to the day and month written on it, wherever it was
 * taken), or null when not known (the upload time stands in). Monotonic in `takenAt`'s
 * local part.
 */
export function takenKey(takenAt: string | null): number | null {
  if (takenAt === null) return null;
  const local = LOCAL.exec(takenAt);
  if (!local) return null;
  const ms = Date.parse(`${local[1]}Z`);
  return Number.isFinite(ms) ? ms : null;
}

const LOCAL = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)(?:[+-]\d{2}:\d{2}|Z)?$/;
const EXIF_DATE =
  /^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?$/;
const OFFSET = /^([+-])(\d{2}):?(\d{2})$/;

function takenAtOf(
  exif: Readonly<Record<string, unknown>>,
  ifd0: Readonly<Record<string, unknown>>,
  gps: Readonly<Record<string, unknown>>,
  xmpDates: readonly string[],
): string | null {
  const candidates: [unknown, unknown, unknown][] = [
    [exif.DateTimeOriginal, exif.SubSecTimeOriginal, exif.OffsetTimeOriginal],
    [exif.CreateDate ?? exif.DateTimeDigitized, exif.SubSecTimeDigitized, exif.OffsetTimeDigitized],
  ];
  for (const [date, subsec, offset] of candidates) {
    const local = parseExifDate(date, subsec);
    if (local === null) continue;
    const zone = local.zone ?? offsetOf(offset) ?? offsetFromGps(local.iso, gps);
    return zone === null ? local.iso : `${local.iso}${zone}`;
  }
  for (const date of xmpDates) {
    const local = parseExifDate(date, undefined);
    if (local !== null) return local.zone === null ? local.iso : `${local.iso}${local.zone}`;
  }
  // IFD0's DateTime is when the file was last changed (often an editor's save): last resort.
  const changed = parseExifDate(ifd0.ModifyDate ?? ifd0.DateTime, exif.SubSecTime);
  if (changed === null) return null;
  const zone = changed.zone ?? offsetOf(exif.OffsetTime);
  return zone === null ? changed.iso : `${changed.iso}${zone}`;
}

/** `2019:07:14 18:30:05` (+ sub-seconds) → `2019-07-14T18:30:05.123`, checked as a real date. */
export function parseExifDate(
  value: unknown,
  subsec: unknown,
): { iso: string; zone: string | null } | null {
  if (typeof value !== 'string') return null;
  const m = EXIF_DATE.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  if (year < MIN_YEAR || year > MAX_YEAR) return null;
  const base = `${y}-${mo}-${d}T${h}:${mi}:${s}`;
  const check = new Date(`${base}Z`);
  // Rejects 2019-02-30, 25:00 and the like (Date would roll them over).
  if (Number.isNaN(check.getTime()) || check.toISOString().slice(0, 19) !== base) return null;
  const digits =
    frac ?? (typeof subsec === 'string' || typeof subsec === 'number' ? String(subsec).trim() : '');
  const ms = /^\d+$/.test(digits) ? `.${digits.slice(0, 3).padEnd(3, '0')}` : '';
  return { iso: `${base}${ms}`, zone: zone === undefined ? null : (offsetOf(zone) ?? null) };
}

/** `+02:00`, `-0530` or `Z` → `+02:00` / `-05:30` / `+00:00`; null when not an offset. */
export function offsetOf(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  if (trimmed === 'Z') return '+00:00';
  const m = OFFSET.exec(trimmed);
  if (!m) return null;
  const [, sign, hh, mm] = m;
  if (Number(hh) > 14 || Number(mm) > 59) return null;
  return `${sign}${hh}:${mm}`;
}

/**
 * A camera that writes no offset but has a GPS fix also wrote the time in UTC (GPSDateStamp and
 * GPSTimeStamp): their difference, rounded to a quarter hour, is the offset, when plausible.
 */
function offsetFromGps(localIso: string, gps: Readonly<Record<string, unknown>>): string | null {
  const stamp = gps.GPSDateStamp;
  const time = gps.GPSTimeStamp;
  if (typeof stamp !== 'string' || !Array.isArray(time) || time.length !== 3) return null;
  const [h, m, s] = time as unknown[];
  if (typeof h !== 'number' || typeof m !== 'number' || typeof s !== 'number') return null;
  const day = /^(\d{4})[:-](\d{2})[:-](\d{2})$/.exec(stamp.trim());
  if (!day) return null;
  const utc = Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]), h, m, Math.floor(s));
  const local = Date.parse(`${localIso}Z`);
  if (!Number.isFinite(utc) || !Number.isFinite(local)) return null;
  const quarters = Math.round((local - utc) / (15 * 60_000));
  if (Math.abs(quarters) > 14 * 4) return null;
  const minutes = Math.abs(quarters) * 15;
  const sign = quarters < 0 ? '-' : '+';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${sign}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

function gpsOf(gps: Readonly<Record<string, unknown>>): Gps | null {
  const latitude = coordinate(gps.GPSLatitude, gps.GPSLatitudeRef, 'S', 90);
  const longitude = coordinate(gps.GPSLongitude, gps.GPSLongitudeRef, 'W', 180);
  if (latitude === null || longitude === null) return null;
  if (latitude === 0 && longitude === 0) return null; // "no fix" written as zeros
  const alt =
    typeof gps.GPSAltitude === 'number' && Number.isFinite(gps.GPSAltitude)
      ? gps.GPSAltitude
      : null;
  const below = refByte(gps.GPSAltitudeRef) === 1;
  const altitude = alt === null || Math.abs(alt) > 100_000 ? null : round(below ? -alt : alt, 1);
  return { latitude, longitude, altitude };
}

function coordinate(value: unknown, ref: unknown, negative: string, max: number): number | null {
  let degrees: number | null = null;
  if (typeof value === 'number') degrees = value;
  else if (Array.isArray(value) && value.length >= 1 && value.length <= 3) {
    const parts = value as unknown[];
    if (!parts.every((p) => typeof p === 'number' && Number.isFinite(p) && p >= 0)) return null;
    const [d = 0, m = 0, s = 0] = parts as number[];
    degrees = d + m / 60 + s / 3600;
  }
  if (degrees === null || !Number.isFinite(degrees) || Math.abs(degrees) > max) return null;
  const sign = typeof ref === 'string' && ref.trim().toUpperCase() === negative ? -1 : 1;
  return round(sign * Math.abs(degrees), 7);
}

function refByte(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (value instanceof Uint8Array) return value[0] ?? null;
  return null;
}

function orientationOf(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 8
    ? value
    : null;
}

function text(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  // Control characters and padding NULs out; a tag is a label, never a paragraph.
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return clean === '' ? null : clean.slice(0, MAX_TEXT);
}

function positive(value: unknown, max: number): number | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    return null;
  }
  return round(value, 6);
}

function positiveInt(value: unknown, max: number): number | null {
  const n = Array.isArray(value) ? (value as unknown[])[0] : value;
  const v = positive(n, max);
  return v === null ? null : Math.round(v);
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
