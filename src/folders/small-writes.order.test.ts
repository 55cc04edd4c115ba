/**
 * The order small-writes.ts keeps while a batch is flushed behind the writing: a file is linked
 * only after its own fdatasync ended (or a syncfs begun after its last byte was written) and
 * after its batch was logged (in one write), batches are flushed one at a time, and the next
 * batch is written while one is flushed. fdatasync is wrapped to log and to end a few turns
 * later; syncfs is the real one (core/fs-sync.ts), wrapped the same way.
 */
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sha256Hex } from './testing.js';

const log: string[] = [];

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const fdatasync = (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
    log.push(`flush ${fd}`);
    fs.fdatasync(fd, (error) => {
      // Ends a few turns later, as a real flush would while the next frames arrive.
      setTimeout(() => {
        log.push(`flushed ${fd}`);
        callback(error);
      }, 5);
    });
  };
  return { ...fs, default: { ...fs, fdatasync }, fdatasync };
});

const { SETTLE_EVERY, SmallWrites } = await import('./small-writes.js');
const { placeEach } = await import('./place-each.js');
const { fileSystemSync } = await import('../core/fs-sync.js');

/** The system's dirty data as a batch is flushed: none but the batch's own (syncfs is cheap). */
const quiet = () => 0;

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'mosaic-small-order-'));
  await mkdir(join(root, '.mosaic', 'tmp'), { recursive: true });
  log.length = 0;
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

type Host = ConstructorParameters<typeof SmallWrites>[0];
type Ready = Parameters<Host['placeAll']>[0][number];

/** A host as the tests write it: a place and a drop per file (`placeAll` made of them). */
interface TestHost extends Omit<Host, 'placeAll'> {
  place(wanted: Ready['wanted'], tmp: string): Promise<void>;
  notPlaced(wanted: Ready['wanted']): void;
}

/** A host that places by removing the temp file and throws on what a test does not expect. */
function host(overrides: Partial<TestHost> = {}): Host {
  const made: TestHost = {
    root,
    aboutToPlace: () => {},
    place: (_wanted, tmp) => rm(tmp),
    notPlaced: (wanted) => {
      throw new Error(`${wanted.row.path} dropped`);
    },
    wrongContent: () => {},
    failed: (_wanted, error) => {
      throw error;
    },
    written: () => {},
    ...overrides,
  };
  return {
    ...made,
    placeAll: (files) =>
      placeEach(
        files,
        (f) => made.place(f.wanted, f.tmp),
        (wanted) => {
          made.notPlaced(wanted);
        },
      ),
  };
}

/** Both ways of writing the temp files (temp-writes.ts): groups on the pool, direct calls. */
const WAYS = [
  ['on the pool', true],
  ['by direct calls', false],
] as const;

function writesWith(
  onPool: boolean,
  made: Host,
  syncAll: ConstructorParameters<typeof SmallWrites>[1],
  dirty?: () => number | null,
) {
  return new SmallWrites(made, syncAll, dirty, onPool);
}

