/**
 * Folder sync, the pure core: path safety, conflict copy names and the merge rule for one path.
 * No I/O; everything takes and returns plain data.
 *
 * Paths. A path inside a synced folder is relative, '/'-separated and NFC-normalized (a path in
 * another normal form is accepted in its NFC form). A remote path is refused when it is empty,
 * has an empty, '.' or '..' segment, starts with '/', contains '\', ':' (drive letters, NTFS
 * streams), NUL or another control character or an unpaired surrogate, starts with the internal
 * '.mosaic' directory (any letter case), or has a segment over 255 UTF-8 bytes or is over 4096
 * bytes in all. Percent escapes are not decoded. Absolute paths are built only by `joinInside`,
 * which checks again that the result lies strictly inside the folder root.
 *
 * Versions. Each path has one current version (file or directory, live or deleted, content hash,
 * HLC and node of the change) with a per-file version vector that its writer bumps. A version
 * that follows another causally simply replaces it. Concurrent versions are decided by:
 * 1. same content (same kind and hash, or both deleted): no conflict, the higher HLC's metadata;
 * 2. a live version beats a deletion, whatever the HLCs; nothing is copied;
 * 3. a directory beats a file, whatever the HLCs; the file is kept as a conflict copy beside it
 *    (the directory's entries are paths of their own, which a file could not hold);
 * 4. file against file: the higher HLC wins; the loser is kept as a conflict copy.
 * The winner carries the merged version vector, so it dominates both sides and the decision
 * spreads as an ordinary change. The rule is deterministic and symmetric: nodes that see the same
 * versions in any order, with duplicates, end with the same version and the same copies.
 *
 * Conflict copies are named like Syncthing's, from the losing version: in the same directory,
 * `name.sync-conflict-YYYYMMDD-HHMMSS-<node>.ext` with the loser's change time in UTC, the
 * extension after the last dot of the base name ('a.tar.gz' -> 'a.tar.sync-conflict-...-n1.gz';
 * '.bashrc' and 'Makefile' have none), and the node name reduced to [A-Za-z0-9_-]. Every node
 * records the copy as the loser's version arriving for that new path, so copies made on
 * different nodes are the same version; a copy then syncs like any other file.
 *
 * Left to the caller: the tree. The rules look at one path; a live entry whose parent resolved to
 * a deletion or a file needs its parent back as a directory (`parentDirs` lists the parents).
 */
export { INTERNAL_DIR, MAX_PATH_BYTES, MAX_SEGMENT_BYTES, PathOutsideRootError } from './paths.js';
export {
  checkRelativePath,
  hasInternalSegment,
  joinInside,
  parentDirs,
  type PathCheck,
} from './paths.js';
export {
  conflictName,
  isConflictName,
  sanitizeNodeName,
  trashName,
  versionTag,
} from './conflict-name.js';
export {
  bumpVv,
  compareVv,
  mergeVv,
  rank,
  resolve,
  sameContent,
  versionAfter,
  wallOf,
  type FileKind,
  type FileVersion,
  type Resolution,
  type VersionVector,
  type VvOrder,
} from './file-version.js';
export { addVersion, stateOf, type SiblingState } from './siblings.js';
