import { BadRequestError } from '../../core/errors.js';
import { isHlc } from '../../core/hlc.js';
import { isSha256Hex } from '../../core/ids.js';
import type { Picture } from '../../pictures/picture.repository.js';

/**
 * Opaque page cursors: a JSON array naming where the last page ended, base64url-encoded. Each
 * kind has its own shape; a cursor of another shape, or none, is refused with a 400.
 */
function encode(parts: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

function decode<T>(cursor: string, read: (parts: unknown[]) => T | null): T {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const found = Array.isArray(value) ? read(value) : null;
    if (found !== null) return found;
  } catch {
    // fall through
  }
  throw new BadRequestError('The cursor is not one this server gave out.', 'validation_failed');
}

/** The gallery's cursors: the (creation time, id) of the last item. */
export function encodeCursor(last: Picture): string {
  return encode([Date.parse(last.createdAt), last.id]);
}

/** The same cursor as `encodeCursor` from the last item's creation time (ms) and id. */
export function encodeKeyCursor(last: { key: number; id: string }): string {
  return encode([last.key, last.id]);
}

export function decodeCursor(cursor: string): { createdAt: number; id: string } {
  return decode(cursor, ([createdAt, id, ...rest]) =>
    rest.length === 0 &&
    Number.isSafeInteger(createdAt) &&
    typeof id === 'string' &&
    isSha256Hex(id)
      ? { createdAt: createdAt as number, id }
      : null,
  );
}

/** Timeline cursors: `t` then the (sort key, id) of the last item. */
export function encodeTakenCursor(last: { key: number; id: string }): string {
  return encode(['t', last.key, last.id]);
}

export function decodeTakenCursor(cursor: string): { key: number; id: string } {
  return decode(cursor, ([tag, key, id, ...rest]) =>
    rest.length === 0 &&
    tag === 't' &&
    Number.isSafeInteger(key) &&
    typeof id === 'string' &&
    isSha256Hex(id)
      ? { key: key as number, id }
      : null,
  );
}

/** Trash cursors: `d` then the (delete's HLC, id) of the last item. */
export function encodeTrashCursor(last: { deletedHlc: string; id: string }): string {
  return encode(['d', last.deletedHlc, last.id]);
}

export function decodeTrashCursor(cursor: string): { deletedHlc: string; id: string } {
  return decode(cursor, ([tag, deletedHlc, id, ...rest]) =>
    rest.length === 0 &&
    tag === 'd' &&
    typeof deletedHlc === 'string' &&
    isHlc(deletedHlc) &&
    typeof id === 'string' &&
    isSha256Hex(id)
      ? { deletedHlc, id }
      : null,
  );
}
