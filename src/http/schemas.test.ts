import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LoginBody,
  PictureCreateFields,
  PictureIdParams,
  PictureListQuery,
  PicturePatch,
} from './schemas.js';

const control = fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c));
const printable = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 50 })
  .filter((s) => s.trim().length > 0 && !/\p{Cc}/u.test(s));

describe('request validators', () => {
  it('accept any printable title up to 200 characters, trimmed', () => {
    fc.assert(
      fc.property(printable, (title) => {
        fc.pre(title.trim().length <= 200);
        const parsed = PictureCreateFields.safeParse({ title });
        expect(parsed.success).toBe(true);
        expect(parsed.data?.title).toBe(title.trim());
      }),
    );
  });

  it('refuse a title holding any control character', () => {
    fc.assert(
      fc.property(printable, control, fc.nat(), (title, c, at) => {
        const pos = at % (title.length + 1);
        const bad = `x${title.slice(0, pos)}${c}${title.slice(pos)}x`;
        expect(PictureCreateFields.safeParse({ title: bad }).success).toBe(false);
      }),
    );
  });

  it('refuse titles over 200 characters and missing titles', () => {
    expect(PictureCreateFields.safeParse({ title: 'a'.repeat(10_000) }).success).toBe(false);
    expect(PictureCreateFields.safeParse({ title: '   ' }).success).toBe(false);
    expect(PictureCreateFields.safeParse({ category: 'x' }).success).toBe(false);
  });

  it('allow newlines and tabs in a description but no other control character', () => {
    expect(
      PictureCreateFields.safeParse({ title: 't', desc: 'line 1\n\tline 2\r\n' }).success,
    ).toBe(true);
    expect(PictureCreateFields.safeParse({ title: 't', desc: 'bell\u0007' }).success).toBe(false);
  });

  it('refuse unknown fields anywhere', () => {
    fc.assert(
      fc.property(
        fc
          .string({ minLength: 1, maxLength: 10 })
          .filter((k) => !['title', 'category', 'desc'].includes(k)),
        fc.jsonValue(),
        (key, value) => {
          expect(PicturePatch.safeParse({ [key]: value }).success).toBe(false);
          expect(PictureCreateFields.safeParse({ title: 't', [key]: value }).success).toBe(false);
        },
      ),
    );
  });

  it('accept only 64 lower-case hex characters as a picture id', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (id) => {
        const ok = /^[0-9a-f]{64}$/.test(id);
        expect(PictureIdParams.safeParse({ id }).success).toBe(ok);
      }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{64}$/), (id) => {
        expect(PictureIdParams.safeParse({ id }).success).toBe(true);
      }),
    );
  });

  it('bound list limits and coerce them from the query string', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), (n) => {
        const parsed = PictureListQuery.safeParse({ limit: String(n) });
        expect(parsed.success).toBe(n >= 1 && n <= 200);
      }),
    );
    expect(PictureListQuery.parse({}).limit).toBe(50);
  });

  it('never throw, whatever JSON arrives', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        for (const schema of [PicturePatch, LoginBody, PictureCreateFields, PictureListQuery]) {
          expect(() => schema.safeParse(body)).not.toThrow();
        }
      }),
    );
  });
});
