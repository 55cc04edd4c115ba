/**
 * The names of the files in a zip of pictures: each picture's title, made safe as a file name
 * on Windows, macOS and Linux, with the extension of its type, and made unique (`Beach.jpg`,
 * `Beach (2).jpg`) since titles repeat. Pure.
 */

const EXTENSIONS: Readonly<Record<string, string>> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/avif': 'avif',
  'image/heic': 'heic',
};

/** Longest base name kept (characters): under every file system's 255-byte limit for most scripts. */
const MAX_BASE = 100;

/** Names Windows reserves, whatever the extension. */
const RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)$/i;

export function safeBaseName(title: string, fallback: string): string {
  const cleaned = title
    // Path separators, characters Windows forbids, and control characters.
    // eslint-disable-next-line no-control-regex
    .replace(/[/\\:*?"<>|\u0000-\u001f\u007f]/g, '_')
    .replace(/\s+/g, ' ')
    .trim()
    // No leading dots (hidden files, "..") and no trailing dots or spaces (Windows drops them).
    .replace(/^\.+/, '')
    .replace(/[. ]+$/, '');
  // Cut between characters as a person sees them (an emoji with modifiers stays whole).
  const characters = Array.from(new Intl.Segmenter().segment(cleaned), (s) => s.segment);
  const base = characters.slice(0, MAX_BASE).join('').trim();
  if (base === '' || RESERVED.test(base)) return fallback;
  return base;
}

export function zipEntryNames(
  pictures: readonly { id: string; title: string; contentType: string }[],
): string[] {
  const taken = new Set<string>();
  return pictures.map((p) => {
    const ext = EXTENSIONS[p.contentType] ?? 'bin';
    const base = safeBaseName(p.title, p.id.slice(0, 12));
    let name = `${base}.${ext}`;
    for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${base} (${n}).${ext}`;
    taken.add(name.toLowerCase());
    return name;
  });
}
