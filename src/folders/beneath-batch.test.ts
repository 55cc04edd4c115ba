import { execFileSync } from 'node:child_process';
import { hash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  futimesSync,
  lstatSync,
  openSync,
  readdirSync,
  writeSync,
} from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchesOnPool, writeFiles } from './beneath-batch.js';
import { FolderBeneath } from './beneath.js';
import { wholeMs } from './disk-state.js';
import { mtimeSeconds } from './link-no-replace.js';

const openFds = (): number => readdirSync('/proc/self/fd').length;

let dir: string;
let tmp: string;
let root: string;
let tmpFd: number;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-batch-'));
  tmp = join(dir, 'tmp');
  root = join(dir, 'folder');
  await mkdir(tmp);
  await mkdir(join(root, 'a', 'b'), { recursive: true });
  tmpFd = openSync(tmp, constants.O_RDONLY | constants.O_DIRECTORY);
});
afterEach(async () => {
  closeSync(tmpFd);
  await rm(dir, { recursive: true, force: true });
});

const MTIME_MS = 1_700_000_000_123;

/** The SHA-256s of `data`, as a pull asks for them. */
const sha256s = (data: readonly Buffer[]): string[] => data.map((b) => hash('sha256', b));

describe.runIf(batchesOnPool())('a batch of temp files written on the pool', () => {
  it('creates each file with its bytes and mtime, and answers the state an fstat gives', async () => {
    const data = [Buffer.from('one'), Buffer.alloc(200_000, 7), Buffer.alloc(0)];
    const before = openFds();
    const written = await writeFiles(
      tmpFd,
      tmp,
      ['x1', 'x2', 'x3'],
      data,
      sha256s(data),
      [MTIME_MS, 5, -1],
      false,
    );
    expect(openFds()).toBe(before);
    for (const [i, file] of written.entries()) {
      expect(file.error).toBeNull();
      expect(file.fd).toBeNull();
      const path = join(tmp, `x${i + 1}`);
      expect(await readFile(path)).toEqual(data[i]);
      const info = lstatSync(path, { bigint: true });
      expect(file.info?.size).toBe(Number(info.size));
      expect(file.info?.ino).toBe(Number(info.ino));
      expect(file.info?.ctimeNs).toBe(info.ctimeNs);
      expect(file.info?.mtimeMs).toBe(wholeMs(info.mtimeNs));
      expect(file.info?.isFile()).toBe(true);
    }
    // The time futimes sets from `mtimeSeconds`, as the direct way writes a temp file.
    for (const [i, ms] of [MTIME_MS, 5].entries()) {
      const direct = join(tmp, `direct${i}`);
      const fd = openSync(direct, 'wx');
      futimesSync(fd, mtimeSeconds(ms), mtimeSeconds(ms));
      closeSync(fd);
      // The same whole milliseconds, what the index records (the direct way's float seconds
      // land a few nanoseconds off).
      expect(wholeMs(lstatSync(join(tmp, `x${i + 1}`), { bigint: true }).mtimeNs)).toBe(
        wholeMs(lstatSync(direct, { bigint: true }).mtimeNs),
      );
    }
    expect(written[0]?.info?.mtimeMs).toBe(MTIME_MS);
    // Before 1970 as sent (Node's futimes takes a negative time for "now").
    expect(lstatSync(join(tmp, 'x3'), { bigint: true }).mtimeNs).toBe(-500_000n);
  });

  it('keeps the descriptors open when asked (each file then flushed by itself)', async () => {
    const kept = [Buffer.from('kept')];
    const [file] = await writeFiles(tmpFd, tmp, ['k'], kept, sha256s(kept), [MTIME_MS], true);
    expect(file?.fd).toBeTypeOf('number');
    const fd = file?.fd as number;
    expect(Number(fstatSync(fd, { bigint: true }).ino)).toBe(file?.info?.ino);
    writeSync(fd, '!');
    closeSync(fd);
    expect(await readFile(join(tmp, 'k'), 'utf8')).toBe('kept!');
  });

  it('never writes over a file: EEXIST for that one, the others written', async () => {
    await writeFile(join(tmp, 'taken'), 'mine');
    const data = [Buffer.from('1'), Buffer.from('2'), Buffer.from('3')];
    const written = await writeFiles(
      tmpFd,
      tmp,
      ['a', 'taken', 'c'],
      data,
      sha256s(data),
      [MTIME_MS, MTIME_MS, MTIME_MS],
      false,
    );
    expect(written.map((f) => (f.error as NodeJS.ErrnoException | null)?.code ?? null)).toEqual([
      null,
      'EEXIST',
      null,
    ]);
    expect(written[1]?.error).toMatchObject({ syscall: 'openat', path: join(tmp, 'taken') });
    expect(await readFile(join(tmp, 'taken'), 'utf8')).toBe('mine');
    expect(await readFile(join(tmp, 'c'), 'utf8')).toBe('3');
  });

  it('makes nothing of bytes whose SHA-256 is not the one asked for, and writes the others', async () => {
    const data = [Buffer.from('right'), Buffer.alloc(50_000, 3), Buffer.from('also right')];
    const asked = sha256s(data);
    // The second's bytes differ from what was asked for by one byte at the end.
    const sent = [data[0], Buffer.concat([Buffer.alloc(49_999, 3), Buffer.from([4])]), data[2]];
    const written = await writeFiles(
      tmpFd,
      tmp,
      ['r1', 'wrong', 'r2'],
      sent as Buffer[],
      asked,
      [MTIME_MS, MTIME_MS, MTIME_MS],
      false,
    );
    expect(written.map((f) => f.error)).toEqual([null, 'wrong content', null]);
    expect((await readdir(tmp)).sort()).toEqual(['r1', 'r2']);
    expect(await readFile(join(tmp, 'r2'), 'utf8')).toBe('also right');
    // Upper-case hex digits are the same SHA-256.
    const [upper] = await writeFiles(
      tmpFd,
      tmp,
      ['u'],
      [data[0] as Buffer],
      [asked[0]?.toUpperCase() ?? ''],
      [MTIME_MS],
      false,
    );
    expect(upper?.error).toBeNull();
  });

  it('writes through the copy of the descriptor it took: closing the caller’s changes nothing', async () => {
    const fd = openSync(tmp, constants.O_RDONLY | constants.O_DIRECTORY);
    const x = [Buffer.from('x')];
    const writing = writeFiles(fd, tmp, ['late'], x, sha256s(x), [MTIME_MS], false);
    closeSync(fd);
    expect((await writing)[0]?.error).toBeNull();
    expect(await readFile(join(tmp, 'late'), 'utf8')).toBe('x');
  });

  it('refuses what is not a batch, before anything is written', async () => {
    const x = [Buffer.from('x')];
    const ok = sha256s(x);
    const bad = [
      () => writeFiles(-1, tmp, ['n'], x, ok, [1], false),
      () => writeFiles(tmpFd, tmp, ['n', 'm'], x, ok, [1, 2], false),
      () => writeFiles(tmpFd, tmp, ['n'], x, [...ok, ...ok], [1], false),
      () => writeFiles(tmpFd, tmp, ['n\0x'], x, ok, [1], false),
      () => writeFiles(tmpFd, tmp, ['n'], ['x' as unknown as Buffer], ok, [1], false),
      () => writeFiles(tmpFd, tmp, ['n'], x, ok, [Number.NaN], false),
      // Not 64 hex digits: one short, one more, a letter that is no digit, not a string.
      () => writeFiles(tmpFd, tmp, ['n'], x, [ok[0]?.slice(1) ?? ''], [1], false),
      () => writeFiles(tmpFd, tmp, ['n'], x, [`${ok[0] ?? ''}0`], [1], false),
      () => writeFiles(tmpFd, tmp, ['n'], x, [`g${ok[0]?.slice(1) ?? ''}`], [1], false),
      () => writeFiles(tmpFd, tmp, ['n'], x, [7 as unknown as string], [1], false),
    ];
    for (const call of bad) await expect(call()).rejects.toThrow(TypeError);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('removes a file it could not write in full (a full disk) and says why', async (context) => {
    const small = join(dir, 'small');
    await mkdir(small);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small], { stdio: 'ignore' });
    } catch {
      context.skip(); // not root, or no mount here
    }
    const fd = openSync(small, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      const written = await writeFiles(
        fd,
        small,
        ['fits', 'too-big'],
        [Buffer.alloc(4096, 1), Buffer.alloc(1024 * 1024, 2)],
        sha256s([Buffer.alloc(4096, 1), Buffer.alloc(1024 * 1024, 2)]),
        [MTIME_MS, MTIME_MS],
        false,
      );
      expect(written[0]?.error).toBeNull();
      expect(written[1]?.error).toMatchObject({ code: 'ENOSPC', syscall: 'write' });
      expect(readdirSync(small)).toEqual(['fits']);
    } finally {
      closeSync(fd);
      execFileSync('umount', [small]);
    }
  });
});

