import { access, chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ignoreRules } from './ignore.js';
import { watchFolder, WHOLE_FOLDER, type FolderWatcher } from './watcher.js';

let base: string;
let root: string;
let watcher: FolderWatcher | undefined;
let reports: Set<string>[];

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'mosaic-watch-'));
  root = join(base, 'folder');
  await mkdir(join(root, '.mosaic', 'tmp'), { recursive: true });
  await mkdir(join(root, 'sub', 'deeper'), { recursive: true });
  reports = [];
});
afterEach(async () => {
  await watcher?.close();
  watcher = undefined;
  await rm(base, { recursive: true, force: true });
});

async function start(options: { debounceMs?: number; maxWaitMs?: number } = {}): Promise<void> {
  watcher = await watchFolder({
    root,
    onChanges: (paths) => reports.push(paths),
    isIgnored: ignoreRules('*.tmp\n'),
    ...options,
  });
}

const seen = (): Set<string> => new Set(reports.flatMap((paths) => [...paths]));

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`timed out; reports: ${JSON.stringify([...seen()])}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('watchFolder', () => {
  it('reports a file created in a subdirectory, by its relative path', async () => {
    await start();
    await writeFile(join(root, 'sub', 'deeper', 'new.txt'), 'hello');
    await waitFor(() => seen().has('sub/deeper/new.txt'));
  });

  it('gathers a burst of changes into one report, and ignores .mosaic/ and ignored files', async () => {
    await start({ debounceMs: 500 });
    await writeFile(join(root, '.mosaic', 'tmp', 'partial'), 'x');
    await writeFile(join(root, 'junk.tmp'), 'x');
    for (let i = 0; i < 5; i++) await writeFile(join(root, `f${i}.txt`), 'x');
    await waitFor(() => seen().has('f4.txt'));
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(reports.length).toBe(1);
    expect(seen()).toEqual(new Set(['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'f4.txt']));
  });

  it('reports at least every maxWaitMs while changes keep coming', async () => {
    await start({ debounceMs: 150, maxWaitMs: 400 });
    const started = Date.now();
    let i = 0;
    while (reports.length === 0 && Date.now() - started < 3000) {
      await writeFile(join(root, `tick${i++}.txt`), 'x');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(reports.length).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('reports the whole folder when its root goes away', async () => {
    await start();
    await rm(root, { recursive: true, force: true });
    await waitFor(() => seen().has(WHOLE_FOLDER));
  });

  // @parcel/watcher's default backend asks a `watchman` on PATH first (a shell runs it at every
  // watch's start) and, when one answers, watches through it: another tool's semantics than the
  // inotify ones the folder code is built and tested on. A fake watchman that leaves a mark
  // shows whether it was asked.
  it.runIf(process.platform === 'linux')(
    'watches through inotify, never through a watchman found on PATH',
    async () => {
      const bin = join(base, 'bin');
      const mark = join(base, 'watchman-was-asked');
      await mkdir(bin);
      await writeFile(join(bin, 'watchman'), `#!/bin/sh\necho "$@" > '${mark}'\nexit 1\n`);
      await chmod(join(bin, 'watchman'), 0o755);
      const path = process.env['PATH'];
      process.env['PATH'] = `${bin}:${path ?? ''}`;
      try {
        await start();
      } finally {
        process.env['PATH'] = path;
      }
      await writeFile(join(root, 'seen.txt'), 'x');
      await waitFor(() => seen().has('seen.txt'));
      await expect(access(mark)).rejects.toThrow(/ENOENT/);
    },
  );

  it('refuses to watch a root that does not exist', async () => {
    await expect(
      watchFolder({ root: join(base, 'nope'), onChanges: () => undefined }),
    ).rejects.toMatchObject({ reason: 'root-missing' });
  });
});
