/**
 * Names for conflict copies, in Syncthing's format so people who know it recognize them:
 *
 *   dir/name.sync-conflict-YYYYMMDD-HHMMSS-<node>-<tag>.ext
 *
 * The time is the loser's change time in UTC. The tag (`versionTag`: 8 hex digits of a hash of
 * the losing version's HLC, origin and content) makes the name unique per losing version: two
 * copies made by one node within one second no longer share a name (issue 11, cause 4). The extension is the part of the base name after
 * its LAST dot ('a.tar.gz' -> 'a.tar.sync-conflict-...-n1.gz'), so the copy still opens with the
 * same program; a dot at the very start does not count ('.bashrc' and 'Makefile' get the marker
 * at the end). The node name is reduced to [A-Za-z0-9_-] so the name stays portable.
 *
 * The name is a pure function of (path, time, node, tag), so every node that resolves the same
 * conflict makes the same copy. A copy is an ordinary file: it syncs, and can conflict again.
 */
import { createHash } from 'node:crypto';
import { MAX_PATH_BYTES, MAX_SEGMENT_BYTES, checkRelativePath } from './paths.js';

const MARKER = '.sync-conflict-';
const MAX_NODE_CHARS = 64;
const TAG_CHARS = 8;
/** 9999-12-31T23:59:59.999Z: the last instant with a four-digit year. */
const MAX_WALL_MS = 253_402_300_799_999;

/** Matches a conflict copy's base name; the extension never contains a dot. */
const CONFLICT_BASE = /\.sync-conflict-\d{8}-\d{6}-[A-Za-z0-9_-]+(?:\.[^./]*)?$/;

/**
 * The name of the conflict copy of `path` (a path accepted by `checkRelativePath`) for a change
 * made at `wallMs` by the node called `nodeName`; `tag` (from `versionTag`, may be empty) tells
 * apart versions of the same node and second. The result is itself an accepted path in the
 * same directory: when the name would pass the length limits, the stem (then the extension) is
 * shortened. Throws RangeError for an invalid path, a time outside years 0-9999, or a directory
 * so deep that no name fits beside it.
 */
export function conflictName(path: string, wallMs: number, nodeName: string, tag = ''): string {
  const checked = checkRelativePath(path);
  if (!checked.ok || checked.path !== path) {
    throw new RangeError(`Not a valid folder path: ${JSON.stringify(path)}`);
  }
  const slash = path.lastIndexOf('/');
  const dir = slash === -1 ? '' : path.slice(0, slash + 1); // with its trailing '/'
  const base = path.slice(slash + 1);
  const dot = base.lastIndexOf('.');
  const hasExt = dot > 0;
  const stem = hasExt ? base.slice(0, dot) : base;
  const ext = hasExt ? base.slice(dot) : ''; // with its leading '.'

  const suffix = tag === '' ? '' : `-${tag.replace(/[^0-9a-f]/g, '').slice(0, TAG_CHARS)}`;
  const marker = `${MARKER}${utcStamp(wallMs)}-${sanitizeNodeName(nodeName)}${suffix}`;
  const room = Math.min(MAX_SEGMENT_BYTES, MAX_PATH_BYTES - utf8Bytes(dir)) - utf8Bytes(marker);
  if (room < 0) throw new RangeError(`No room for a conflict copy of ${JSON.stringify(path)}`);
  // Shorten the stem first: the extension is what makes the copy open like the original.
  const keptExt = truncateUtf8(ext, room);
  const keptStem = truncateUtf8(stem, room - utf8Bytes(keptExt));
  return `${dir}${keptStem}${marker}${keptExt}`;
}

/**
 * A short tag naming one version: 8 hex digits of SHA-256 over its HLC, origin and content hash.
 * An HLC with its origin names one change, so distinct losing versions get distinct tags (up to
 * a 2^-32 collision between two copies of the same path, node and second).
 */
export function versionTag(v: { hlc: string; origin: string; hash: string | null }): string {
  return createHash('sha256')
    .update(`${v.hlc}\n${v.origin}\n${v.hash ?? ''}`)
    .digest('hex')
    .slice(0, TAG_CHARS);
}

/** Whether the base name of `path` has the shape `conflictName` gives. */
export function isConflictName(path: string): boolean {
  return CONFLICT_BASE.test(path.slice(path.lastIndexOf('/') + 1));
}

/** The node name as it appears in a conflict name: runs of other characters become '_'. */
export function sanitizeNodeName(nodeName: string): string {
  const clean = nodeName.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, MAX_NODE_CHARS);
  return clean === '' ? 'node' : clean;
}

function utcStamp(wallMs: number): string {
  if (!Number.isFinite(wallMs) || wallMs < 0 || wallMs > MAX_WALL_MS) {
    throw new RangeError(`Time out of range for a conflict name: ${wallMs}`);
  }
  // toISOString: 'YYYY-MM-DDTHH:mm:ss.sssZ' for four-digit years.
  const iso = new Date(Math.floor(wallMs)).toISOString();
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
}

function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * The name in the trash of a file moved there from `path` (relative): its path with `.tag`
 * appended, the base name shortened so that the last segment keeps within 255 bytes. A name
 * over 246 bytes with its tag was refused (ENAMETOOLONG) at every try to replace or delete it,
 * and that path never converged (test/device/device-replaced.test.ts).
 */
export function trashName(path: string, tag: string): string {
  const slash = path.lastIndexOf('/');
  const base = path.slice(slash + 1);
  const kept = truncateUtf8(base, MAX_SEGMENT_BYTES - utf8Bytes(tag) - 1);
  return `${path.slice(0, slash + 1)}${kept}.${tag}`;
}

/** The longest prefix of `s`, cut between code points, that is NFC and fits in `maxBytes`. */
function truncateUtf8(s: string, maxBytes: number): string {
  if (utf8Bytes(s) <= maxBytes) return s;
  const codePoints = Array.from(s);
  for (let n = codePoints.length - 1; n > 0; n--) {
    const prefix = codePoints.slice(0, n).join('').normalize('NFC');
    if (utf8Bytes(prefix) <= maxBytes) return prefix;
  }
  return '';
}
