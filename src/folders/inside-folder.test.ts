import { mkdir, mkdtemp, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  assertParentsInside,
  makeDirsInside,
  realDirPrefix,
  regularFileInside,
  UnsafePathError,
} from './inside-folder.js';

let base: string;
let root: string;
let outside: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'mosaic-inside-'));
  root = join(base, 'folder');
  outside = join(base, 'outside');
  await mkdir(root);
  await mkdir(outside);
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('assertParentsInside', () => {
  it('accepts real directories and missing ones, and returns the absolute path', async () => {
    await mkdir(join(root, 'a', 'b'), { recursive: true });
    expect(assertParentsInside(root, 'a/b/c.txt')).toBe(join(root, 'a', 'b', 'c.txt'));
    expect(assertParentsInside(root, 'a/new/deeper/c.txt')).toBe(
      join(root, 'a', 'new', 'deeper', 'c.txt'),
    );
    expect(assertParentsInside(root, 'top.txt')).toBe(join(root, 'top.txt'));
    // The path is built as join builds it, whatever the root's form.
    for (const form of [`${root}/`, `${root}//`, `${root}/./`]) {
      expect(assertParentsInside(form, 'a/b/c.txt')).toBe(join(form, 'a', 'b', 'c.txt'));
      expect(assertParentsInside(form, 'top.txt')).toBe(join(form, 'top.txt'));
    }
  });

  it('refuses a symlinked parent, at any depth', async () => {
    await symlink(outside, join(root, 'out'));
    await mkdir(join(root, 'a'));
    await symlink(outside, join(root, 'a', 'link'));
    expect(() => assertParentsInside(root, 'out/pwned.txt')).toThrow(/out is a symbolic link/);
    expect(() => assertParentsInside(root, 'a/link/x/pwned.txt')).toThrow(
      /a\/link is a symbolic link/,
    );
    // A link that points inside the folder is refused too: the write would land elsewhere.
    await symlink(join(root, 'a'), join(root, 'alias'));
    expect(() => assertParentsInside(root, 'alias/x')).toThrow(UnsafePathError);
  });

  it('refuses a parent that is a file', async () => {
    await writeFile(join(root, 'f'), 'x');
    expect(() => assertParentsInside(root, 'f/x')).toThrow(/f is not a directory/);
  });

  it('refuses dot segments, absolute and empty paths before touching the disk', () => {
    for (const bad of ['../x', 'a/../../x', './x', '/etc/passwd', '', 'a//b', '.mosaic/tmp/x']) {
      expect(() => assertParentsInside(root, bad)).toThrow(UnsafePathError);
    }
  });

  it('leaves the leaf alone: a rename replaces a symlink at the leaf, it does not follow it', async () => {
    await symlink(join(outside, 'target'), join(root, 'leaf'));
    expect(assertParentsInside(root, 'leaf')).toBe(join(root, 'leaf'));
  });

  it('catches a directory swapped for a symlink after an earlier check', async () => {
    await mkdir(join(root, 'd'));
    expect(() => assertParentsInside(root, 'd/x')).not.toThrow();
    await rename(join(root, 'd'), join(base, 'moved'));
    await symlink(outside, join(root, 'd'));
    expect(() => assertParentsInside(root, 'd/x')).toThrow(/d is a symbolic link/);
  });
});

describe('regularFileInside', () => {
  it('gives regular files only, never through or at a symlink', async () => {
    await mkdir(join(root, 'a'));
    await writeFile(join(root, 'a', 'f.txt'), 'x');
    await writeFile(join(outside, 'secret'), 's');
    await symlink(outside, join(root, 'out'));
    await symlink(join(outside, 'secret'), join(root, 'a', 'leaf'));
    expect(regularFileInside(root, 'a/f.txt')).toBe(join(root, 'a', 'f.txt'));
    expect(regularFileInside(root, 'out/secret')).toBeNull();
    expect(regularFileInside(root, 'a/leaf')).toBeNull();
    expect(regularFileInside(root, 'a')).toBeNull();
    expect(regularFileInside(root, 'missing/x')).toBeNull();
    expect(regularFileInside(root, '../outside/secret')).toBeNull();
  });
});

describe('makeDirsInside', () => {
  it('makes missing levels one at a time', async () => {
    expect(await makeDirsInside(root, 'a/b/c')).toBe(join(root, 'a', 'b', 'c'));
    expect(await makeDirsInside(root, 'a/b/c')).toBe(join(root, 'a', 'b', 'c'));
  });

  it('creates nothing through a symlinked parent or over a symlink', async () => {
    await symlink(outside, join(root, 'out'));
    await expect(makeDirsInside(root, 'out/sub/deeper')).rejects.toThrow(/out is a symbolic link/);
    await expect(makeDirsInside(root, 'out')).rejects.toThrow(/out is a symbolic link/);
    expect(await readdir(outside)).toEqual([]);
  });

  it('refuses a level that is a file', async () => {
    await writeFile(join(root, 'f'), 'x');
    await expect(makeDirsInside(root, 'f/sub')).rejects.toThrow(/f is not a directory/);
  });
});

describe('realDirPrefix', () => {
  it('stops at the first level that is not a real directory', async () => {
    await mkdir(join(root, 'a', 'b'), { recursive: true });
    await mkdir(join(outside, 'sub'));
    await symlink(outside, join(root, 'a', 'out'));
    expect(realDirPrefix(root, 'a/b')).toBe('a/b');
    expect(realDirPrefix(root, 'a/b/gone')).toBe('a/b');
    expect(realDirPrefix(root, 'a/out/sub')).toBe('a');
    expect(realDirPrefix(root, 'a/../..')).toBe('a'); // never climbs: stops at '..'
    expect(realDirPrefix(root, '')).toBe('');
    // Local names the remote-path rules refuse are still local directories to rescan.
    await mkdir(join(root, 'a', 'b', 'c:d'));
    expect(realDirPrefix(root, 'a/b/c:d/new.txt')).toBe('a/b/c:d');
  });
});
