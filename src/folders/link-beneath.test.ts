import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LinksBeneath } from './link-beneath.js';

const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('links beneath the folder root (openat2, no symlink followed)', () => {
  let dir: string;
  let root: string;
  let links: LinksBeneath;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mosaic-beneath-'));
    root = join(dir, 'folder');
    await mkdir(join(root, 'a', 'b'), { recursive: true });
    await mkdir(join(dir, 'elsewhere', 'b'), { recursive: true });
    await writeFile(join(dir, 'tmp1'), 'one');
    links = new LinksBeneath(root);
  });
  afterEach(async () => {
    links.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('links a file at the root or below real directories, and removes the temp file', async () => {
    expect(links.link(join(dir, 'tmp1'), 'a/b/f.txt')).toBe(true);
    expect(await readFile(join(root, 'a', 'b', 'f.txt'), 'utf8')).toBe('one');
    expect(existsSync(join(dir, 'tmp1'))).toBe(false);
    await writeFile(join(dir, 'tmp2'), 'two');
    expect(links.link(join(dir, 'tmp2'), 'top.txt')).toBe(true);
    expect(await readFile(join(root, 'top.txt'), 'utf8')).toBe('two');
  });

  it('never replaces a file: false, and the temp file stays', async () => {
    await writeFile(join(root, 'a', 'b', 'f.txt'), 'mine');
    expect(links.link(join(dir, 'tmp1'), 'a/b/f.txt')).toBe(false);
    expect(await readFile(join(root, 'a', 'b', 'f.txt'), 'utf8')).toBe('mine');
    expect(existsSync(join(dir, 'tmp1'))).toBe(true);
  });

  it('goes nowhere through a symlinked directory, nor where a parent is missing or a file', async () => {
    await symlink(join(dir, 'elsewhere'), join(root, 'out'));
    await writeFile(join(root, 'plain'), 'x');
    for (const rel of ['out/b/f.txt', 'out/f.txt', 'a/missing/f.txt', 'plain/f.txt', '../x']) {
      expect(links.link(join(dir, 'tmp1'), rel)).toBeNull();
    }
    expect(readdirSync(join(dir, 'elsewhere'))).toEqual(['b']);
    expect(readdirSync(join(dir, 'elsewhere', 'b'))).toEqual([]);
    expect(existsSync(join(dir, 'tmp1'))).toBe(true);
  });

  it('follows a root that is itself a symlink (the user chose it)', async () => {
    await symlink(root, join(dir, 'chosen'));
    const through = new LinksBeneath(join(dir, 'chosen'));
    try {
      expect(through.link(join(dir, 'tmp1'), 'a/f.txt')).toBe(true);
    } finally {
      through.close();
    }
    expect(await readFile(join(root, 'a', 'f.txt'), 'utf8')).toBe('one');
  });

  it('holds the root open only until closed', async () => {
    const before = openFds();
    expect(links.link(join(dir, 'tmp1'), 'a/f.txt')).toBe(true);
    expect(openFds()).toBe(before + 1);
    links.close();
    expect(openFds()).toBe(before);
  });
});
