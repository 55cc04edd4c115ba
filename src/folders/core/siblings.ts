/**
 * The state of one path as the set of its maximal versions ("siblings"), so that the outcome is
 * a function of the SET of versions a node has received, whatever their order (issue 11,
 * cause 1).
 *
 * Folding versions pairwise (`resolve`) gives the winner a merged vector; a later version can
 * then be judged against that merged vector instead of against the branch it really raced with,
 * and two nodes that received the same versions in different orders ended with different
 * winners. Here each received version keeps its own vector:
 *
 * - the siblings are the versions no other received version dominates (a version with an equal
 *   vector and the same content counts once: the higher rank);
 * - the path's current version is the highest-ranked sibling (`rank`: live before deleted,
 *   directory before file, then the HLC), carrying the merge of all siblings' vectors, so a
 *   local edit made on top of it dominates every sibling and ends the conflict;
 * - every live file sibling that lost and whose content differs from the winner deserves a
 *   conflict copy, named by `conflictName(path, wall, node, versionTag)`.
 *
 * Maximal elements of a set do not depend on the order the set was built in, so every node that
 * has received the same versions holds the same siblings, the same current version and the same
 * list of copies. The copies themselves become operations (folder-apply.ts), so a node that never
 * held the losing sibling (it received a version dominating it first) still gets them.
 */
import { conflictName, versionTag } from './conflict-name.js';
import { compareVv, mergeVv, rank, sameContent, wallOf, type FileVersion } from './file-version.js';

export interface SiblingState {
  /** The maximal versions, highest rank first. */
  readonly siblings: readonly FileVersion[];
  /** The winner, with the merged vector of all siblings. */
  readonly current: FileVersion;
  /** Losing live files to keep as conflict copies, at `path`. */
  readonly copies: readonly { readonly path: string; readonly version: FileVersion }[];
}

/**
 * Adds `remote` to the siblings of `path`; null when it changes nothing (it is dominated by, or
 * the same as, a sibling). Throws like `conflictName` when a copy cannot be named.
 */
export function addVersion(
  path: string,
  siblings: readonly FileVersion[],
  remote: FileVersion,
): SiblingState | null {
  for (const s of siblings) {
    const order = compareVv(remote.vv, s.vv);
    if (order === 'before') return null;
    if (order === 'equal' && sameContent(s, remote) && rank(s, remote) >= 0) return null;
  }
  const kept = siblings.filter((s) => {
    const order = compareVv(s.vv, remote.vv);
    return !(order === 'before' || (order === 'equal' && sameContent(s, remote)));
  });
  return stateOf(path, [...kept, remote]);
}

/** The current version and the copies for a set of siblings (at least one). */
export function stateOf(path: string, siblings: readonly FileVersion[]): SiblingState {
  const sorted = [...siblings].sort((a, b) => rank(b, a));
  const winner = sorted[0];
  if (winner === undefined) throw new RangeError('no versions');
  const vv = sorted.reduce((acc, s) => mergeVv(acc, s.vv), winner.vv);
  const copies = sorted
    .slice(1)
    .filter((s) => !s.deleted && s.kind === 'file' && !sameContent(s, winner))
    .map((s) => ({
      path: conflictName(path, wallOf(s.hlc), s.originName, versionTag(s)),
      version: s,
    }));
  return { siblings: sorted, current: { ...winner, vv }, copies };
}
