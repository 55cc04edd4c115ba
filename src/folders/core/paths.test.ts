import { posix, win32 } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_PATH_BYTES,
  PathOutsideRootError,
  checkRelativePath,
  joinInside,
  parentDirs,
} from './paths.js';

const ROOT = '/srv/mosaic/folder';
const WIN_ROOT = 'C:\\mosaic\\folder';

/** Pieces that have been used to escape a directory somewhere, plus ordinary names. */
const tricky = [
  '..',
  '.',
  '/',
  '//',
  '\\',
  '%2e',
  '%2E%2e',
  '%2f',
  '%5c',
  '..%2f',
  '%c0%ae',
  '\u2024', // one dot leader
  '\uff0e', // fullwidth full stop
  '\u2215', // division slash
  '\uff0f', // fullwidth solidus
  ':',
  'C:',
  'c:',
  '\0',
  '\u0001',
  '\n',
  '\u007f',
  '\u0085',
  '\ud800',
  '\udc00',
  '\u{1f600}',
  '.mosaic',
  '.Mosaic',
  '.mosaicignore',
  '~',
  ' ',
  'a',
  'b.txt',
  '\u00e9', // é, composed
  'e\u0301', // é, decomposed
  'x'.repeat(120),
];

const trickyPath = fc
  .array(fc.constantFrom(...tricky), { minLength: 1, maxLength: 12 })
  .map((parts) => parts.join(''));

const anyPath = fc.oneof(
  trickyPath,
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc
    .array(fc.string({ unit: 'binary-ascii', maxLength: 6 }), { maxLength: 6 })
    .map((s) => s.join('/')),
);

/** Strings that should be accepted: ordinary names, nested, in any Unicode normal form. */
const segment = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 12 })
  .filter(
    (s) =>
      !/[/\\:]/.test(s) &&
      s !== '.' &&
      s !== '..' &&
      s.toLowerCase() !== '.mosaic' &&
      Buffer.byteLength(s.normalize('NFD')) <= 255,
  );
const goodPath = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join('/'));

