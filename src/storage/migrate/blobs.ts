/**
 * Copying a node's local bytes (LocalBlobStore's layout, see src/blobs/local-blob-store.ts)
 * into another BlobStore, by hash, verified: each blob goes through `receive`, which hashes
 * what it reads and refuses bytes that do not hash to the blob's name (a damaged file on the
 * old disk stops the migration and says which). A blob the target already holds with the
 * same size is not sent again, so a re-run costs a HEAD per blob at most; the progress
 * records the last hash of each area, so a resumed run starts after it.
 *
 * Areas, in this order: live blobs (`blobs/ab/<sha>`), trash (`trash/<sha>`: received then
 * trashed, so the target's trash time is the migration's, which only keeps them longer), and
 * named objects (thumbnails, `thumbs/<name>`; derived, copied so nothing is re-encoded).
 * Partial peer fetches (`partial/`) are not copied: a fetch starts over.
 */
import { createReadStream } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isSha256Hex } from '../../core/ids.js';
import { assertName, type BlobStore } from '../../blobs/blob-store.js';

export type BlobArea = 'live' | 'trash' | 'named';

export interface LocalLayout {
  readonly blobsDir: string;
  readonly trashDir: string;
  readonly namedDir: string;
}

export interface AreaCopied {
  readonly copied: number;
  readonly present: number;
  readonly bytes: number;
}

/** Blobs copied at once (each is a HEAD and a PUT; the store answers them in parallel). */
const IN_FLIGHT = 4;

/**
 * Copies one area, in name order, after `after` (a name, or null for all); `checkpoint` is
 * called with the last name of each finished group of IN_FLIGHT.
 */
export async function copyArea(
  layout: LocalLayout,
  target: BlobStore,
  area: BlobArea,
  after: string | null,
  checkpoint: (last: string) => Promise<void>,
): Promise<AreaCopied> {
  const names = (await listArea(layout, area)).filter((n) => after === null || n > after);
  let copied = 0;
  let present = 0;
  let bytes = 0;
  for (let i = 0; i < names.length; i += IN_FLIGHT) {
    const group = names.slice(i, i + IN_FLIGHT);
    const results = await Promise.all(group.map((name) => copyOne(layout, target, area, name)));
    for (const r of results) {
      if (r === null) present++;
      else {
        copied++;
        bytes += r;
      }
    }
    const last = group[group.length - 1];
    if (last !== undefined) await checkpoint(last);
  }
  return { copied, present, bytes };
}

/** Bytes sent, or null when the target already had it. */
async function copyOne(
  layout: LocalLayout,
  target: BlobStore,
  area: BlobArea,
  name: string,
): Promise<number | null> {
  if (area === 'named') {
    if (await target.hasNamed(name)) return null;
    const bytes = await readFile(join(layout.namedDir, name));
    await target.putNamed(name, bytes);
    return bytes.length;
  }
  const file =
    area === 'live' ? join(layout.blobsDir, name.slice(0, 2), name) : join(layout.trashDir, name);
  const { size } = await stat(file);
  if (area === 'trash') {
    // Bytes live at the source too were copied as live ones (the live area goes first). Else
    // receive (no upload when a crashed run left them live) and trash: redoing both is harmless.
    if (await exists(join(layout.blobsDir, name.slice(0, 2), name))) return null;
    await target.receive(name, size, createReadStream(file), 0);
    await target.trash(name);
    return size;
  }
  if ((await target.size(name)) === size) return null;
  await target.receive(name, size, createReadStream(file), 0);
  return size;
}

/** The names in an area, sorted (hashes for blobs and trash). Missing directories are empty. */
export async function listArea(layout: LocalLayout, area: BlobArea): Promise<string[]> {
  if (area === 'named') return (await entries(layout.namedDir, 'file')).filter(isName).sort();
  if (area === 'trash') return (await entries(layout.trashDir, 'file')).filter(isSha256Hex).sort();
  const names: string[] = [];
  for (const dir of await entries(layout.blobsDir, 'dir')) {
    if (!/^[0-9a-f]{2}$/.test(dir)) continue;
    for (const name of await entries(join(layout.blobsDir, dir), 'file')) {
      if (isSha256Hex(name) && name.startsWith(dir)) names.push(name);
    }
  }
  return names.sort();
}

function isName(name: string): boolean {
  try {
    assertName(name);
    return true;
  } catch {
    return false;
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    (error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    },
  );
}

async function entries(dir: string, kind: 'file' | 'dir'): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((e) => (kind === 'file' ? e.isFile() : e.isDirectory()))
      .map((e) => e.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
