/**
 * The upload queue's rules, as pure functions over plain data: what a new item looks like,
 * what a server answer means for it, which items go next. The page keeps the list in React
 * state and does the requests; everything decided here is tested without a browser.
 */

export interface FileInfo {
  readonly name: string;
  readonly size: number;
  readonly type: string;
  /** As a File has it: with the name and size, what tells a file picked again. */
  readonly lastModified?: number;
}

/**
 * `failed` may succeed if sent again (the network, a session that ended, a title fixed);
 * `refused` will not: the server said what is wrong with the file itself (not an image, too
 * large, damaged), so it is not retried with the others. `offline` was cut off by the network
 * while the browser is offline: it resumes by itself when the connection is back. `cancelled`
 * was stopped by its person: not sent again, only removed.
 */
export type UploadStatus =
  'ready' | 'uploading' | 'offline' | 'created' | 'duplicate' | 'failed' | 'refused' | 'cancelled';

export interface UploadItem {
  readonly key: string;
  readonly file: FileInfo;
  readonly title: string;
  readonly category: string;
  readonly desc: string;
  readonly status: UploadStatus;
  /** 0..1 of the bytes sent. */
  readonly progress: number;
  /** While uploading: when the progress last moved (or the upload started), in ms. */
  readonly movedAt?: number | null;
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

/** A file and one picked again: same name, size and modification time. */
function sameFile(a: FileInfo, b: FileInfo): boolean {
  return a.name === b.name && a.size === b.size && a.lastModified === b.lastModified;
}

/**
 * The files of a pick that are not in the queue already (waiting, sending, or to retry), each
 * once: a photo picked again on a phone was queued twice, and its second row came back
 * "Already in the library".
 */
export function notQueued<F extends FileInfo>(
  files: readonly F[],
  items: readonly UploadItem[],
): F[] {
  const queued = items.filter((item) => isWaiting(item) || isPending(item));
  const kept: F[] = [];
  for (const file of files) {
    if (queued.some((item) => sameFile(item.file, file))) continue;
    if (kept.some((other) => sameFile(other, file))) continue;
    kept.push(file);
  }
  return kept;
}

/**
 * How long an upload may send nothing before its row says the server is not answering (a
 * frozen or unreachable node: tus-js-client waits, then retries for about a minute).
 */
export const STALL_MS = 15_000;

/** Whether an upload in flight has not moved for STALL_MS. */
export function isStalled(item: UploadItem, now: number): boolean {
  return (
    item.status === 'uploading' &&
    item.movedAt !== undefined &&
    item.movedAt !== null &&
    now - item.movedAt > STALL_MS
  );
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
/** Sent or being sent, or waiting to go on by itself: what leaving the app would cut off. */
export const isPending = (item: UploadItem) =>
  item.status === 'ready' || item.status === 'uploading' || item.status === 'offline';

/** The connection is back: the items it cut off go again (tus resumes at their offset). */
export function resumeOffline(items: readonly UploadItem[]): UploadItem[] {
  return items.map((item) =>
    item.status === 'offline' ? { ...item, status: 'ready', error: null } : item,
  );
}

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
      // The server's sentence tells a file of another type from a damaged picture.
      return {
        status: 'refused',
        error: serverMessage ?? 'Not an image: only JPEG, PNG, WebP, GIF, AVIF and HEIC.',
      };
    case 422:
      // An image the server will not take as it is (too many pixels, cannot be decoded):
      // sending it again gives the same answer.
      return {
        status: 'refused',
        error: serverMessage ?? 'This file is damaged or is not a picture Mosaic can read.',
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
  /** Sent and refused by the server: these files cannot be used as they are. */
  readonly refused: number;
  /** Failed (may go if retried). */
  readonly failed: number;
  readonly cancelled: number;
  /** Uploading now, or cut off by the network and waiting for it. */
  readonly active: number;
  readonly offline: number;
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
    refused: items.filter((i) => i.status === 'refused').length,
    failed: items.filter((i) => i.status === 'failed').length,
    cancelled: items.filter((i) => i.status === 'cancelled').length,
    active: items.filter((i) => i.status === 'uploading').length,
    offline: items.filter((i) => i.status === 'offline').length,
    progress: bytes === 0 ? 0 : sent / bytes,
  };
}

/** The summary line, in the rows' words: "35 uploaded, 2 could not be used · 37 in all". */
export function summaryText(s: QueueSummary): string {
  const parts = [`${s.created} uploaded`];
  if (s.duplicate > 0) parts.push(`${s.duplicate} already there`);
  if (s.refused > 0) parts.push(`${s.refused} could not be used`);
  if (s.failed > 0) parts.push(`${s.failed} failed`);
  if (s.cancelled > 0) parts.push(`${s.cancelled} cancelled`);
  if (s.offline > 0) parts.push(`${s.offline} waiting for the connection`);
  return `${parts.join(', ')} · ${s.total} in all`;
}

/**
 * The upload button's words: what pressing it does, or, when nothing is left to send, how it
 * ended ("All sent" only when every file became a picture).
 */
export function uploadButtonLabel(items: readonly UploadItem[], running: boolean): string {
  if (running) return 'Uploading…';
  const waiting = items.filter(isWaiting).length;
  if (waiting === 0) {
    const s = summarize(items);
    if (s.offline > 0) return 'Waiting for the connection…';
    const unused = s.refused + s.cancelled;
    return unused === 0 ? 'All sent' : `Done: ${unused} not uploaded`;
  }
  const onlyFailed = !items.some((i) => i.status === 'ready');
  if (onlyFailed) return `Retry ${waiting} failed`;
  return `Upload ${waiting} ${waiting === 1 ? 'picture' : 'pictures'}`;
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