describe('checkRelativePath', () => {
  it.each([
    ['', 'empty'],
    ['.', "'.' segment"],
    ['..', "'..' segment"],
    ['a/../b', "'..' segment"],
    ['a/./b', "'.' segment"],
    ['a//b', 'empty segment'],
    ['a/', 'empty segment'],
    ['/etc/passwd', 'absolute'],
    ['a\\b', 'backslash'],
    ['..\\..\\windows', 'backslash'],
    ['C:/Windows', "':'"],
    ['C:', "':'"],
    ['notes.txt:secret', "':'"],
    ['a\0b', 'control'],
    ['a\nb', 'control'],
    ['a\u0085b', 'control'],
    ['bad\ud800', 'Unicode'],
    ['.mosaic', 'internal'],
    ['.mosaic/trash/x', 'internal'],
    ['.MOSAIC/tmp', 'internal'],
    ['sub/.mosaic/device.db', 'internal'],
    ['a/b/.Mosaic', 'internal'],
    ['x'.repeat(256), '255'],
    [Array.from({ length: 20 }, () => 'y'.repeat(250)).join('/'), '4096'],
  ])('refuses %j (%s)', (p, reason) => {
    const r = checkRelativePath(p);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });

  it.each([
    'a',
    'a/b/c.txt',
    '%2e%2e/%2e%2e/etc',
    '...',
    '..a/b..',
    '.hidden',
    'sub/.mosaicignore',
    'sub/x.mosaic/ok',
    '.mosaicignore',
    'é/ü.jpg',
    '\u{1f600}.png',
    'x'.repeat(255),
  ])('accepts %j unchanged', (p) => {
    expect(checkRelativePath(p)).toEqual({ ok: true, path: p });
  });

  it("accepts a '.mosaic' below the top only when told to (operations older devices logged)", () => {
    expect(checkRelativePath('sub/.mosaic/ok', { nestedInternal: true }).ok).toBe(true);
    expect(checkRelativePath('.mosaic/ok', { nestedInternal: true }).ok).toBe(false);
  });

  it('counts bytes, not characters', () => {
    expect(checkRelativePath('é'.repeat(127)).ok).toBe(true); // 254 bytes
    expect(checkRelativePath('é'.repeat(128)).ok).toBe(false); // 256 bytes
    const exact = Array.from({ length: 17 }, () => 'z'.repeat(240)).join('/');
    expect(Buffer.byteLength(exact)).toBe(MAX_PATH_BYTES);
    expect(checkRelativePath(exact).ok).toBe(true);
    const over = `${exact}z`;
    expect(checkRelativePath(over)).toEqual({
      ok: false,
      reason: `the path is longer than ${MAX_PATH_BYTES} bytes`,
    });
  });

  it('accepts a decomposed name in its composed (NFC) form', () => {
    expect(checkRelativePath('cafe\u0301/re\u0301sume\u0301.txt')).toEqual({
      ok: true,
      path: 'caf\u00e9/r\u00e9sum\u00e9.txt',
    });
  });

  it('never accepts a path that resolves outside the root, on POSIX or Windows', () => {
    let accepted = 0;
    fc.assert(
      fc.property(anyPath, (p) => {
        const r = checkRelativePath(p);
        if (!r.ok) return;
        accepted++;
        const abs = joinInside(ROOT, r.path);
        expect(abs).toBe(posix.resolve(ROOT, r.path));
        expect(abs.startsWith(`${ROOT}/`)).toBe(true);
        // Nothing was collapsed away: the path names exactly the entries it spells.
        expect(posix.relative(ROOT, abs)).toBe(r.path);
        const winAbs = win32.resolve(WIN_ROOT, r.path);
        expect(winAbs.startsWith(`${WIN_ROOT}\\`)).toBe(true);
        expect(win32.relative(WIN_ROOT, winAbs)).toBe(r.path.split('/').join('\\'));
      }),
      { numRuns: 2000 },
    );
    // The generators are adversarial; make sure the property still sees many accepted paths.
    expect(accepted).toBeGreaterThan(400);
  });

  it('returns NFC paths free of control characters, backslashes and colons', () => {
    fc.assert(
      fc.property(anyPath, (p) => {
        const r = checkRelativePath(p);
        if (!r.ok) return;
        expect(r.path).toBe(r.path.normalize('NFC'));
        expect(r.path).not.toMatch(/[\p{Cc}\\:]/u);
      }),
      { numRuns: 2000 },
    );
  });

  it('has accepted paths as fixed points', () => {
    fc.assert(
      fc.property(fc.oneof(anyPath, goodPath), (p) => {
        const r = checkRelativePath(p);
        if (r.ok) expect(checkRelativePath(r.path)).toEqual(r);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts ordinary nested names in any normal form', () => {
    fc.assert(
      fc.property(goodPath, fc.constantFrom('NFC' as const, 'NFD' as const), (p, f) => {
        const r = checkRelativePath(p.normalize(f));
        expect(r).toEqual({ ok: true, path: p.normalize(f).normalize('NFC') });
      }),
    );
  });
});

describe('joinInside', () => {
  it('joins a relative path below the root', () => {
    expect(joinInside(ROOT, 'a/b.txt')).toBe(`${ROOT}/a/b.txt`);
    expect(joinInside(`${ROOT}/`, 'a')).toBe(`${ROOT}/a`);
    expect(joinInside('/', 'a')).toBe('/a');
    expect(joinInside(ROOT, '.mosaic/tmp/x')).toBe(`${ROOT}/.mosaic/tmp/x`);
  });

  it.each(['..', '../x', 'a/../../x', '', '.', 'a/..', '/etc/passwd', 'a\0b'])(
    'throws for %j',
    (rel) => {
      expect(() => joinInside(ROOT, rel)).toThrow(PathOutsideRootError);
    },
  );

  it('throws for a relative root', () => {
    expect(() => joinInside('folder', 'a')).toThrow(PathOutsideRootError);
  });

  it('never returns a path outside the root, whatever it is given', () => {
    fc.assert(
      fc.property(anyPath, (rel) => {
        let abs: string;
        try {
          abs = joinInside(ROOT, rel);
        } catch (e) {
          expect(e).toBeInstanceOf(PathOutsideRootError);
          return;
        }
        expect(abs.startsWith(`${ROOT}/`)).toBe(true);
        const fromRoot = posix.relative(ROOT, abs);
        expect(fromRoot === '..' || fromRoot.startsWith('../')).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});

/** joinInside as it was before its plain-path shortcut: posix.join, then relative. */
function generalJoin(root: string, rel: string): string | null {
  if (!posix.isAbsolute(root) || posix.isAbsolute(rel) || rel.includes('\0')) return null;
  const base = posix.normalize(root);
  const joined = posix.join(base, rel);
  const fromRoot = posix.relative(base, joined);
  const outside =
    fromRoot === '' ||
    fromRoot === '..' ||
    fromRoot.startsWith('../') ||
    posix.isAbsolute(fromRoot);
  return outside ? null : joined;
}

describe('joinInside, plain paths by concatenation', () => {
  it('answers what the general join answers, for any root and path', () => {
    const roots = fc.constantFrom(ROOT, `${ROOT}/`, '/', '/a//b/./c', '/x/../y/');
    fc.assert(
      fc.property(roots, anyPath, (root, rel) => {
        let abs: string | null;
        try {
          abs = joinInside(root, rel);
        } catch (e) {
          expect(e).toBeInstanceOf(PathOutsideRootError);
          abs = null;
        }
        expect(abs).toBe(generalJoin(root, rel));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('parentDirs', () => {
  it('lists the ancestors outermost first', () => {
    expect(parentDirs('a/b/c')).toEqual(['a', 'a/b']);
    expect(parentDirs('a')).toEqual([]);
  });

  it('gives valid, strictly nested prefixes of an accepted path', () => {
    fc.assert(
      fc.property(goodPath, (p) => {
        const path = p.normalize('NFC');
        const parents = parentDirs(path);
        expect(parents).toHaveLength(path.split('/').length - 1);
        for (const [i, dir] of parents.entries()) {
          expect(checkRelativePath(dir)).toEqual({ ok: true, path: dir });
          expect(path.startsWith(`${dir}/`)).toBe(true);
          if (i > 0) expect(dir.startsWith(`${parents[i - 1] ?? ''}/`)).toBe(true);
        }
      }),
    );
  });
});
