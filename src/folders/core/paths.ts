/**
 * Remote path safety for synced folders.
 *
 * A path inside a synced folder is relative, '/'-separated and NFC-normalized. Every path that
 * arrives from a peer or a device passes `checkRelativePath` before it touches the disk, and every
 * absolute path is built with `joinInside`, which checks containment again (defence in depth: a
 * bug in one check must not become a write outside the folder).
 *
 * The rules refuse anything that could name a different file than it seems to on some system:
 * - empty paths, '.', '..' and empty segments (so also a leading or trailing '/', and '//');
 * - '\' (a separator on Windows) and ':' (drive letters such as 'C:', NTFS alternate streams);
 * - control characters, NUL included, and unpaired UTF-16 surrogates (they cannot be encoded in
 *   UTF-8, so two different names would land on the same file);
 * - a segment '.mosaic' in any letter case, at any depth: the folder's internal directory (temp
 *   files, trash) at the top, and below it a copied or nested folder's or device's own (its
 *   `device.db`, its trash), which must never be written by a peer; case-insensitive file
 *   systems would map '.Mosaic' onto it;
 * - a segment over 255 UTF-8 bytes or a path over 4096 bytes (common file system limits).
 * Percent escapes such as '%2e%2e' are not decoded: they are plain characters in a file name.
 * A path that is not NFC is accepted in its NFC form, so macOS (which hands out NFD names) and
 * Linux agree on one name per file.
 */
import { posix } from 'node:path';

export type PathCheck = { ok: true; path: string } | { ok: false; reason: string };

export const MAX_SEGMENT_BYTES = 255;
export const MAX_PATH_BYTES = 4096;
/** The folder's internal directory; a remote path may never hold it, at any depth. */
export const INTERNAL_DIR = '.mosaic';

/** A segment '.mosaic' in any letter case, at any depth. */
const INTERNAL_SEGMENT = /(?:^|\/)\.mosaic(?:\/|$)/i;

/** Whether `path` (relative, '/'-separated) is or lies inside a directory named '.mosaic'. */
export function hasInternalSegment(path: string): boolean {
  return INTERNAL_SEGMENT.test(path);
}

/** Unpaired surrogates: in a /u regex a valid pair is one code point and does not match. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
/** C0 controls (NUL included), DEL and C1 controls. */
const CONTROL = /\p{Cc}/u;

/** Thrown by `joinInside`: a path that would leave the folder root reached the file layer. */
export class PathOutsideRootError extends Error {
  constructor(
    readonly root: string,
    readonly rel: string,
  ) {
    super(`Path ${JSON.stringify(rel)} is not inside the folder ${JSON.stringify(root)}`);
    this.name = new.target.name;
  }
}

/**
 * `nestedInternal`: accept '.mosaic' below the top (the rule before it was refused at any
 * depth), for operations older devices already logged: they are received, and stay inert.
 */
export function checkRelativePath(
  p: string,
  options: { nestedInternal?: boolean } = {},
): PathCheck {
  if (p === '') return refuse('the path is empty');
  if (LONE_SURROGATE.test(p)) return refuse('the path is not valid Unicode');
  // Checked after normalization: the NFC form is the name that will be used.
  const path = p.normalize('NFC');
  if (CONTROL.test(path)) return refuse('the path contains a control character');
  if (path.includes('\\')) return refuse('the path contains a backslash');
  if (path.includes(':')) return refuse("the path contains ':' (drive letter or stream)");
  if (path.startsWith('/')) return refuse('the path is absolute');
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES) {
    return refuse(`the path is longer than ${MAX_PATH_BYTES} bytes`);
  }
  const segments = path.split('/');
  for (const segment of segments) {
    if (segment === '') return refuse('the path has an empty segment');
    if (segment === '.' || segment === '..') return refuse(`the path has a '${segment}' segment`);
    if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) {
      return refuse(`a path segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
    }
  }
  if (
    options.nestedInternal === true
      ? segments[0]?.toLowerCase() === INTERNAL_DIR
      : hasInternalSegment(path)
  ) {
    return refuse(`the path is inside an internal '${INTERNAL_DIR}' directory`);
  }
  return { ok: true, path };
}

/**
 * The absolute path of `rel` inside the absolute directory `root`. Throws PathOutsideRootError
 * unless the result lies strictly below root. It does not apply the remote-path rules (the engine
 * also uses it for its own files under '.mosaic/'): check remote paths with `checkRelativePath`
 * first.
 */
export function joinInside(root: string, rel: string): string {
  if (!posix.isAbsolute(root) || posix.isAbsolute(rel) || rel.includes('\0')) {
    throw new PathOutsideRootError(root, rel);
  }
  const base = normalizedRoot(root);
  // A plain relative path (no empty, '.' or '..' segment) joins by concatenation: what the
  // general case below computes, without its three intermediate strings per call (a pull
  // joins every path it writes).
  if (rel !== '' && !NOT_PLAIN.test(rel)) return base.endsWith('/') ? base + rel : `${base}/${rel}`;
  const joined = posix.join(base, rel);
  const fromRoot = posix.relative(base, joined);
  if (
    fromRoot === '' ||
    fromRoot === '..' ||
    fromRoot.startsWith('../') ||
    posix.isAbsolute(fromRoot)
  ) {
    throw new PathOutsideRootError(root, rel);
  }
  return joined;
}

/** A relative path with an empty, '.' or '..' segment. */
const NOT_PLAIN = /(?:^|\/)\.{0,2}(?:\/|$)/;

let lastRoot = '';
let lastBase = '';

/** `posix.normalize(root)`, remembered for the last root asked (one folder's pull asks many). */
function normalizedRoot(root: string): string {
  if (root !== lastRoot) {
    lastBase = posix.normalize(root);
    lastRoot = root;
  }
  return lastBase;
}

/** The ancestors of a relative path, outermost first: 'a/b/c' -> ['a', 'a/b']. */
export function parentDirs(path: string): string[] {
  const segments = path.split('/');
  const parents: string[] = [];
  for (let i = 1; i < segments.length; i++) parents.push(segments.slice(0, i).join('/'));
  return parents;
}

function refuse(reason: string): PathCheck {
  return { ok: false, reason };
}
