import { closeSync, openSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  fileSystemSync,
  OTHERS_DIRTY_MAX,
  reportsWritebackErrors,
  syncfsCheap,
  syncfsFlushes,
  syncfsFlushesOf,
  FS_TYPE_RECHECK_MS,
  systemDirtyBytes,
} from './fs-sync.js';

describe('one flush for a batch (syncfs)', () => {
  it('is trusted only where the kernel reports write-back errors to it', () => {
    expect(reportsWritebackErrors('linux', '6.18.44-fc-v1272')).toBe(true);
    expect(reportsWritebackErrors('linux', '5.8.0')).toBe(true);
    expect(reportsWritebackErrors('linux', '5.10.0-32-amd64')).toBe(true);
    expect(reportsWritebackErrors('linux', '5.4.0-150-generic')).toBe(false);
    expect(reportsWritebackErrors('linux', '4.19.0')).toBe(false);
    expect(reportsWritebackErrors('linux', 'unknown')).toBe(false);
    expect(reportsWritebackErrors('darwin', '23.1.0')).toBe(false);
  });

  // The binding is built by `npm ci` (native/syncfs): a build that failed must not go unseen,
  // since every pull would quietly fall back to one fdatasync per file.
  it.runIf(reportsWritebackErrors(process.platform, release()))(
    'is available here, flushes a file system, and rejects a descriptor that is not open',
    async () => {
      const syncfs = fileSystemSync();
      expect(syncfs).not.toBeNull();
      const dir = await mkdtemp(join(tmpdir(), 'mosaic-syncfs-'));
      try {
        writeFileSync(join(dir, 'a'), 'data');
        const fd = openSync(dir, 'r');
        try {
          await expect(syncfs?.(fd)).resolves.toBeUndefined();
        } finally {
          closeSync(fd);
        }
        await expect(syncfs?.(fd)).rejects.toMatchObject({ code: 'EBADF', syscall: 'syncfs' });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it('is used only on file systems whose syncfs flushes (not procfs, FUSE or NFS)', () => {
    expect(syncfsFlushes('/proc')).toBe(false);
    expect(syncfsFlushes('/no/such/dir')).toBe(false);
    // This repository's disk in CI and here: ext4.
    if (process.platform === 'linux') expect(syncfsFlushes(tmpdir())).toBe(true);
  });

  it('is asked again at most once a second for one path', () => {
    let clock = 0;
    const answers = [true, false];
    const asked: string[] = [];
    const flushes = syncfsFlushesOf(
      '/data/.mosaic/tmp',
      (path) => {
        asked.push(path);
        return answers[asked.length - 1] ?? false;
      },
      () => clock,
    );
    expect([flushes(), flushes()]).toEqual([true, true]);
    clock = FS_TYPE_RECHECK_MS - 1;
    expect(flushes()).toBe(true);
    clock = FS_TYPE_RECHECK_MS;
    expect(flushes()).toBe(false); // another file system mounted there meanwhile
    expect(asked).toEqual(['/data/.mosaic/tmp', '/data/.mosaic/tmp']);
  });

  it('is off with MOSAIC_SYNCFS=off (each file flushed by itself)', async () => {
    vi.resetModules();
    vi.stubEnv('MOSAIC_SYNCFS', 'off');
    try {
      const fresh = await import('./fs-sync.js');
      expect(fresh.fileSystemSync()).toBeNull();
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("reads the system's dirty and written-back bytes from /proc/meminfo", () => {
    const meminfo = [
      'MemTotal:       24684284 kB',
      'Dirty:            958468 kB',
      'Writeback:          1024 kB',
      'AnonPages:        281536 kB',
      'WritebackTmp:          7 kB',
    ].join('\n');
    expect(systemDirtyBytes(() => meminfo)).toBe((958468 + 1024) * 1024);
    expect(systemDirtyBytes(() => 'MemTotal: 1 kB\n')).toBeNull();
    expect(
      systemDirtyBytes(() => {
        throw Object.assign(new Error('no procfs'), { code: 'ENOENT' });
      }),
    ).toBeNull();
    if (process.platform === 'linux') expect(systemDirtyBytes()).toBeGreaterThanOrEqual(0);
  });

  it('is taken while other programs hold at most OTHERS_DIRTY_MAX of dirty data', () => {
    expect(syncfsCheap(0, 0)).toBe(true);
    expect(syncfsCheap(OTHERS_DIRTY_MAX + 4096, 4096)).toBe(true);
    expect(syncfsCheap(OTHERS_DIRTY_MAX + 4097, 4096)).toBe(false);
    expect(syncfsCheap(null, 4096)).toBe(false);
  });
});
