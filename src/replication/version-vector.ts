/**
 * Version vectors: for each origin node, how many of its operations (1..n, with no gap) a node
 * holds. Pure functions over plain records.
 */
export type VersionVector = Readonly<Record<string, number>>;

/** How many operations `mine` holds that `theirs` lacks, per origin (only positive entries). */
export function missingFrom(mine: VersionVector, theirs: VersionVector): Record<string, number> {
  const missing: Record<string, number> = {};
  for (const [origin, seq] of Object.entries(mine)) {
    const gap = seq - (theirs[origin] ?? 0);
    if (gap > 0) missing[origin] = gap;
  }
  return missing;
}

export function totalMissing(mine: VersionVector, theirs: VersionVector): number {
  return Object.values(missingFrom(mine, theirs)).reduce((a, b) => a + b, 0);
}

/** The pointwise maximum: what a node holds after merging both. */
export function mergeVectors(a: VersionVector, b: VersionVector): Record<string, number> {
  const merged: Record<string, number> = { ...a };
  for (const [origin, seq] of Object.entries(b))
    merged[origin] = Math.max(merged[origin] ?? 0, seq);
  return merged;
}

/** True when `a` holds everything `b` holds. */
export function dominates(a: VersionVector, b: VersionVector): boolean {
  return totalMissing(b, a) === 0;
}
