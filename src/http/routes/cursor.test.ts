import { describe, expect, test } from 'vitest';
import { BadRequestError } from '../../core/errors.js';
import { encodeHlc } from '../../core/hlc.js';
import {
  decodeCursor,
  decodeTakenCursor,
  decodeTrashCursor,
  encodeKeyCursor,
  encodeTakenCursor,
  encodeTrashCursor,
} from './cursor.js';

const ID = 'ab'.repeat(32);
const HLC = encodeHlc({ wall: 1_796_570_000_000, counter: 3, node: 'n1' });
const raw = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('page cursors', () => {
  test('each kind reads back what it wrote', () => {
    expect(decodeCursor(encodeKeyCursor({ key: 17, id: ID }))).toEqual({ createdAt: 17, id: ID });
    expect(decodeTakenCursor(encodeTakenCursor({ key: -5, id: ID }))).toEqual({ key: -5, id: ID });
    expect(decodeTrashCursor(encodeTrashCursor({ deletedHlc: HLC, id: ID }))).toEqual({
      deletedHlc: HLC,
      id: ID,
    });
  });

  test('a cursor of another kind or shape is a 400, never a throw of anything else', () => {
    const refused = [
      'not base64 json',
      raw({ a: 1 }),
      raw([]),
      raw([17, ID, 'more']),
      raw([17, 'not-an-id']),
      raw([1.5, ID]),
      encodeTakenCursor({ key: 1, id: ID }),
      encodeTrashCursor({ deletedHlc: HLC, id: ID }),
    ];
    for (const cursor of refused) expect(() => decodeCursor(cursor)).toThrow(BadRequestError);
    for (const cursor of [raw(['t', 'x', ID]), encodeKeyCursor({ key: 1, id: ID })]) {
      expect(() => decodeTakenCursor(cursor)).toThrow(BadRequestError);
    }
    for (const cursor of [
      raw(['d', 'not-a-clock', ID]),
      raw(['d', HLC]),
      raw(['t', HLC, ID]),
      raw(['d', HLC, ID.toUpperCase()]),
    ]) {
      expect(() => decodeTrashCursor(cursor)).toThrow(BadRequestError);
    }
  });
});
