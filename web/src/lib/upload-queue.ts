/**
 * The upload queue's rules, as pure functions over plain data: what a new item looks like,
 * what a server answer means for it, which items go next. The page keeps the list in React
 * state and does the requests; everything decided here is tested without a browser.
 */

export interface FileInfo {
  readonly name: string;
  readonly size: number;
  readonly type: string;
}

/**
 * `failed` may succeed if sent again (the network, a session that ended, a title fixed);
 * `refused` will not: the server said what is wrong with the file itself (not an image, too
 * large), so it is not retried with the others.
 */
export type UploadStatus = 'ready' | 'uploading' | 'created' | 'duplicate' | 'failed' | 'refused';

export interface UploadItem {
  readonly key: string;
  readonly file: FileInfo;
  readonly title: string;
  readonly category: string;
  readonly desc: string;
  readonly status: UploadStatus;
  /** 0..1 of the bytes sent. */
  readonly progress: number;
  readonly error: string | null;
  /** The picture this became (also for a duplicate: the existing picture). */
  readonly pictureId: string | null;
  /** A duplicate: the title the library already has it under (the one given here is unused). */
  readonly existingTitle?: string | null;
}

const MAX_TITLE = 200;

/** "IMG_2041 beach-day.final.jpg" -> "IMG 2041 beach day.final" (a title is required). */
export function titleFromFileName(name: string): string {
  const base = name.replace(/^.*[\\/]/, '');
  const dot = base.lastIndexOf('.');
  const stem = dot > 0 ? base.slice(0, dot) : base;
  const title = stem.replace(/[_-]+/g, ' ').replace(/\s+/g, ' ').trim();
  return (title || 'Untitled').slice(0, MAX_TITLE);
}

export function newItems(
  files: readonly FileInfo[],
  defaults: { category: string; desc: string },
  makeKey: () => string,
): UploadItem[] {
  return files.map((file) => ({
    key: makeKey(),
    file,
    title: titleFromFileName(file.name),
    category: defaults.category,
    desc: defaults.desc,
    status: 'ready',
    progress: 0,
    error: null,
    pictureId: null,
  }));
}

export function updateItem(
  items: readonly UploadItem[],
  key: string,
  patch: Partial<Omit<UploadItem, 'key' | 'file'>>,
): UploadItem[] {
  return items.map((item) => (item.key === key ? { ...item, ...patch } : item));
}

/** Sets a field on every item still waiting (the "for all" fields). */
export function applyToWaiting(
  items: readonly UploadItem[],
  patch: Partial<Pick<UploadItem, 'category' | 'desc'>>,
): UploadItem[] {
  return items.map((item) => (isWaiting(item) ? { ...item, ...patch } : item));
}

export const isWaiting = (item: UploadItem) => item.status === 'ready' || item.status === 'failed';
export const isDone = (item: UploadItem) =>
  item.status === 'created' || item.status === 'duplicate';

/** The items to start now, at most `concurrency` in flight (failed ones only when retried). */
export function nextToStart(items: readonly UploadItem[], concurrency: number): string[] {
  const inFlight = items.filter((i) => i.status === 'uploading').length;
  const free = Math.max(0, concurrency - inFlight);
  return items
    .filter((i) => i.status === 'ready')
    .slice(0, free)
    .map((i) => i.key);
}

/** Why an item cannot be sent as it is, or null. */
export function validate(item: UploadItem): string | null {
  if (!item.title.trim()) return 'A title is required.';
  if (item.title.trim().length > MAX_TITLE) return `A title has at most ${MAX_TITLE} characters.`;
  if (item.category.trim().length > 64) return 'A category has at most 64 characters.';
  return null;
}

export type Outcome =
  | { readonly status: 'created'; readonly pictureId: string | null }
  | {
      readonly status: 'duplicate';
      readonly pictureId: string | null;
      readonly existingTitle: string | null;
    }
  | { readonly status: 'failed' | 'refused'; readonly error: string };

/** What the server's answer to one upload means for its item. */
export function outcome(status: number, body: unknown): Outcome {
  const id = pictureIdOf(body);
  if (status === 201) return { status: 'created', pictureId: id };
  if (status === 200) return { status: 'duplicate', pictureId: id, existingTitle: titleOf(body) };
  const serverMessage = errorMessageOf(body);
  switch (status) {
    case 413: {
      // The server says its limit in the message ("... the limit of 1048576 bytes.").
      const limit = /(\d+) bytes/.exec(serverMessage ?? '')?.[1];
      return {
        status: 'refused',
        error:
          limit === undefined
            ? 'Too large: this node does not accept files this big.'
            : `Too large: this node accepts files up to ${formatSize(Number(limit))}.`,
      };
    }
    case 415:
      return {
        status: 'refused',
        error: 'Not an image: only JPEG, PNG, WebP, GIF, AVIF and HEIC.',
      };
    case 401:
      return { status: 'failed', error: 'Your session ended: sign in again, then retry.' };
    case 0:
      return { status: 'failed', error: 'The server could not be reached.' };
    default:
      return { status: 'failed', error: serverMessage ?? `Upload failed (${status}).` };
  }
}

function titleOf(body: unknown): string | null {
  if (typeof body === 'object' && body !== null && 'title' in body) {
    const title = body.title;
    if (typeof title === 'string') return title;
  }
  return null;
}

function pictureIdOf(body: unknown): string | null {
  if (typeof body === 'object' && body !== null && 'id' in body) {
    const id = body.id;
    if (typeof id === 'string') return id;
  }
  return null;
}

function errorMessageOf(body: unknown): string | null {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const error = body.error;
    if (typeof error === 'object' && error !== null && 'message' in error) {
      const message = error.message;
      if (typeof message === 'string') return message;
    }
  }
  return null;
}

export interface QueueSummary {
  readonly total: number;
  readonly created: number;
  readonly duplicate: number;
  readonly failed: number;
  readonly active: number;
  /** 0..1 over all items, by bytes. */
  readonly progress: number;
}

export function summarize(items: readonly UploadItem[]): QueueSummary {
  const bytes = items.reduce((sum, i) => sum + i.file.size, 0);
  const sent = items.reduce(
    (sum, i) => sum + i.file.size * (isDone(i) ? 1 : i.status === 'uploading' ? i.progress : 0),
    0,
  );
  return {
    total: items.length,
    created: items.filter((i) => i.status === 'created').length,
    duplicate: items.filter((i) => i.status === 'duplicate').length,
    failed: items.filter((i) => i.status === 'failed' || i.status === 'refused').length,
    active: items.filter((i) => i.status === 'uploading').length,
    progress: bytes === 0 ? 0 : sent / bytes,
  };
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 ? Math.round(value) : value.toFixed(1)} ${units[unit] ?? 'TB'}`;
}
