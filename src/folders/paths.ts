/**
 * Folder paths as the index stores them: relative, '/'-separated, NFC. Their order is SQLite's
 * for TEXT (binary: the bytes of the UTF-8), which is code point order — not JavaScript's `<`,
 * which compares UTF-16 code units and so puts U+E000…U+FFFF after the astral planes.
 */

/** Compares two strings as SQLite orders TEXT: by code point (= by UTF-8 bytes). */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/**
 * Where a UTF-16 code unit that starts a difference falls in code point order. Surrogates
 * (U+D800–U+DFFF) only ever encode code points above U+FFFF, so they rank after U+E000–U+FFFF.
 */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  if (unit >= 0xe000) return unit - 0x800;
  return unit + 0x2000;
}

/** The path of `name` inside the directory `dir` ('' for the folder root). */
export function childPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}
