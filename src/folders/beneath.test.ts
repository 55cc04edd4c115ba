import { closeSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderBeneath } from './beneath.js';

const openFds = (): number => readdirSync('/proc/self/fd').length;

// 'link': the way a file system without RENAME_NOREPLACE takes (a link, then an unlink).
describe.each(['rename', 'link'] as const)(
  'moves beneath the folder root by %s (openat2, no symlink followed)',
  (moves) => {
    let dir: string;
    let root: string;
    let links: FolderBeneath;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'mosaic-beneath-'));
      root = join(dir, 'folder');
      await mkdir(join(root, 'a', 'b'), { recursive: true });
      await mkdir(join(dir, 'elsewhere', 'b'), { recursive: true });
      await writeFile(join(dir, 'tmp1'), 'one');
      links = new FolderBeneath(root, undefined, moves);
    });
    afterEach(async () => {
      links.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('links a file at the root or below real directories, and removes the temp file', async () => {
      expect(links.move(join(dir, 'tmp1'), 'a/b/f.txt')).toBe(true);
      expect(await readFile(join(root, 'a', 'b', 'f.txt'), 'utf8')).toBe('one');
      expect(existsSync(join(dir, 'tmp1'))).toBe(false);
      await writeFile(join(dir, 'tmp2'), 'two');
      expect(links.move(join(dir, 'tmp2'), 'top.txt')).toBe(true);
      expect(await readFile(join(root, 'top.txt'), 'utf8')).toBe('two');
    });

    it('takes the way it was given: a directory moves by rename, never by link', async () => {
      await mkdir(join(dir, 'tmpdir'));
      expect(links.move(join(dir, 'tmpdir'), 'a/d')).toBe(moves === 'rename');
      expect(existsSync(join(root, 'a', 'd'))).toBe(moves === 'rename');
      expect(existsSync(join(dir, 'tmpdir'))).toBe(moves === 'link');
    });

    it('never replaces a file: false, and the temp file stays', async () => {
      await writeFile(join(root, 'a', 'b', 'f.txt'), 'mine');
      expect(links.move(join(dir, 'tmp1'), 'a/b/f.txt')).toBe(false);
      expect(await readFile(join(root, 'a', 'b', 'f.txt'), 'utf8')).toBe('mine');
      expect(existsSync(join(dir, 'tmp1'))).toBe(true);
    });

    it('goes nowhere through a symlinked directory, nor where a parent is missing or a file', async () => {
      await symlink(join(dir, 'elsewhere'), join(root, 'out'));
      await writeFile(join(root, 'plain'), 'x');
      for (const rel of [
        'out/b/f.txt',
        'out/f.txt',
        'a/missing/f.txt',
        'plain/f.txt',
        '../x',
        'a\0b',
      ]) {
        expect(links.move(join(dir, 'tmp1'), rel)).toBeNull();
      }
      expect(readdirSync(join(dir, 'elsewhere'))).toEqual(['b']);
      expect(readdirSync(join(dir, 'elsewhere', 'b'))).toEqual([]);
      expect(existsSync(join(dir, 'tmp1'))).toBe(true);
    });

    it('follows a root that is itself a symlink (the user chose it)', async () => {
      await symlink(root, join(dir, 'chosen'));
      const through = new FolderBeneath(join(dir, 'chosen'));
      try {
        expect(through.move(join(dir, 'tmp1'), 'a/f.txt')).toBe(true);
      } finally {
        through.close();
      }
      expect(await readFile(join(root, 'a', 'f.txt'), 'utf8')).toBe('one');
    });

    it('holds the root open only until closed', async () => {
      const before = openFds();
      expect(links.move(join(dir, 'tmp1'), 'a/f.txt')).toBe(true);
      expect(openFds()).toBe(before + 1);
      links.close();
      expect(openFds()).toBe(before);
    });

    it('opens a file below the root, never a link nor through one', async () => {
      await writeFile(join(root, 'a', 'b', 'f.txt'), 'here');
      await symlink(join(dir, 'elsewhere'), join(root, 'out'));
      await writeFile(join(dir, 'elsewhere', 'b', 'f.txt'), 'outside');
      await symlink(join(root, 'a', 'b', 'f.txt'), join(root, 'a', 'ln'));
      const fd = links.open('a/b/f.txt', constants.O_RDONLY);
      expect(typeof fd).toBe('number');
      expect(readFileSync(fd as number, 'utf8')).toBe('here');
      closeSync(fd as number);
      for (const rel of ['out/b/f.txt', 'a/ln', 'a/gone', 'a/b/f.txt/x', '../x', '']) {
        expect(links.open(rel, constants.O_RDONLY)).toBe(false);
      }
      // There, but not to be opened so (a directory for writing): thrown, not "not there".
      let thrown: unknown;
      try {
        links.open('a/b', constants.O_WRONLY);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({ code: 'EISDIR', syscall: 'openat2' });
    });

    it('closes the root after the idle time it was given', async () => {
      const before = openFds();
      const idle = new FolderBeneath(root, 50);
      await writeFile(join(root, 'f'), 'x');
      closeSync(idle.open('f', constants.O_RDONLY) as number);
      expect(openFds()).toBe(before + 1);
      await expect.poll(openFds, { timeout: 2000 }).toBe(before);
    });
  },
);
