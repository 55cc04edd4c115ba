import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Principal } from '../accounts/principal.js';
import type { BlobStore } from '../blobs/blob-store.js';
import { ForbiddenError, NotFoundError } from '../core/errors.js';
import { Limiter } from '../core/limiter.js';
import type { Op, PicturePurge, PictureRestore } from '../oplog/op.js';
import type { Thumbnails } from './images.js';
import type { TrashCursor, TrashItem, TrashRepository } from './trash.repository.js';

export interface TrashChanges {
  commit(body: PictureRestore | PicturePurge): Promise<Op>;
  commitMany(bodies: readonly PicturePurge[]): Promise<Op[]>;
}

/** Trashed pictures' bytes removed at once at most (`onOps`). */
const PURGES_AT_ONCE = 8;

/** Pictures purged per transaction when the trash is emptied. */
export const EMPTY_BATCH = 200;

/** A page of the trash, with what the whole trash holds and how much of it the viewer may empty. */
export interface TrashView {
  readonly items: TrashItem[];
  readonly next: TrashCursor | null;
  readonly total: number;
  readonly yours: number;
}

export interface TrashServiceDeps {
  readonly trash: TrashRepository;
  readonly changes: TrashChanges;
  readonly blobs: Pick<BlobStore, 'purgeTrashed'>;
  /** Thumbnails: a trashed picture keeps its small one until it leaves the trash. */
  readonly thumbs: Pick<Thumbnails, 'read' | 'remove'>;
  /** How long deleted bytes are kept (trashRetentionDays). */
  readonly retentionMs: number;
  /** Puts a picture's bytes where its state says (PictureService.settleBytes). */
  readonly settleBytes: (id: string) => Promise<void>;
  readonly log: Logger;
  readonly now?: () => number;
}

/**
 * The trash page: deleted pictures within the retention, every account's (the library is
 * shared); restoring one or emptying it is for its owner or an admin, as deleting was. Both
 * are operations, so they happen at every node: a restore ordered after the delete makes the
 * picture alive again (its bytes come back from the trash or a peer), a purge removes the
 * trashed bytes now at every node.
 */
export class TrashService {
  private readonly now: () => number;
  /**
   * Trashed bytes removed at once at most: an emptied trash of thousands (here or at a peer)
   * is that many unlinks, or DELETEs on an object store, not all started together.
   */
  private readonly purges = new Limiter(PURGES_AT_ONCE);

  constructor(private readonly deps: TrashServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** A page of the trash (everyone's: the library is shared), most recently deleted first. */
  async list(
    principal: Principal,
    options: { readonly limit: number; readonly after?: TrashCursor | undefined },
  ): Promise<TrashView> {
    const since = this.since();
    const page = await this.deps.trash.list(since, options);
    const total = await this.deps.trash.count(since);
    const yours =
      principal.role === 'admin' ? total : await this.deps.trash.count(since, principal.username);
    return { ...page, total, yours };
  }

  async restore(principal: Principal, id: string): Promise<void> {
    await this.changeable(principal, id);
    await this.deps.changes.commit({ kind: 'picture.restore', id });
    await this.deps.settleBytes(id);
  }

  /** Empties one picture out of the trash at every node. */
  async purge(principal: Principal, id: string): Promise<void> {
    await this.changeable(principal, id);
    await this.deps.changes.commit({ kind: 'picture.purge', id });
  }

  /** Empties everything in the trash the caller may change; returns how many. */
  async empty(principal: Principal): Promise<number> {
    const since = this.since();
    const owner = principal.role === 'admin' ? null : principal.username;
    let count = 0;
    let after: TrashCursor | undefined;
    for (;;) {
      const page = await this.deps.trash.list(since, { limit: EMPTY_BATCH, after, owner });
      await this.deps.changes.commitMany(
        page.items.map((item) => ({ kind: 'picture.purge', id: item.id })),
      );
      count += page.items.length;
      if (page.next === null) return count;
      after = page.next;
    }
  }

  /**
   * After any picture.purge, local or replicated: the trashed bytes go now, unless the picture
   * came back meanwhile (then they are not in the trash, and purgeTrashed finds nothing).
   */
  onOps(ops: readonly Op[]): void {
    for (const op of ops) {
      if (op.body.kind !== 'picture.purge') continue;
      const { id } = op.body;
      this.purges
        .run(() => this.deps.blobs.purgeTrashed(id))
        .then(
          async (removed) => {
            if (!removed) return;
            await this.deps.thumbs.remove(id);
            this.deps.log.info({ picture: id }, 'trashed bytes purged');
          },
          (err: unknown) => {
            this.deps.log.warn({ err, picture: id }, 'could not purge trashed bytes');
          },
        );
    }
  }

  /** The small thumbnail of a picture in the trash, when this node still has it. */
  async thumbnail(id: string): Promise<Readable> {
    if (!(await this.deps.trash.get(id, this.since())))
      throw new NotFoundError('Picture in the trash');
    const thumb = await this.deps.thumbs.read(id, 'small');
    if (!thumb) throw new NotFoundError('Thumbnail');
    return thumb;
  }

  private since(): number {
    return this.now() - this.deps.retentionMs;
  }

  private async changeable(principal: Principal, id: string): Promise<TrashItem> {
    const item = await this.deps.trash.get(id, this.since());
    if (!item) throw new NotFoundError('Picture in the trash');
    if (!mayChange(principal, item)) {
      throw new ForbiddenError('Only the owner of a picture or an admin may restore or purge it.');
    }
    return item;
  }
}

function mayChange(principal: Principal, item: TrashItem): boolean {
  return principal.role === 'admin' || principal.username === item.owner;
}
