/**
 * A JPEG's EXIF and XMP blocks, found by walking its markers up to the first scan: the blocks
 * libvips (sharp's `metadata()`) reports for a JPEG, without loading sharp or crossing into
 * native code. A node that receives replicated JPEGs reads their facts this way (about 5 µs
 * against 0.3 ms of CPU for `metadata()`, and no libvips mapped: docs/benchmarks.md, "Catch-up:
 * the facts of a JPEG without sharp"); an upload's probe takes a JPEG's blocks from here too, so
 * every node derives a JPEG's facts from the same blocks.
 *
 * libvips' rule (jpeg2vips.c), followed here: of the APP1 segments before the first scan (SOS)
 * whose payload is longer than 4 bytes, the first that starts with `Exif` is the EXIF block; the
 * first that starts with `http` and has a NUL within its first 80 bytes (the namespace, as in
 * `http://ns.adobe.com/xap/1.0/\0`) gives the XMP block, what follows that NUL (so an Extended
 * XMP segment after the main one is not read). Pure; bytes are untrusted: anything that is not a
 * well-formed JPEG header (no SOI, a length running past the end, no frame header before the
 * scan) gives null, and the caller asks libvips, which decides as it always did.
 */

export interface JpegBlocks {
  /** The APP1 payload, `Exif\0\0` and the TIFF structure. */
  readonly exif?: Buffer | undefined;
  /** The XMP packet: the APP1 payload after its namespace and NUL. */
  readonly xmp?: Buffer | undefined;
}

const MARKER = 0xff;
const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP1 = 0xe1;
const TEM = 0x01;

/** The blocks, or null when `bytes` do not start with a well-formed JPEG header. */
export function jpegBlocks(bytes: Uint8Array): JpegBlocks | null {
  if (bytes.length < 4 || bytes[0] !== MARKER || bytes[1] !== SOI) return null;
  let exif: Buffer | undefined;
  let xmp: Buffer | undefined;
  let frame = false;
  let at = 2;
  for (;;) {
    if (bytes[at] !== MARKER) return null;
    // Any number of fill bytes (0xFF) may precede a marker's code.
    while (bytes[at] === MARKER) at++;
    if (at >= bytes.length) return null;
    const code = bytes[at++] as number;
    if (code === SOS) return frame ? { exif, xmp } : null;
    if (code === EOI || code === 0) return null;
    // Markers without a segment: TEM and the restart markers.
    if (code === TEM || (code >= 0xd0 && code <= 0xd7)) continue;
    if (at + 2 > bytes.length) return null;
    const length = ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
    if (length < 2 || at + length > bytes.length) return null;
    if (isFrameHeader(code)) frame = true;
    if (code === APP1 && length - 2 > 4) {
      const payload = Buffer.from(bytes.buffer, bytes.byteOffset + at + 2, length - 2);
      if (exif === undefined && startsWith(payload, 'Exif')) exif = payload;
      else if (xmp === undefined && startsWith(payload, 'http')) xmp = xmpPacket(payload);
    }
    at += length;
  }
}

/** SOF0-SOF15, without DHT (C4), JPG (C8) and DAC (CC), which share the range. */
function isFrameHeader(code: number): boolean {
  return code >= 0xc0 && code <= 0xcf && code !== 0xc4 && code !== 0xc8 && code !== 0xcc;
}

/** After the namespace's NUL, looked for in the first 80 bytes (libvips' limit); else none. */
function xmpPacket(payload: Buffer): Buffer | undefined {
  const last = Math.min(80, payload.length - 2);
  for (let i = 0; i <= last; i++) {
    if (payload[i] === 0) return payload.subarray(i + 1);
  }
  return undefined;
}

function startsWith(payload: Buffer, prefix: string): boolean {
  for (let i = 0; i < prefix.length; i++) {
    if (payload[i] !== prefix.charCodeAt(i)) return false;
  }
  return true;
}