describe.runIf(batchesOnPool())('a batch of files moved below the root on the pool', () => {
  let links: FolderBeneath;
  beforeEach(() => {
    links = new FolderBeneath(root);
  });
  afterEach(() => {
    links.close();
  });

  it('moves each file below real directories, replacing nothing, and says why one was not', async () => {
    await writeFile(join(root, 'a', 'taken'), 'mine');
    await mkdir(join(dir, 'elsewhere'));
    await symlink(join(dir, 'elsewhere'), join(root, 'out'));
    const names = ['t1', 't2', 't3', 't4', 't5'];
    for (const name of names) await writeFile(join(tmp, name), name);
    const failures = await links.moveAll(tmpFd, names, [
      'a/b/f1',
      'top',
      'a/taken',
      'out/f4',
      'a/missing/f5',
    ]);
    expect(failures?.map((f) => (f === null ? null : `${f.syscall} ${f.code}`))).toEqual([
      null,
      null,
      'renameat2 EEXIST',
      'openat2 ELOOP',
      'openat2 ENOENT',
    ]);
    expect(await readFile(join(root, 'a', 'b', 'f1'), 'utf8')).toBe('t1');
    expect(await readFile(join(root, 'top'), 'utf8')).toBe('t2');
    expect(await readFile(join(root, 'a', 'taken'), 'utf8')).toBe('mine');
    expect(await readdir(join(dir, 'elsewhere'))).toEqual([]);
    // What was not moved is still there to be taken the usual way.
    expect((await readdir(tmp)).sort()).toEqual(['t3', 't4', 't5']);
  });

  it('takes the link-and-unlink way where asked, with the same answers', async () => {
    const byLink = new FolderBeneath(root, undefined, 'link');
    try {
      await writeFile(join(tmp, 'l1'), 'one');
      await writeFile(join(root, 'a', 'taken'), 'mine');
      await writeFile(join(tmp, 'l2'), 'two');
      const failures = await byLink.moveAll(tmpFd, ['l1', 'l2'], ['a/b/l1', 'a/taken']);
      expect(failures?.map((f) => f?.code ?? null)).toEqual([null, 'EEXIST']);
      expect(await readFile(join(root, 'a', 'b', 'l1'), 'utf8')).toBe('one');
      expect(await readdir(tmp)).toEqual(['l2']);
    } finally {
      byLink.close();
    }
  });

  it('answers null, moving nothing, for a path that leaves the folder', async () => {
    await writeFile(join(tmp, 'e'), 'e');
    expect(await links.moveAll(tmpFd, ['e'], ['../escape'])).toBeNull();
    expect(await readdir(tmp)).toEqual(['e']);
  });

  it('keeps moving below the root it was given when the root’s descriptor is closed meanwhile', async () => {
    await writeFile(join(tmp, 'c1'), 'c');
    const moving = links.moveAll(tmpFd, ['c1'], ['a/c1']);
    links.close();
    expect(await moving).toEqual([null]);
    expect(await readFile(join(root, 'a', 'c1'), 'utf8')).toBe('c');
  });
});
