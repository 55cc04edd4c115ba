/**
 * The fault tier's seeded workload and history: a client that uploads, edits and deletes
 * pictures over the HTTP API of random nodes, and writes, edits, renames and deletes files and
 * directories straight in the nodes' folders, recording every action and what it was answered.
 * Everything random comes from one seeded generator, so a seed replays the same choices (the
 * timing of real processes still differs from run to run).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rmdir, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { makeImage, type Api, type NodeProcess } from '../helpers/node-process.js';
import { mulberry32 } from '../helpers/random.js';
import type { NodeClock } from './clocks.js';

export class Rng {
  private readonly source: () => number;
  constructor(seed: number) {
    this.source = mulberry32(seed);
  }
  next(): number {
    return this.source();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

export type Entry = { t: number } & (
  | { kind: 'upload'; node: string; id: string; status: number | 'error'; how?: 'tus' }
  | {
      kind: 'edit';
      node: string;
      id: string;
      field: Field;
      value: string;
      status: number | 'error';
    }
  | { kind: 'delete'; node: string; id: string; status: number | 'error' }
  | { kind: 'event'; node: string; action: string; status: number | 'error' }
  | {
      kind: 'account';
      node: string;
      username: string;
      action: 'add' | 'role' | 'disabled' | 'password';
      status: number | 'error';
    }
  | { kind: 'kill' | 'restart' | 'restart-failed'; node: string }
  | { kind: 'device-start'; node: string; server: string }
  | { kind: 'device-exit'; node: string; code: number | null }
  | { kind: 'split'; groups: string[][] }
  | { kind: 'cut-storage'; node: string }
  | { kind: 'heal' }
  | { kind: 'clock'; node: string; offsetS: number }
  | { kind: 'fwrite'; node: string; path: string; hash: string }
  | { kind: 'fdelete'; node: string; path: string }
  | { kind: 'note'; text: string }
);

export type Field = 'title' | 'category' | 'desc';
const FIELDS: readonly Field[] = ['title', 'category', 'desc'];

export class History {
  readonly entries: Entry[] = [];
  private readonly start = Date.now();
  add(
    entry: Entry extends infer E ? (E extends { t: number } ? Omit<E, 't'> : never) : never,
  ): void {
    this.entries.push({ t: Date.now() - this.start, ...entry });
  }
}

export interface FaultNode {
  readonly index: number;
  readonly name: string;
  readonly node: NodeProcess;
  readonly folder: string;
  /** The node id (op-log origin), learned at start; the processes of one site share it. */
  id: string;
  /** A process of a scaled site: its PostgreSQL database, where its operations are read. */
  readonly database?: string;
  /** Its wall clock, when the run moves it (clocks.ts). */
  readonly clock?: NodeClock;
  up: boolean;
  api: Api;
}

/** Where files are written by hand: a node's folder, or a device's directory. */
export type Place = Pick<FaultNode, 'name' | 'folder'>;

const ACK = (status: number | 'error') => typeof status === 'number' && status < 300;

/** Pictures uploaded so far (by image seed), to edit, delete and upload again. */
export class PictureWorkload {
  private readonly known: { id: string; imageSeed: number }[] = [];
  private nextImage: number;
  private nextValue = 0;

  constructor(
    private readonly rng: Rng,
    private readonly history: History,
    seed: number,
  ) {
    this.nextImage = seed * 100_000;
  }

  async step(node: FaultNode): Promise<void> {
    const roll = this.rng.next();
    const target = this.rng.pick(this.known);
    if (roll < 0.4 || target === undefined) return this.upload(node, this.nextImage++);
    if (roll < 0.75) return this.edit(node, target.id);
    if (roll < 0.92) return this.remove(node, target.id);
    return this.upload(node, target.imageSeed); // the same bytes again: a re-upload
  }

  private async upload(node: FaultNode, imageSeed: number): Promise<void> {
    const file = await makeImage({ width: 24, height: 16, seed: imageSeed });
    const id = createHash('sha256').update(file).digest('hex');
    const status = await attempt(() =>
      node.api.upload({ file, fields: { title: `p${imageSeed}` } }).then((r) => r.status),
    );
    this.history.add({ kind: 'upload', node: node.name, id, status });
    if (ACK(status) && !this.known.some((k) => k.id === id)) this.known.push({ id, imageSeed });
  }

  private async edit(node: FaultNode, id: string): Promise<void> {
    const field = this.rng.pick(FIELDS) ?? 'title';
    // Unique values, so the checker finds the operation each acknowledged edit made.
    const value = `${field}-${node.name}-${this.nextValue++}`;
    const status = await attempt(() =>
      node.api.patch(`/api/pictures/${id}`, { [field]: value }).then((r) => r.status),
    );
    this.history.add({ kind: 'edit', node: node.name, id, field, value, status });
  }

  private async remove(node: FaultNode, id: string): Promise<void> {
    const status = await attempt(() =>
      node.api.delete(`/api/pictures/${id}`).then((r) => r.status),
    );
    this.history.add({ kind: 'delete', node: node.name, id, status });
  }
}

