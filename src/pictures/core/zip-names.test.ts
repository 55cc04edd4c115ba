import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { safeBaseName, zipEntryNames } from './zip-names.js';

const pic = (title: string, contentType = 'image/jpeg', id = 'ab'.repeat(32)) => ({
  id,
  title,
  contentType,
});

describe('zip entry names', () => {
  test('titles become file names with the type extension, repeated ones numbered', () => {
    expect(
      zipEntryNames([
        pic('Beach'),
        pic('beach'),
        pic('Beach', 'image/heic'),
        pic('Beach'),
        pic('../../etc/passwd'),
        pic('a:b*c?"d"<e>|f\\g'),
        pic('  ...  ', 'image/png', 'cd'.repeat(32)),
        pic('CON'),
      ]),
    ).toEqual([
      'Beach.jpg',
      'beach (2).jpg',
      'Beach.heic',
      'Beach (3).jpg',
      '_.._etc_passwd.jpg',
      'a_b_c__d__e__f_g.jpg',
      'cdcdcdcdcdcd.png',
      'abababababab.jpg',
    ]);
  });

  test('any titles give safe, unique names', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 300 }), { maxLength: 30 }), (titles) => {
        const names = zipEntryNames(titles.map((t) => pic(t)));
        expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(names.length);
        for (const name of names) {
          // eslint-disable-next-line no-control-regex
          expect(name).not.toMatch(/[/\\:*?"<>|\u0000-\u001f]/);
          expect(name.startsWith('.')).toBe(false);
          expect(name.length).toBeLessThan(120);
        }
      }),
    );
  });

  test('a long title is cut without splitting a character', () => {
    const base = safeBaseName('😀'.repeat(150), 'x');
    expect(base).toBe('😀'.repeat(100));
  });
});
