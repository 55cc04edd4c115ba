/**
 * The merge rule for one path of a synced folder.
 *
 * Each path carries one current version with a per-file version vector (node id -> number of
 * changes that node made to this path). A node that changes the path bumps its own counter, so
 * the vectors say exactly which versions saw which: `before`/`after` is causal succession and
 * needs no rule; only `concurrent` versions (neither saw the other) need one:
 *
 * 1. Same content (same kind, both deleted, or both live with the same hash): no conflict. The
 *    higher HLC's metadata wins.
 * 2. A live version beats a deletion, whatever the HLCs: a modification is never undone by a
 *    delete that did not see it. Nothing is copied.
 * 3. A directory beats a file, whatever the HLCs. The directory's entries are live paths of
 *    their own that a file at the same path could not hold; the file is kept as a conflict copy
 *    beside it. (A directory never loses: dir vs dir is rule 1, dir vs deletion is rule 2.)
 * 4. File vs file with different content: the higher HLC wins; the loser is kept as
 *    `conflictName(path, wall of its HLC, its node name, versionTag(loser))`.
 *
 * The winner gets the merged vector, so it dominates both sides and every node that sees it just
 * takes it: the conflict is decided once and the decision spreads like any change. Every step is
 * a pure function of the two versions (ties are broken on every field), so two nodes that see
 * the same pair in either order pick the same winner, vector and copy name, and merging any set
 * of versions in any order, with duplicates, ends in the same state.
 *
 * What the caller does with the answer:
 * - `take`: write `remote`; `merge`: record `version` (the content is already there);
 *   `conflict`: make the copy of `loser` at `keepLoserAs` (if any), then install `winner`.
 * - The copy is recorded as if `loser` had arrived from a peer for that path:
 *   `resolve(keepLoserAs, current at keepLoserAs, loser)`. It is the same version on every node
 *   that makes it, so the copies compare equal instead of conflicting.
 * - Folding pairs is order-dependent once three versions race (the merged vector hides which
 *   branch a later version raced with): the index keeps the maximal versions instead and picks
 *   the winner among them with `rank` (siblings.ts); a copy becomes an operation of its own
 *   (folder-apply.ts). The loser's bytes must stay fetchable (the trash) until copied.
 * - These rules see one path, not the tree. A live entry whose parent resolved to a deletion or a
 *   file needs its parent back as a directory (see `parentDirs`); that is the caller's job.
 */
import { compareHlc, decodeHlc } from '../../core/hlc.js';
import { conflictName, versionTag } from './conflict-name.js';

export type FileKind = 'file' | 'dir';

/** Node id -> number of changes that node made to one path. A missing entry is 0. */
export type VersionVector = Readonly<Record<string, number>>;

export type VvOrder = 'equal' | 'before' | 'after' | 'concurrent';

export interface FileVersion {
  readonly kind: FileKind;
  readonly deleted: boolean;
  /** SHA-256 hex of the content for live files; null for directories and deletions. */
  readonly hash: string | null;
  readonly size: number;
  readonly mtimeMs: number;
  readonly vv: VersionVector;
  /** HLC of the change that made this version. */
  readonly hlc: string;
  /** Id of the node that made the change. */
  readonly origin: string;
  /** Name of that node, for conflict copy names. */
  readonly originName: string;
}

export type Resolution =
  /** Remote is older than or the same as local. */
  | { readonly action: 'ignore' }
  /** Remote supersedes local. */
  | { readonly action: 'take' }
  /** Concurrent with the same content: record `version`, no copy. */
  | { readonly action: 'merge'; readonly version: FileVersion }
  /** Concurrent with different content: install `winner`, keep `loser` at `keepLoserAs`. */
  | {
      readonly action: 'conflict';
      readonly winner: FileVersion;
      readonly loser: FileVersion;
      readonly winnerIsRemote: boolean;
      /** Where to keep the losing file; null when the loser is a deletion. */
      readonly keepLoserAs: string | null;
    };

const IGNORE: Resolution = { action: 'ignore' };
const TAKE: Resolution = { action: 'take' };

export function compareVv(a: VersionVector, b: VersionVector): VvOrder {
  let aAhead = false;
  let bAhead = false;
  for (const node of nodesOf(a, b)) {
    const x = counter(a, node);
    const y = counter(b, node);
    if (x > y) aAhead = true;
    else if (y > x) bAhead = true;
  }
  if (aAhead && bAhead) return 'concurrent';
  if (aAhead) return 'after';
  if (bAhead) return 'before';
  return 'equal';
}

