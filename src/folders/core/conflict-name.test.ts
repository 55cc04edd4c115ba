import { posix } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { conflictName, isConflictName, sanitizeNodeName, versionTag } from './conflict-name.js';
import { trashName } from './index.js';
import { checkRelativePath } from './paths.js';

// 2024-11-21T12:34:56.789Z
const T = Date.UTC(2024, 10, 21, 12, 34, 56, 789);
const S = '20241121-123456';

describe('conflictName', () => {
  it.each([
    ['notes.txt', `notes.sync-conflict-${S}-n1.txt`],
    ['docs/a.tar.gz', `docs/a.tar.sync-conflict-${S}-n1.gz`],
    ['.bashrc', `.bashrc.sync-conflict-${S}-n1`],
    ['home/.bashrc', `home/.bashrc.sync-conflict-${S}-n1`],
    ['.config.json', `.config.sync-conflict-${S}-n1.json`],
    ['Makefile', `Makefile.sync-conflict-${S}-n1`],
    ['v1.2/Makefile', `v1.2/Makefile.sync-conflict-${S}-n1`],
    ['a.', `a.sync-conflict-${S}-n1.`],
    ['photos/Été.JPG', `photos/Été.sync-conflict-${S}-n1.JPG`],
    [`x.sync-conflict-${S}-n2.txt`, `x.sync-conflict-${S}-n2.sync-conflict-${S}-n1.txt`],
  ])('names the copy of %j %j', (path, expected) => {
    expect(conflictName(path, T, 'n1')).toBe(expected);
    expect(isConflictName(expected)).toBe(true);
  });

  it('uses UTC and zero-pads every field', () => {
    expect(conflictName('a.txt', Date.UTC(2001, 0, 2, 3, 4, 5), 'n')).toBe(
      'a.sync-conflict-20010102-030405-n.txt',
    );
    expect(conflictName('a.txt', 0, 'n')).toBe('a.sync-conflict-19700101-000000-n.txt');
  });

  it('reduces the node name to [A-Za-z0-9_-]', () => {
    expect(sanitizeNodeName('Büro Mac/2')).toBe('B_ro_Mac_2');
    expect(sanitizeNodeName('../..')).toBe('_');
    expect(sanitizeNodeName('')).toBe('node');
    expect(sanitizeNodeName('node-1_A')).toBe('node-1_A');
    expect(conflictName('a.txt', T, 'my laptop.local')).toBe(
      `a.sync-conflict-${S}-my_laptop_local.txt`,
    );
  });

  it('shortens the stem, then the extension, to stay within 255 bytes', () => {
    const long = conflictName(`d/${'s'.repeat(250)}.jpg`, T, 'n1');
    const base = posix.basename(long);
    expect(Buffer.byteLength(base)).toBe(255);
    expect(base.endsWith(`.sync-conflict-${S}-n1.jpg`)).toBe(true);
    const longExt = conflictName(`s.${'e'.repeat(250)}`, T, 'n1');
    expect(Buffer.byteLength(longExt)).toBe(255);
    expect(longExt.startsWith(`.sync-conflict-${S}-n1.eee`)).toBe(true);
  });

  it('refuses what it cannot name', () => {
    expect(() => conflictName('../x', T, 'n1')).toThrow(RangeError);
    expect(() => conflictName('a.txt', Number.NaN, 'n1')).toThrow(RangeError);
    expect(() => conflictName('a.txt', 1e17, 'n1')).toThrow(RangeError);
    const deep = Array.from({ length: 16 }, () => 'd'.repeat(254)).join('/'); // 4079 bytes
    expect(() => conflictName(`${deep}/f`, T, 'n1')).toThrow(RangeError);
  });
});

describe('trashName', () => {
  it('appends the tag, shortening a long base name to keep within 255 bytes', () => {
    expect(trashName('a/b.txt', '0badcafe')).toBe('a/b.txt.0badcafe');
    const long = `${'é'.repeat(123)}.txt`; // 250 bytes
    const name = trashName(`dir/${long}`, '0badcafe');
    expect(name.startsWith('dir/éé')).toBe(true);
    expect(name.endsWith('.0badcafe')).toBe(true);
    expect(Buffer.byteLength(name.slice('dir/'.length))).toBeLessThanOrEqual(255);
  });
});

describe('isConflictName', () => {
  it.each([
    'a.txt',
    'a.sync-conflict-2024112-123456-n1.txt',
    'a.sync-conflict-20241121-123456-.txt',
    'a.sync-conflict-20241121-123456-n1.txt/inside',
  ])('rejects %j', (p) => {
    expect(isConflictName(p)).toBe(false);
  });
});

const nameSegment = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 90 })
  .map((s) => s.normalize('NFC'))
  .filter((s) => checkRelativePath(s).ok && !s.includes('/'));
const validPath = fc
  .array(
    fc.oneof(nameSegment, fc.constantFrom('a', '.b', 'c.d', 'e.f.g', '.h.i', 'x'.repeat(255))),
    {
      minLength: 1,
      maxLength: 4,
    },
  )
  .map((s) => s.join('/'))
  .filter((p) => checkRelativePath(p).ok);

describe('conflict names, for any path', () => {
  it('are valid paths in the same directory, recognized as conflict copies', () => {
    fc.assert(
      fc.property(
        validPath,
        fc.integer({ min: 0, max: 253_402_300_799_999 }),
        fc.string({ unit: 'binary', maxLength: 80 }),
        (path, wall, node) => {
          const name = conflictName(path, wall, node);
          expect(checkRelativePath(name)).toEqual({ ok: true, path: name });
          expect(posix.dirname(name)).toBe(posix.dirname(path));
          expect(name).not.toBe(path);
          expect(isConflictName(name)).toBe(true);
          expect(conflictName(path, wall, node)).toBe(name);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('keep the extension after the last dot, and the name before it', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9.]{0,8}$/),
        fc.stringMatching(/^[a-z0-9]{1,8}$/),
        fc.stringMatching(/^[a-z0-9]{1,8}$/),
        (head, stem, ext) => {
          const base = `${head}${stem}.${ext}`;
          fc.pre(checkRelativePath(base).ok && base.lastIndexOf('.') > 0);
          expect(conflictName(base, T, 'n1')).toBe(`${head}${stem}.sync-conflict-${S}-n1.${ext}`);
        },
      ),
    );
  });
});

describe('conflict names are unique per losing version (issue 11, cause 4)', () => {
  it('gives distinct versions of one path, node and second distinct names', () => {
    const version = fc.record({
      hlc: fc.stringMatching(/^[0-9a-z]{4,24}$/),
      origin: fc.constantFrom('aaaaaaaaaaaaaaa1', 'aaaaaaaaaaaaaaa2'),
      hash: fc.option(fc.stringMatching(/^[0-9a-f]{64}$/), { nil: null }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(version, {
          minLength: 2,
          maxLength: 40,
          selector: (v) => `${v.hlc} ${v.origin} ${v.hash}`,
        }),
        (versions) => {
          // Same node name, same second: before the tag, all of these were one name.
          const names = versions.map((v) => conflictName('d/a.txt', T, 'n1', versionTag(v)));
          expect(new Set(names).size).toBe(versions.length);
          for (const name of names) {
            expect(isConflictName(name)).toBe(true);
            expect(name).toMatch(new RegExp(`^d/a\\.sync-conflict-${S}-n1-[0-9a-f]{8}\\.txt$`));
          }
        },
      ),
    );
  });
});
