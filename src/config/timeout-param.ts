/**
 * A `timeout=SECONDS` setting in a store's URL (`--blobs`, `--database`): how long one request
 * may wait on that store before it fails. From 0.1 to 3600 s; `null` (not given) is the default.
 * Returns milliseconds; throws an Error whose message starts with `usage`.
 */
export function timeoutParam(value: string | null, usage: string, defaultS = 30): number {
  if (value === null) return defaultS * 1000;
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || seconds < 0.1 || seconds > 3600) {
    throw new Error(`${usage}: timeout is in seconds, from 0.1 to 3600 (default ${defaultS}).`);
  }
  return Math.round(seconds * 1000);
}
