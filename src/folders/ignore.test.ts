import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ignoreRules, loadIgnore } from './ignore.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'mosaic-ignore-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('.mosaicignore', () => {
  it('always ignores .mosaic/ at any depth, and nothing else when there is no file', async () => {
    const isIgnored = await loadIgnore(root);
    expect(isIgnored('.mosaic', true)).toBe(true);
    expect(isIgnored('.mosaic/tmp/x', false)).toBe(true);
    expect(isIgnored('.mosaicignore', false)).toBe(false);
    expect(isIgnored('a/.mosaic', true)).toBe(true);
    expect(isIgnored('a/b/.mosaic/device.db', false)).toBe(true);
    expect(isIgnored('a/.Mosaic/trash/x', false)).toBe(true);
    expect(isIgnored('a/.mosaicignore', false)).toBe(false);
    expect(isIgnored('a/x.mosaic', true)).toBe(false);
    expect(isIgnored('photo.jpg', false)).toBe(false);
  });

  it('follows gitignore syntax: globs, anchors, directory-only rules, negation, comments', async () => {
    await writeFile(
      join(root, '.mosaicignore'),
      ['# editor leftovers', '*.tmp', '!keep.tmp', '/build', 'cache/', 'docs/**/*.bak', ''].join(
        '\n',
      ),
    );
    const isIgnored = await loadIgnore(root);
    expect(isIgnored('a.tmp', false)).toBe(true);
    expect(isIgnored('deep/er/a.tmp', false)).toBe(true);
    expect(isIgnored('keep.tmp', false)).toBe(false);
    expect(isIgnored('build', true)).toBe(true);
    expect(isIgnored('build/out.o', false)).toBe(true);
    expect(isIgnored('src/build', true)).toBe(false);
    expect(isIgnored('cache', true)).toBe(true);
    expect(isIgnored('cache', false)).toBe(false);
    expect(isIgnored('x/cache/y', false)).toBe(true);
    expect(isIgnored('docs/a/b/c.bak', false)).toBe(true);
    expect(isIgnored('c.bak', false)).toBe(false);
    expect(isIgnored('A.TMP', false)).toBe(false); // case-sensitive everywhere
  });

  it('gives the same verdicts when it is made again to let its remembered verdicts go', () => {
    const text = ['*.tmp', '!keep.tmp', 'cache/'].join('\n');
    const cases: [string, boolean, boolean][] = [
      ['a.tmp', false, true],
      ['keep.tmp', false, false],
      ['cache', true, true],
      ['x/cache/y', false, true],
      ['x/y.txt', false, false],
    ];
    const fresh = ignoreRules(text);
    const renewed = ignoreRules(text, 2); // made again every 2 answers
    for (let round = 0; round < 3; round++) {
      for (const [path, isDir, expected] of cases) {
        expect(fresh(path, isDir), path).toBe(expected);
        expect(renewed(path, isDir), path).toBe(expected);
      }
    }
  });
});