describe.each(WAYS)('small writes, flushed one batch behind (%s)', (_way, onPool) => {
  it('links a file only after its own flush, one batch at a time, writing the next meanwhile', async () => {
    const writes = writesWith(
      onPool,
      host({
        aboutToPlace: (files) => {
          log.push(`logged ${files.map((f) => f.wanted.row.path).join(' ')}`);
        },
        place: (wanted, tmp) => {
          log.push(`place ${wanted.row.path}`);
          return rm(tmp);
        },
      }),
      null,
    );
    const count = 3 * SETTLE_EVERY + 10;
    for (let i = 0; i < count; i++) {
      const data = Buffer.from(`file ${i}`);
      const row = { path: `f${i}`, mtimeMs: 1_700_000_000_000, size: data.length };
      const wanted = { row, target: join(root, row.path), hash: sha256Hex(data) };
      await writes.add(wanted as Parameters<typeof writes.add>[0], data);
      log.push(`added f${i}`);
    }
    await writes.settle();
    const placed = log.filter((l) => l.startsWith('place'));
    expect(placed).toHaveLength(count);
    // Places come in order, each after as many flushes ended, and none while a flush runs:
    // a batch is linked once all of its flushes ended, before the next batch's flush starts.
    let inFlight = 0;
    let flushedSoFar = 0;
    let placedSoFar = 0;
    let addedWhileFlushing = 0;
    // Each batch is logged in one write before the first of its links (link-log.ts).
    const loggedPaths = new Set<string>();
    let logWrites = 0;
    for (const line of log) {
      if (line.startsWith('logged ')) {
        logWrites++;
        for (const path of line.slice('logged '.length).split(' ')) loggedPaths.add(path);
      }
      if (line.startsWith('place')) expect(loggedPaths.has(line.slice('place '.length))).toBe(true);
      if (line.startsWith('flush ')) inFlight++;
      if (line.startsWith('flushed ')) {
        inFlight--;
        flushedSoFar++;
      }
      if (line.startsWith('place')) {
        placedSoFar++;
        expect(placedSoFar).toBeLessThanOrEqual(flushedSoFar);
        expect(inFlight).toBe(0);
      }
      if (line.startsWith('added') && inFlight > 0) addedWhileFlushing++;
    }
    // The next batch was received and written while one was being flushed.
    expect(addedWhileFlushing).toBeGreaterThan(0);
    // One write per batch (a batch is cut at SETTLE_EVERY files, or more: creates in flight join).
    expect(loggedPaths.size).toBe(count);
    expect(logWrites).toBeLessThanOrEqual(Math.ceil(count / SETTLE_EVERY));
  });

  it('reports the logged files a failed place left unplaced, and removes their temp files', async () => {
    const dropped: string[] = [];
    // The batch's order: the order its creates ended in, which load can change (CI saw f4 before
    // f3 once, when the creates went through the pool).
    const order: string[] = [];
    let placed = 0;
    const writes = writesWith(
      onPool,
      host({
        aboutToPlace: (files) => order.push(...files.map((f) => f.wanted.row.path)),
        place: async (wanted, tmp) => {
          // The folder went away at the third file: the batch stops there.
          if (++placed === 3) throw new Error('folder gone');
          await rm(tmp);
          log.push(`place ${wanted.row.path}`);
        },
        notPlaced: (wanted) => dropped.push(wanted.row.path),
      }),
      null,
    );
    for (let i = 0; i < 5; i++) {
      const data = Buffer.from(`file ${i}`);
      const row = { path: `f${i}`, mtimeMs: 1_700_000_000_000, size: data.length };
      const wanted = { row, target: join(root, row.path), hash: sha256Hex(data) };
      await writes.add(wanted as Parameters<typeof writes.add>[0], data);
    }
    await expect(writes.settle()).rejects.toThrow('folder gone');
    expect([...order].sort()).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
    // Every file after the one whose place threw, and no other.
    expect(dropped).toEqual(order.slice(3));
    // The one whose place threw keeps its temp file until the next pull's sweep; no other left.
    expect(await readdir(join(root, '.mosaic', 'tmp'))).toHaveLength(1);
  });
});