/** A new vector with `nodeId`'s counter one higher: the vector of a change made by `nodeId`. */
export function bumpVv(vv: VersionVector, nodeId: string): VersionVector {
  return canonical(nodesOf(vv, { [nodeId]: 1 }), (n) => counter(vv, n) + (n === nodeId ? 1 : 0));
}

/** Pointwise maximum: the vector of a version that has seen both. */
export function mergeVv(a: VersionVector, b: VersionVector): VersionVector {
  return canonical(nodesOf(a, b), (n) => Math.max(counter(a, n), counter(b, n)));
}

/** Wall-clock milliseconds of an encoded HLC. Throws for a malformed one. */
export function wallOf(hlc: string): number {
  return decodeHlc(hlc).wall;
}

/**
 * What to do when `remote` arrives for `path` (an accepted path) and `local` is the version held
 * there (null if none). Throws only when a copy must be named and cannot be: a malformed HLC,
 * a path `checkRelativePath` refuses, or a directory too deep to hold a longer name.
 */
export function resolve(path: string, local: FileVersion | null, remote: FileVersion): Resolution {
  if (local === null) return TAKE;
  const order = compareVv(remote.vv, local.vv);
  if (order === 'before') return IGNORE;
  if (order === 'after') return TAKE;
  if (order === 'equal' && rank(remote, local) === 0) return IGNORE;
  // Concurrent. (Equal vectors with different versions come only from a node that forgot its
  // counters, say restored from an old backup; deciding them as concurrent still converges.)
  const winnerIsRemote = rank(remote, local) > 0;
  const [w, loser] = winnerIsRemote ? [remote, local] : [local, remote];
  const winner: FileVersion = { ...w, vv: mergeVv(local.vv, remote.vv) };
  if (sameContent(local, remote)) return { action: 'merge', version: winner };
  const keepLoserAs = loser.deleted
    ? null
    : conflictName(path, wallOf(loser.hlc), loser.originName, versionTag(loser));
  return { action: 'conflict', winner, loser, winnerIsRemote, keepLoserAs };
}

/** The version the path holds after applying `resolution` (null only if it held nothing). */
export function versionAfter(
  local: FileVersion | null,
  remote: FileVersion,
  resolution: Resolution,
): FileVersion | null {
  switch (resolution.action) {
    case 'ignore':
      return local;
    case 'take':
      return remote;
    case 'merge':
      return resolution.version;
    case 'conflict':
      return resolution.winner;
  }
}

/** Same content: nothing would be lost by keeping either one. */
export function sameContent(a: FileVersion, b: FileVersion): boolean {
  if (a.deleted || b.deleted) return a.deleted && b.deleted;
  return a.kind === b.kind && a.hash === b.hash;
}

/**
 * The total order concurrent versions are decided by: live before deleted, directory before
 * file, then the HLC; the remaining fields only break ties between malformed inputs (an HLC names
 * one change), so the order is total and the outcome never depends on argument order.
 */
export function rank(a: FileVersion, b: FileVersion): number {
  return (
    Number(!a.deleted) - Number(!b.deleted) ||
    Number(!a.deleted && a.kind === 'dir') - Number(!b.deleted && b.kind === 'dir') ||
    compareHlc(a.hlc, b.hlc) ||
    compareText(a.kind, b.kind) ||
    compareText(a.hash ?? '', b.hash ?? '') ||
    Math.sign(a.size - b.size) ||
    Math.sign(a.mtimeMs - b.mtimeMs) ||
    compareText(a.origin, b.origin) ||
    compareText(a.originName, b.originName) ||
    compareText(vvKey(a.vv), vvKey(b.vv))
  );
}

/** A vector as text, its nodes in order: equal vectors give equal keys. */
function vvKey(vv: VersionVector): string {
  return Object.keys(vv)
    .sort()
    .map((node) => `${node}:${counter(vv, node)}`)
    .join(',');
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Own entries only: node ids such as 'constructor' must not read Object.prototype. */
function counter(vv: VersionVector, node: string): number {
  return Object.hasOwn(vv, node) ? (vv[node] ?? 0) : 0;
}

function nodesOf(a: VersionVector, b: VersionVector): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])];
}

/**
 * Sorted keys, no zero entries, so equal vectors serialize alike on every node. Built with
 * Object.fromEntries, which defines '__proto__' as a plain key instead of setting the prototype.
 */
function canonical(nodes: readonly string[], value: (node: string) => number): VersionVector {
  return Object.fromEntries(
    [...nodes]
      .sort(compareText)
      .map((n) => [n, value(n)] as const)
      .filter(([, c]) => c > 0),
  );
}
