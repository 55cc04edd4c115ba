/**
 * What a synced folder holds, for convergence checks: each path under `root` (without
 * `.mosaic/`) → 'dir', the SHA-256 of the file's bytes, or with `content: false` its size and
 * mtime. Read while a sync is under way, a file or directory that moves away reads as
 * 'changing', to be looked at again.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

export async function folderTree(
  root: string,
  { content = true } = {},
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  // A directory renamed or removed while the recursive listing walks it fails the listing with
  // ENOENT, or ENOTDIR when a file took its name (device-replaced.test.ts): the tree is then
  // read as changing, named after the root so that two trees read while changing never compare
  // equal.
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(
    (error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      return null;
    },
  );
  if (entries === null) return new Map([[`(${root}: a directory moved while read)`, 'changing']]);
  for (const e of entries) {
    const abs = join(e.parentPath, e.name);
    const rel = relative(root, abs);
    if (rel === '.mosaic' || rel.startsWith('.mosaic/')) continue;
    if (e.isDirectory()) out.set(rel, 'dir');
    else if (e.isFile() && !content) {
      const info = await stat(abs).catch(() => null);
      out.set(rel, info === null ? 'changing' : `${info.size} ${Math.floor(info.mtimeMs)}`);
    } else if (e.isFile()) {
      const bytes = await readFile(abs).catch(() => null);
      out.set(rel, bytes === null ? 'changing' : createHash('sha256').update(bytes).digest('hex'));
    }
  }
  return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
}
