/**
 * The live feed: what the web app hears over server-sent events (`GET /api/stream`) so that a
 * gallery shows new, edited and deleted pictures from any node without a reload, and an album
 * page its album's changes (name, cover, pictures added or taken out) without polling.
 *
 * It carries hints, never data: a client that hears "pictures changed" fetches what it shows
 * again through the ordinary API, which applies the usual permission and visibility rules.
 */
import type { Op } from '../oplog/op.js';

export interface LiveMessage {
  /** What changed: pictures (created, edited, deleted, restored, visible) or albums. */
  readonly type: 'pictures' | 'albums';
  /** The pictures or albums concerned (a client may refetch only those, or its whole page). */
  readonly ids: readonly string[];
}

export type LiveListener = (message: LiveMessage) => void;

export interface LiveFeedOptions {
  /**
   * The albums that hold any of these pictures now: a picture edited, deleted, restored or
   * made visible by its bytes changes what its albums' pages show, so they are announced too
   * (an album page then reloads for its own pictures only, not for every picture anywhere).
   */
  readonly albumsHolding?: (pictureIds: readonly string[]) => Promise<readonly string[]>;
  /** A lookup that failed (the pictures' message went out; their albums' did not). */
  readonly onError?: (err: unknown) => void;
}

/**
 * Operations that may take away someone's access: a password changed or reset, a role or
 * disable change, a revoked token. Open streams check their caller again when one arrives.
 */
const ACCESS_KINDS: ReadonlySet<Op['body']['kind']> = new Set([
  'user.put',
  'user.access',
  'token.revoke',
]);

export class LiveFeed {
  private readonly listeners = new Set<LiveListener>();
  private readonly accessListeners = new Set<() => void>();

  constructor(private readonly options: LiveFeedOptions = {}) {}

  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Told (before any message of the same batch) when operations arrived that may take away
   * someone's access (ACCESS_KINDS): a stream then checks its caller again. Not a message to
   * clients.
   */
  onAccessChange(listener: () => void): () => void {
    this.accessListeners.add(listener);
    return () => this.accessListeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  publish(message: LiveMessage): void {
    for (const listener of this.listeners) listener(message);
  }

  /**
   * Pictures changed: says so, then names the albums holding them (looked up only while
   * someone listens), less `known`, albums the caller announces itself. Resolves once both
   * went out (tests wait on it; callers need not).
   */
  async pictures(ids: readonly string[], known: readonly string[] = []): Promise<void> {
    if (ids.length === 0) return;
    this.publish({ type: 'pictures', ids });
    const { albumsHolding, onError } = this.options;
    if (albumsHolding === undefined || this.listeners.size === 0) return;
    try {
      const told = new Set(known);
      const albums = (await albumsHolding(ids)).filter((id) => !told.has(id));
      if (albums.length > 0) this.publish({ type: 'albums', ids: albums });
    } catch (err) {
      onError?.(err);
    }
  }

  /** Called with every batch of operations committed here or received from a peer. */
  /** Operations that may take access away were committed (here, or by another process). */
  accessChanged(): void {
    for (const listener of this.accessListeners) listener();
  }

  onOps(ops: readonly Op[]): void {
    if (touchesAccess(ops)) this.accessChanged();
    const albums = albumIds(ops);
    // The pictures' message goes out at once (before pictures() first waits), then the albums'.
    void this.pictures(pictureIds(ops), albums);
    if (albums.length > 0) this.publish({ type: 'albums', ids: albums });
  }
}

/** Whether a batch holds operations that may take someone's access away (ACCESS_KINDS). */
export function touchesAccess(ops: readonly Op[]): boolean {
  return ops.some((op) => ACCESS_KINDS.has(op.body.kind));
}

/** The distinct ids of the pictures that a batch of operations touches, in order. */
export function pictureIds(ops: readonly Op[]): string[] {
  const ids = new Set<string>();
  for (const { body } of ops) {
    // Other kinds (accounts, folder files, and whatever comes later) are not the gallery's.
    if (
      body.kind === 'picture.create' ||
      body.kind === 'picture.update' ||
      body.kind === 'picture.delete' ||
      body.kind === 'picture.restore'
    ) {
      ids.add(body.id);
    }
  }
  return [...ids];
}

/** The distinct ids of the albums that a batch of operations touches, in order. */
export function albumIds(ops: readonly Op[]): string[] {
  const ids = new Set<string>();
  for (const { body } of ops) {
    if (
      body.kind === 'album.create' ||
      body.kind === 'album.update' ||
      body.kind === 'album.delete' ||
      body.kind === 'album.add' ||
      body.kind === 'album.remove'
    ) {
      ids.add(body.id);
    }
  }
  return [...ids];
}
