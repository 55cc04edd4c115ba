import { basename, resolve } from 'node:path';

export interface FolderConfig {
  /** Folder id: the same on every node that mirrors this folder. */
  readonly id: string;
  /** Absolute directory on this node. */
  readonly root: string;
}

const FOLDER_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * `--folder [NAME=]DIR`: the id is NAME, or the directory's base name, so that
 * `mosaic cluster`'s `<data>/node-N/folder` directories are all the folder "folder".
 */
export function parseFolderSpec(spec: string): FolderConfig {
  const eq = spec.indexOf('=');
  const named = eq > 0 && FOLDER_ID.test(spec.slice(0, eq));
  const root = resolve(named ? spec.slice(eq + 1) : spec);
  const id = named ? spec.slice(0, eq) : basename(root);
  if (!FOLDER_ID.test(id)) {
    throw new Error(
      `Folder id "${id}" (from ${spec}) must use letters, digits, ".", "_" or "-"; name it with NAME=DIR.`,
    );
  }
  return { id, root };
}