describe.each(WAYS)('small writes, one syncfs per batch (%s)', (_way, onPool) => {
  const syncfs = fileSystemSync();

  /** A file's data as written, by name in the temp directory, when each syncfs began. */
  function tempSizes(): Map<string, number> {
    const dir = join(root, '.mosaic', 'tmp');
    return new Map(readdirSync(dir).map((name) => [name, statSync(join(dir, name)).size]));
  }

  function file(i: number) {
    const data = Buffer.from(`file ${i}, ${'x'.repeat(i % 50)}`);
    const row = { path: `f${i}`, mtimeMs: 1_700_000_000_000, size: data.length };
    const wanted = { row, target: join(root, row.path), hash: sha256Hex(data) };
    return { wanted: wanted as Parameters<InstanceType<typeof SmallWrites>['add']>[0], data };
  }

  it.runIf(syncfs !== null)(
    'links a file only after a syncfs begun once all its bytes were written, one per batch',
    async () => {
      const sync = syncfs as NonNullable<typeof syncfs>;
      /** Temp files (name -> size) that a syncfs begun after their writes has made durable. */
      const durable = new Map<string, number>();
      let syncs = 0;
      let inFlight = 0;
      let addedWhileFlushing = 0;
      const placed: string[] = [];
      const writes = writesWith(
        onPool,
        host({
          place: (wanted, tmp) => {
            // Every byte of it was on disk before it is linked.
            expect(durable.get(tmp.slice(tmp.lastIndexOf('/') + 1))).toBe(wanted.row.size);
            expect(inFlight).toBe(0);
            placed.push(wanted.row.path);
            return rm(tmp);
          },
        }),
        async (fd) => {
          const before = tempSizes();
          syncs++;
          inFlight++;
          await sync(fd);
          await new Promise((resolve) => setTimeout(resolve, 5));
          inFlight--;
          for (const [name, size] of before) durable.set(name, size);
        },
        quiet,
      );
      const count = 3 * SETTLE_EVERY + 10;
      for (let i = 0; i < count; i++) {
        const { wanted, data } = file(i);
        await writes.add(wanted, data);
        if (inFlight > 0) addedWhileFlushing++;
      }
      await writes.settle();
      expect(placed).toHaveLength(count);
      // One flush per batch, not per file; the next batch was written while one was flushed.
      expect(syncs).toBeLessThanOrEqual(Math.ceil(count / SETTLE_EVERY));
      expect(addedWhileFlushing).toBeGreaterThan(0);
    },
  );

  it.runIf(syncfs !== null)(
    'reports every file of a batch whose syncfs failed, links none of them, and keeps none',
    async () => {
      const failed: string[] = [];
      const placed: string[] = [];
      let syncs = 0;
      const writes = writesWith(
        onPool,
        host({
          place: (wanted, tmp) => {
            placed.push(wanted.row.path);
            return rm(tmp);
          },
          failed: (wanted, error) => {
            expect((error as NodeJS.ErrnoException).code).toBe('EIO');
            failed.push(wanted.row.path);
          },
        }),
        async (fd) => {
          // The second batch: the file system lost a write (as syncfs reports it).
          if (++syncs === 2) throw Object.assign(new Error('i/o error'), { code: 'EIO' });
          await (syncfs as NonNullable<typeof syncfs>)(fd);
        },
        quiet,
      );
      // Three batches at least, also under load: files still being created when a batch is cut
      // join the next, so a batch may hold up to CREATES_IN_FLIGHT more than SETTLE_EVERY (with
      // 2 x SETTLE_EVERY + 10 files, a loaded CI machine made two batches of them).
      const count = 3 * SETTLE_EVERY + 10;
      for (let i = 0; i < count; i++) {
        const { wanted, data } = file(i);
        await writes.add(wanted, data);
      }
      await writes.settle();
      expect(syncs).toBeGreaterThanOrEqual(3);
      expect(failed.length).toBeGreaterThan(0);
      expect(placed.length + failed.length).toBe(count);
      expect(new Set([...placed, ...failed]).size).toBe(count);
      // The failed ones stay needed (the pull asks again); none of their temp files is left.
      expect(await readdir(join(root, '.mosaic', 'tmp'))).toEqual([]);
    },
  );

  it.runIf(syncfs !== null)(
    "flushes each file instead while the system holds other programs' dirty data",
    async () => {
      let syncs = 0;
      // Batch by batch: the first while another program has 1 GiB dirty, the next once it is
      // written out.
      const dirty = [1024 * 1024 * 1024, 0, 0, 0];
      let asked = 0;
      const placed: string[] = [];
      const writes = writesWith(
        onPool,
        host({
          place: (wanted, tmp) => {
            placed.push(wanted.row.path);
            return rm(tmp);
          },
        }),
        async (fd) => {
          syncs++;
          await (syncfs as NonNullable<typeof syncfs>)(fd);
        },
        () => dirty[asked++] ?? 0,
      );
      const count = 2 * SETTLE_EVERY;
      for (let i = 0; i < count; i++) {
        const { wanted, data } = file(i);
        await writes.add(wanted, data);
      }
      await writes.settle();
      expect(placed).toHaveLength(count);
      // The first batch: an fdatasync of each of its files; the second: one syncfs.
      expect(log.filter((line) => line.startsWith('flushed ')).length).toBe(SETTLE_EVERY);
      expect(syncs).toBe(1);
      expect(asked).toBe(2);
      // The first batch's witness (a descriptor of the temp directory) was closed all the same.
      const tmpDir = join(root, '.mosaic', 'tmp');
      const open = readdirSync('/proc/self/fd').map((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return null; // closed since it was listed
        }
      });
      expect(open).not.toContain(tmpDir);
      expect(await readdir(join(root, '.mosaic', 'tmp'))).toEqual([]);
    },
  );
});