async function attempt(request: () => Promise<number>): Promise<number | 'error'> {
  try {
    return await request();
  } catch {
    return 'error'; // the node was killed or cut: not acknowledged
  }
}

const CONFLICT = '.sync-conflict-';

/**
 * Files and directories written straight into a node's folder (up or down: a node that is
 * down finds the changes at its start-up scan). Only what it lists at that moment is edited,
 * renamed or deleted, and conflict copies are left alone, so the history says exactly which
 * user versions must survive.
 */
export class FolderWorkload {
  private counter = 0;

  constructor(
    private readonly rng: Rng,
    private readonly history: History,
    private readonly seed: number,
    /** Starts the names it makes up (`d3/<tag>f12.txt`), so two writers' names differ. */
    private readonly tag = '',
  ) {}

  async step(node: Place): Promise<void> {
    const files = (await walk(node.folder)).filter(
      (e) => e.type === 'file' && !e.path.includes(CONFLICT),
    );
    const roll = this.rng.next();
    const target = this.rng.pick(files)?.path;
    try {
      if (roll < 0.35 || target === undefined) {
        await this.write(node, `d${this.rng.int(6)}/${this.tag}f${this.counter++}.txt`);
      } else if (roll < 0.65) {
        await this.write(node, target);
      } else if (roll < 0.78) {
        const to = `d${this.rng.int(6)}/${this.tag}r${this.counter++}.txt`;
        await mkdir(dirname(join(node.folder, to)), { recursive: true });
        await rename(join(node.folder, target), join(node.folder, to));
        this.history.add({ kind: 'fdelete', node: node.name, path: target });
        await this.recordAt(node, to);
      } else if (roll < 0.92) {
        await unlink(join(node.folder, target));
        this.history.add({ kind: 'fdelete', node: node.name, path: target });
      } else if (roll < 0.96) {
        await this.removeDir(node, `d${this.rng.int(6)}`);
      } else {
        const from = `d${this.rng.int(6)}`;
        await this.renameDir(node, from, `d${this.rng.int(6)}x${this.tag}${this.counter++}`);
      }
    } catch (error) {
      // The node moved the file meanwhile (ENOENT): nothing was done.
      this.history.add({ kind: 'note', text: `${node.name}: ${(error as Error).message}` });
    }
  }

  private async write(node: Place, path: string): Promise<void> {
    const unique = `${this.seed}:${node.name}:${this.counter++}:${this.rng.int(1e9)}\n`;
    const content = unique.repeat(this.rng.between(1, 80));
    const file = join(node.folder, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
    this.history.add({ kind: 'fwrite', node: node.name, path, hash: sha256(content) });
  }

  /** Records what is at `path` now (after a rename) as a version the user wrote there. */
  private async recordAt(node: Place, path: string): Promise<void> {
    const content = await readFile(join(node.folder, path));
    this.history.add({ kind: 'fwrite', node: node.name, path, hash: sha256(content) });
  }

  /** Deletes the files listed in a directory one by one (only those), then the empty dirs. */
  private async removeDir(node: Place, dir: string): Promise<void> {
    const entries = await walk(join(node.folder, dir));
    for (const e of entries.filter((x) => x.type === 'file')) {
      const path = `${dir}/${e.path}`;
      try {
        await unlink(join(node.folder, path));
        this.history.add({ kind: 'fdelete', node: node.name, path });
      } catch {
        // gone meanwhile
      }
    }
    const dirs = entries.filter((x) => x.type === 'dir').map((x) => x.path);
    for (const d of [...dirs.sort().reverse(), '']) {
      await rmdir(join(node.folder, dir, d)).catch(() => undefined);
    }
  }

  private async renameDir(node: Place, from: string, to: string): Promise<void> {
    await rename(join(node.folder, from), join(node.folder, to));
    for (const e of await walk(join(node.folder, to))) {
      if (e.type !== 'file') continue;
      this.history.add({ kind: 'fdelete', node: node.name, path: `${from}/${e.path}` });
      this.history.add({ kind: 'fwrite', node: node.name, path: `${to}/${e.path}`, hash: e.hash });
    }
  }
}

export interface TreeEntry {
  readonly path: string;
  readonly type: 'file' | 'dir';
  /** SHA-256 of a file's content ('' for a directory). */
  readonly hash: string;
}

/** Every file and directory below `root` (not `.mosaic/` at the top), sorted by path. */
export async function walk(root: string): Promise<TreeEntry[]> {
  let entries;
  try {
    entries = await readdir(root, { recursive: true, withFileTypes: true });
  } catch {
    return [];
  }
  const out: TreeEntry[] = [];
  for (const e of entries) {
    const path = relative(root, join(e.parentPath, e.name));
    if (path === '.mosaic' || path.startsWith('.mosaic/')) continue;
    if (e.isDirectory()) out.push({ path, type: 'dir', hash: '' });
    else if (e.isFile()) {
      try {
        out.push({ path, type: 'file', hash: sha256(await readFile(join(root, path))) });
      } catch {
        // moved while listing
      }
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}
