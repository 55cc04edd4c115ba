import { randomBytes } from 'node:crypto';
import type { Principal } from '../accounts/principal.js';
import { hashPassword, verifyPassword } from '../accounts/password.js';
import type { AlbumCursor, AlbumRepository } from '../albums/album.repository.js';
import { BadRequestError, ForbiddenError, NotFoundError } from '../core/errors.js';
import { Limiter } from '../core/limiter.js';
import type { Op, SharePut, ShareRevoke } from '../oplog/op.js';
import type { Picture } from '../pictures/picture.repository.js';
import type { ShareListing, ShareRecord, ShareRepository } from './share.repository.js';

export interface ShareChanges {
  commit(body: SharePut | ShareRevoke): Promise<Op>;
}

/** 128 random bits, hex: the link's id is its only secret. */
export const SHARE_ID = /^[0-9a-f]{32}$/;

export interface ShareServiceDeps {
  readonly shares: ShareRepository;
  readonly albums: AlbumRepository;
  readonly changes: ShareChanges;
  /** A visible picture by id (throws NotFoundError otherwise). */
  readonly picture: (id: string) => Picture | Promise<Picture>;
  readonly now?: () => number;
}

export interface ShareRequest {
  readonly target: 'picture' | 'album';
  readonly targetId: string;
  readonly expiresAt: number | null;
  readonly password: string | null;
}

/** What a link opens: the shared thing's name and, when unlocked, nothing more to decide. */
export interface OpenShare {
  readonly share: ShareRecord;
  readonly title: string;
  readonly desc: string;
}

/**
 * Share links. The owner of a picture or album, or an admin, may share it; a link shows that
 * picture, or that album's pictures, to anyone who has its URL (and its password, if it has
 * one), read-only, until it expires or is revoked. A revocation is an operation, so the link
 * stops at every node. A missing, revoked and expired link all answer the same 404.
 */
export class ShareService {
  private readonly now: () => number;
  /** scrypt runs on libuv's pool: at most two link-password checks at once. */
  private readonly scryptSlots = new Limiter(2);

  constructor(private readonly deps: ShareServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  async create(principal: Principal, request: ShareRequest): Promise<ShareListing> {
    const { owner, title } = await this.targetOf(request.target, request.targetId);
    if (principal.role !== 'admin' && principal.username !== owner) {
      throw new ForbiddenError(
        `Only the owner of this ${request.target} or an admin may share it.`,
      );
    }
    if (request.expiresAt !== null && request.expiresAt <= this.now()) {
      throw new BadRequestError('The expiry is in the past.');
    }
    const id = randomBytes(16).toString('hex');
    const passwordHash = request.password === null ? null : await hashPassword(request.password);
    const createdAt = this.now();
    await this.deps.changes.commit({
      kind: 'share.put',
      id,
      target: request.target,
      targetId: request.targetId,
      owner: principal.username,
      createdAt,
      ...(request.expiresAt === null ? {} : { expiresAt: request.expiresAt }),
      ...(passwordHash === null ? {} : { passwordHash }),
    });
    return {
      id,
      target: request.target,
      targetId: request.targetId,
      owner: principal.username,
      createdAt,
      expiresAt: request.expiresAt,
      passwordHash,
      title,
    };
  }

  /**
   * The caller's links (an admin: everyone's), not revoked, expired ones included, with the
   * title of what each shows (null once that is gone).
   */
  async list(principal: Principal): Promise<ShareListing[]> {
    return this.deps.shares.list(principal.role === 'admin' ? null : principal.username);
  }

  async revoke(principal: Principal, id: string): Promise<void> {
    const share = await this.deps.shares.get(id);
    if (!share || (share.owner !== principal.username && principal.role !== 'admin')) {
      throw new NotFoundError('Share link');
    }
    await this.deps.changes.commit({ kind: 'share.revoke', id });
  }

  /** A valid link (not revoked, not expired, its target still there), else 404. */
  async open(id: string): Promise<OpenShare> {
    const share = SHARE_ID.test(id) ? await this.deps.shares.get(id) : null;
    if (!share || (share.expiresAt !== null && share.expiresAt <= this.now())) {
      throw new NotFoundError('Share link');
    }
    if (share.target === 'album') {
      const album = await this.deps.albums.summary(share.targetId);
      if (!album) throw new NotFoundError('Share link');
      return { share, title: album.name, desc: album.desc };
    }
    const picture = await this.visible(share.targetId);
    if (!picture) throw new NotFoundError('Share link');
    return { share, title: picture.title, desc: picture.desc };
  }

  async checkPassword(share: ShareRecord, password: string): Promise<boolean> {
    const hash = share.passwordHash;
    if (hash === null) return true;
    return this.scryptSlots.run(() => verifyPassword(password, hash));
  }

  /** The shared pictures, newest taken first (one for a picture link). */
  async pictures(
    share: ShareRecord,
    limit: number,
    cursor: AlbumCursor | null,
  ): Promise<{ items: Picture[]; next: AlbumCursor | null }> {
    if (share.target === 'picture') {
      const picture = cursor === null ? await this.visible(share.targetId) : null;
      return { items: picture ? [picture] : [], next: null };
    }
    return this.deps.albums.pictures(share.targetId, limit, cursor);
  }

  /** A picture the link shows, or 404: nothing else is reachable through a link. */
  async picture(share: ShareRecord, pictureId: string): Promise<Picture> {
    const shown =
      share.target === 'picture'
        ? pictureId === share.targetId
        : await this.deps.albums.contains(share.targetId, pictureId);
    const picture = shown ? await this.visible(pictureId) : null;
    if (!picture) throw new NotFoundError('Picture');
    return picture;
  }

  private async targetOf(
    target: 'picture' | 'album',
    id: string,
  ): Promise<{ owner: string; title: string }> {
    if (target === 'album') {
      const album = await this.deps.albums.summary(id);
      if (!album) throw new NotFoundError('Album');
      return { owner: album.owner, title: album.name };
    }
    const picture = await this.deps.picture(id);
    return { owner: picture.owner, title: picture.title };
  }

  private async visible(id: string): Promise<Picture | null> {
    try {
      return await this.deps.picture(id);
    } catch (error) {
      if (error instanceof NotFoundError) return null;
      throw error;
    }
  }
}
