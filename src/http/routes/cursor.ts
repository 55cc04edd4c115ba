import { BadRequestError } from '../../core/errors.js';
import { isHlc } from '../../core/hlc.js';
import { isSha256Hex } from '../../core/ids.js';
import type { Picture } from '../../pictures/picture.repository.js';

/** Opaque page cursors: the (creation time, id) of the last item, base64url-encoded. */
export function encodeCursor(last: Picture): string {
  return Buffer.from(JSON.stringify([Date.parse(last.createdAt), last.id])).toString('base64url');
}

/** The same cursor as `encodeCursor` from the last item's creation time (ms) and id. */
export function encodeKeyCursor(last: { key: number; id: string }): string {
  return Buffer.from(JSON.stringify([last.key, last.id])).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: number; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      Number.isSafeInteger(value[0]) &&
      typeof value[1] === 'string' &&
      isSha256Hex(value[1])
    ) {
      return { createdAt: value[0] as number, id: value[1] };
    }
  } catch {
    // fall through
  }
  throw new BadRequestError('The cursor is not one this server gave out.', 'validation_failed');
}

/** Timeline cursors: `t` then the (sort key, id) of the last item, base64url-encoded. */
export function encodeTakenCursor(last: { key: number; id: string }): string {
  return Buffer.from(JSON.stringify(['t', last.key, last.id])).toString('base64url');
}

export function decodeTakenCursor(cursor: string): { key: number; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 3 &&
      value[0] === 't' &&
      Number.isSafeInteger(value[1]) &&
      typeof value[2] === 'string' &&
      isSha256Hex(value[2])
    ) {
      return { key: value[1] as number, id: value[2] };
    }
  } catch {
    // fall through
  }
  throw new BadRequestError('The cursor is not one this server gave out.', 'validation_failed');
}

/** Trash cursors: `d` then the (delete's HLC, id) of the last item, base64url-encoded. */
export function encodeTrashCursor(last: { deletedHlc: string; id: string }): string {
  return Buffer.from(JSON.stringify(['d', last.deletedHlc, last.id])).toString('base64url');
}

export function decodeTrashCursor(cursor: string): { deletedHlc: string; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 3 &&
      value[0] === 'd' &&
      typeof value[1] === 'string' &&
      isHlc(value[1]) &&
      typeof value[2] === 'string' &&
      isSha256Hex(value[2])
    ) {
      return { deletedHlc: value[1], id: value[2] };
    }
  } catch {
    // fall through
  }
  throw new BadRequestError('The cursor is not one this server gave out.', 'validation_failed');
}
