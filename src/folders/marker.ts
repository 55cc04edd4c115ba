/**
 * The marker `<root>/.mosaic/folder.json` says "this directory is synced folder X". A folder
 * whose root or marker is missing — a disk not mounted, a path mistyped, another folder's disk
 * mounted in its place — is paused, never scanned: an empty mount point would otherwise look
 * like every file was deleted, and the deletions would replicate everywhere.
 *
 * So the marker is created only for a folder that nothing on this disk was synced from yet
 * (`ensureMarker`, at start or when its directory appears; FolderSync checks the index), never
 * to "repair" a folder whose index has files here: that is exactly the case it is there to catch.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MOSAIC_DIR } from './ignore.js';

export const MARKER_FILE = 'folder.json';

export interface FolderMarker {
  readonly folderId: string;
  readonly createdAt: string;
}

export type FolderMissingReason =
  | 'root-missing'
  | 'root-not-a-directory'
  | 'root-unreadable'
  | 'marker-missing'
  | 'marker-unreadable'
  | 'marker-mismatch';

/** The folder is not there (or not this folder): pause it, and report no deletions. */
export class FolderMissingError extends Error {
  constructor(
    readonly root: string,
    readonly reason: FolderMissingReason,
    options?: { cause?: unknown; otherFolder?: string },
  ) {
    super(
      `Folder ${root} is not available (${reason}): ${advice(root, reason, options?.otherFolder)}`,
      options,
    );
    this.name = new.target.name;
  }
}

/** What the operator can do, in the log's words. */
function advice(root: string, reason: FolderMissingReason, other: string | undefined): string {
  switch (reason) {
    case 'root-missing':
      return 'no such directory. It stays paused until it is there: mount its disk, or create it for a new folder.';
    case 'root-not-a-directory':
      return 'it is a file, not a directory. It stays paused.';
    case 'root-unreadable':
    case 'marker-unreadable':
      return 'it cannot be read (permissions?). It stays paused.';
    case 'marker-missing':
      return `no ${MOSAIC_DIR}/${MARKER_FILE}, though this node has synced files there: is its disk mounted? It stays paused until the marker is back (nothing is deleted meanwhile).`;
    case 'marker-mismatch':
      return other === undefined
        ? 'the directory is another synced folder. It stays paused.'
        : `the directory is already the synced folder "${other}": use --folder ${other}=${root}. It stays paused.`;
  }
}

export function markerPath(root: string): string {
  return join(root, MOSAIC_DIR, MARKER_FILE);
}

export function folderTmpDir(root: string): string {
  return join(root, MOSAIC_DIR, 'tmp');
}

export function folderTrashDir(root: string): string {
  return join(root, MOSAIC_DIR, 'trash');
}

/**
 * Makes `root` a synced folder with id `folderId`, for a folder being added: creates
 * `.mosaic/folder.json`, `.mosaic/tmp/` and `.mosaic/trash/`. Idempotent for the same folder.
 * Throws FolderMissingError if the root does not exist (it is not created: a missing root is
 * far more often an unmounted disk or a typo than a wish for a new empty directory), and if
 * the directory is already another folder's.
 */
export async function ensureMarker(root: string, folderId: string): Promise<FolderMarker> {
  if (folderId === '') throw new Error('A folder id must not be empty');
  await assertRootDirectory(root);
  let marker = await readMarker(root);
  if (marker === null) {
    await mkdir(join(root, MOSAIC_DIR), { recursive: true });
    marker = { folderId, createdAt: new Date().toISOString() };
    // Written aside and renamed, so a crash never leaves a half-written marker.
    const temp = join(root, MOSAIC_DIR, `${MARKER_FILE}.${randomUUID()}.tmp`);
    try {
      await writeFile(temp, `${JSON.stringify(marker, null, 2)}\n`, { flag: 'wx', flush: true });
      await rename(temp, markerPath(root));
    } finally {
      await rm(temp, { force: true });
    }
  } else if (marker.folderId !== folderId) {
    throw new FolderMissingError(root, 'marker-mismatch', { otherFolder: marker.folderId });
  }
  await mkdir(folderTmpDir(root), { recursive: true });
  await mkdir(folderTrashDir(root), { recursive: true });
  return marker;
}

/**
 * Throws FolderMissingError unless `root` is a directory holding the marker of `folderId`.
 * The scanner calls it before reporting anything.
 */
export async function assertMarker(root: string, folderId: string): Promise<void> {
  await assertRootDirectory(root);
  const marker = await readMarker(root);
  if (marker === null) throw new FolderMissingError(root, 'marker-missing');
  if (marker.folderId !== folderId) {
    throw new FolderMissingError(root, 'marker-mismatch', { otherFolder: marker.folderId });
  }
}

/**
 * `assertMarker`, except that a root without a marker is given one when nothing on this disk
 * was synced from the folder yet (`holdsContent` false: a new folder, or its directory made
 * after the node started). Where the index has files here, a root without its marker is a disk
 * not mounted: FolderMissingError('marker-missing'), and the folder stays paused.
 */
export async function assertOrClaimMarker(
  root: string,
  folderId: string,
  holdsContent: () => boolean,
): Promise<void> {
  try {
    await assertMarker(root, folderId);
  } catch (error) {
    if (!(error instanceof FolderMissingError) || error.reason !== 'marker-missing') throw error;
    if (holdsContent()) throw error;
    await ensureMarker(root, folderId);
  }
}

/** The marker, or null when there is none; FolderMissingError when it cannot be read. */
export async function readMarker(root: string): Promise<FolderMarker | null> {
  let text: string;
  try {
    text = await readFile(markerPath(root), 'utf8');
  } catch (error) {
    if (isNotFound(error)) return null;
    throw new FolderMissingError(root, 'marker-unreadable', { cause: error });
  }
  try {
    const parsed = JSON.parse(text) as Partial<FolderMarker> | null;
    if (typeof parsed?.folderId !== 'string' || typeof parsed.createdAt !== 'string') {
      throw new Error('folderId or createdAt missing');
    }
    return { folderId: parsed.folderId, createdAt: parsed.createdAt };
  } catch (error) {
    throw new FolderMissingError(root, 'marker-unreadable', { cause: error });
  }
}

async function assertRootDirectory(root: string): Promise<void> {
  try {
    if (!(await stat(root)).isDirectory()) {
      throw new FolderMissingError(root, 'root-not-a-directory');
    }
  } catch (error) {
    if (error instanceof FolderMissingError) throw error;
    throw new FolderMissingError(root, 'root-missing', { cause: error });
  }
}

function isNotFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
