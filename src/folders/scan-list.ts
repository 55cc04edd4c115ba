/**
 * One directory of a scan (scanner.ts), listed and put in the index's order: each entry is a
 * step at its path and a step at `path/` (what lies below it), sorted by UTF-8 bytes like the
 * index's primary key, so the walk and the index pages advance together.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { MOSAIC_DIR } from './ignore.js';
import { linkNoReplace } from './link-no-replace.js';
import { FolderMissingError } from './marker.js';
import { childPath, compareUtf8 } from './paths.js';
import type { LocalChange, ScanLog } from './scan-types.js';

/** What to do with the index rows below an entry once the entry itself has been looked at. */
export type Below = 'protect' | 'descend' | 'orphans';

/** What looking at one entry found: a change to report (or none), and what to do below it. */
export interface Inspection {
  readonly change: LocalChange | null;
  readonly below: Below;
}

export interface Entry {
  /** The name on disk (what to open), and its NFC path in the folder (what to index). */
  readonly name: string;
  readonly path: string;
  /** The listing said directory, or did not say (some file systems don't). */
  readonly mayBeDir: boolean;
  inspection: Promise<Inspection>;
}

/** Each entry is visited twice: at `path` (itself) and at `path/` (what lies below it). */
export interface Step {
  readonly key: string;
  readonly entry: Entry;
  readonly below: boolean;
}

export interface Frame {
  readonly path: string;
  readonly abs: string;
  readonly steps: Step[];
  next: number;
}

export const NOT_INSPECTED: Promise<Inspection> = Promise.resolve({
  change: null,
  below: 'protect',
});

/** What listing a directory reports to its scan. */
export interface ListHost {
  readonly root: string;
  skip(path: string, why: string, error?: unknown): void;
  /** Whether the folder's `.mosaicignore` leaves this path out (never renamed, `toNfc`). */
  ignored(path: string, isDir: boolean): boolean;
  /** The folder's id and log, for a name renamed to its NFC form (`toNfc`). */
  readonly folder: string;
  readonly log: ScanLog;
  /** The directory went away since its parent was read (the scan rescans soon). */
  gone(): void;
}

/**
 * The steps of one directory in index order, or null when it cannot be read (then nothing
 * below it is judged). Names that are not valid UTF-8, and a second name with the same NFC
 * form, are skipped: neither could be indexed as its own path.
 */
export async function listSteps(abs: string, path: string, host: ListHost): Promise<Step[] | null> {
  const entries: Entry[] = [];
  try {
    // Whole, in one call: the listing is sorted below, so it is held whole anyway, and
    // `opendir`'s entry-by-entry iteration cost 4-7x the CPU (a promise per entry, a trip to
    // the pool per 128): 70-140 ms against 17-20 ms for 240 directories of 33 files.
    for (const dirent of await readdir(abs, { withFileTypes: true })) {
      const name = dirent.name;
      // Mosaic's own at the top; below it, a copied or nested one (isIgnored catches the
      // other letter cases).
      if (name === MOSAIC_DIR) continue;
      if (name.includes('\uFFFD')) {
        host.skip(childPath(path, name), 'name is not valid UTF-8');
        continue;
      }
      entries.push({
        name,
        path: childPath(path, name.normalize('NFC')),
        mayBeDir: dirent.isDirectory() || !knownType(dirent),
        inspection: NOT_INSPECTED,
      });
    }
    await toNfc(abs, entries, host);
  } catch (error) {
    if (path === '') throw new FolderMissingError(host.root, 'root-unreadable', { cause: error });
    // Gone since its parent was read: the next scan sees that. Otherwise: say so, judge nothing.
    if (isGone(error)) host.gone();
    else host.skip(path, 'directory cannot be read', error);
    return null;
  }
  entries.sort((a, b) => compareUtf8(a.path, b.path) || compareUtf8(a.name, b.name));
  const steps: Step[] = [];
  let previous: Entry | undefined;
  for (const entry of entries) {
    if (previous?.path === entry.path) {
      host.skip(childPath(path, entry.name), `same NFC name as ${previous.name}`);
      continue;
    }
    previous = entry;
    steps.push({ key: entry.path, entry, below: false });
    steps.push({ key: `${entry.path}/`, entry, below: true });
  }
  return steps.sort((a, b) => compareUtf8(a.key, b.key));
}

/**
 * Renames the entries whose name on disk is not its NFC form to that form, where the file system
 * tells the forms apart (Linux's; one that does not, macOS's, finds the file by its NFC name
 * already: left alone), as Syncthing does by default. Every disk access but the scan's goes by
 * the index's NFC path, which did not reach such a file: its content could not be served, a
 * version pulled for it was never placed, and the folder never got in sync (an NFD `café.txt`
 * made on a laptop: test/device/device-nfd.test.ts). The entry is renamed only if nothing has
 * its NFC name (a file by a hard link, which fails if the name is taken; a directory by a rename,
 * which replaces at most an empty one); otherwise it keeps its name, skipped as before when the
 * listing holds both.
 */
async function toNfc(abs: string, entries: Entry[], host: ListHost): Promise<void> {
  const names = new Set(entries.map((e) => e.name));
  for (const [i, entry] of entries.entries()) {
    const nfc = entry.name.normalize('NFC');
    if (nfc === entry.name || names.has(nfc) || host.ignored(entry.path, entry.mayBeDir)) continue;
    const from = join(abs, entry.name);
    const to = join(abs, nfc);
    const details = { folder: host.folder, path: entry.path, from: JSON.stringify(entry.name) };
    try {
      if ((await lstat(to).catch(() => null)) !== null) continue;
      const info = await lstat(from);
      if (info.isDirectory()) await rename(from, to);
      else if (!info.isFile() || !(await linkNoReplace(from, to))) continue;
    } catch (err) {
      host.log.warn({ ...details, err }, 'folder scan could not rename a name to its NFC form');
      continue;
    }
    entries[i] = { ...entry, name: nfc };
    host.log.warn(
      details,
      'folder scan renamed a name to its NFC form (the one every replica uses)',
    );
  }
}

function knownType(dirent: Dirent): boolean {
  return (
    dirent.isFile() ||
    dirent.isDirectory() ||
    dirent.isSymbolicLink() ||
    dirent.isFIFO() ||
    dirent.isSocket() ||
    dirent.isBlockDevice() ||
    dirent.isCharacterDevice()
  );
}

export function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
