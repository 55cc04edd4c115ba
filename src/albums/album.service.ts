import { randomBytes } from 'node:crypto';
import type { Principal } from '../accounts/principal.js';
import { BadRequestError, ForbiddenError, NotFoundError } from '../core/errors.js';
import type { Op } from '../oplog/op.js';
import type { Picture } from '../pictures/picture.repository.js';
import type { AlbumBody } from './album-apply.js';
import type { AlbumCursor, AlbumPage, AlbumRepository, AlbumSummary } from './album.repository.js';

/** The change log's door, as this service uses it. */
export interface AlbumChanges {
  commit(body: AlbumBody): Promise<Op>;
}

/** A visible picture by id (throws NotFoundError otherwise). */
export type PictureLookup = (id: string) => Picture | Promise<Picture>;

export interface AlbumServiceDeps {
  readonly albums: AlbumRepository;
  readonly changes: AlbumChanges;
  readonly picture: PictureLookup;
  readonly now?: () => number;
}

export interface AlbumFields {
  readonly name: string;
  readonly desc: string;
}

export interface AlbumPatch {
  readonly name?: string | undefined;
  readonly desc?: string | undefined;
  /** A picture of the album, or '' for none (its newest picture is shown). */
  readonly cover?: string | undefined;
}

/** Most pictures one add or remove may name (one operation). */
export const MAX_PICTURES_PER_CHANGE = 500;

/**
 * Albums: anyone signed in sees every album (as every picture) and may create one; only its
 * owner or an admin may rename it, change its pictures or delete it (`mayEditAlbum`, the same
 * rule the web app uses to hide those actions).
 */
export class AlbumService {
  private readonly now: () => number;

  constructor(private readonly deps: AlbumServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  async list(): Promise<AlbumSummary[]> {
    return this.deps.albums.list();
  }

  async get(id: string): Promise<AlbumSummary> {
    const album = await this.deps.albums.summary(id);
    if (!album) throw new NotFoundError('Album');
    return album;
  }

  async create(principal: Principal, fields: AlbumFields): Promise<AlbumSummary> {
    const id = randomBytes(16).toString('hex');
    await this.deps.changes.commit({
      kind: 'album.create',
      id,
      owner: principal.username,
      createdAt: this.now(),
      name: fields.name,
      desc: fields.desc,
    });
    return this.get(id);
  }

  async update(principal: Principal, id: string, patch: AlbumPatch): Promise<AlbumSummary> {
    const album = await this.editable(principal, id);
    if (patch.cover !== undefined && patch.cover !== '') {
      await this.deps.picture(patch.cover);
      if (!(await this.deps.albums.contains(id, patch.cover))) {
        throw new BadRequestError('The cover must be a picture of the album.');
      }
    }
    const change = {
      ...(patch.name === undefined ? {} : { name: patch.name }),
      ...(patch.desc === undefined ? {} : { desc: patch.desc }),
      ...(patch.cover === undefined ? {} : { cover: patch.cover }),
    };
    if (Object.keys(change).length === 0) return album;
    await this.deps.changes.commit({ kind: 'album.update', id, ...change });
    return this.get(id);
  }

  async delete(principal: Principal, id: string): Promise<void> {
    await this.editable(principal, id);
    await this.deps.changes.commit({ kind: 'album.delete', id });
  }

  /** Puts visible pictures into the album (one operation). */
  async add(principal: Principal, id: string, pictureIds: readonly string[]): Promise<void> {
    await this.editable(principal, id);
    const ids = [...new Set(pictureIds)];
    if (ids.length === 0) return;
    if (ids.length > MAX_PICTURES_PER_CHANGE) {
      throw new BadRequestError(`At most ${MAX_PICTURES_PER_CHANGE} pictures at once.`);
    }
    for (const pictureId of ids) await this.deps.picture(pictureId);
    await this.deps.changes.commit({ kind: 'album.add', id, pictures: ids });
  }

  /** Takes pictures out of the album (visible or not: a deleted one may come back). */
  async remove(principal: Principal, id: string, pictureIds: readonly string[]): Promise<void> {
    await this.editable(principal, id);
    const ids = [...new Set(pictureIds)];
    if (ids.length === 0) return;
    if (ids.length > MAX_PICTURES_PER_CHANGE) {
      throw new BadRequestError(`At most ${MAX_PICTURES_PER_CHANGE} pictures at once.`);
    }
    await this.deps.changes.commit({ kind: 'album.remove', id, pictures: ids });
  }

  /** The album's visible pictures, newest first. */
  async pictures(id: string, limit: number, cursor: AlbumCursor | null): Promise<AlbumPage> {
    await this.get(id);
    return this.deps.albums.pictures(id, limit, cursor);
  }

  private async editable(principal: Principal, id: string): Promise<AlbumSummary> {
    const album = await this.get(id);
    if (!mayEditAlbum(principal, album)) {
      throw new ForbiddenError('Only the owner of an album or an admin may change it.');
    }
    return album;
  }
}

/** The owner of an album or an admin may change it. */
export function mayEditAlbum(principal: Principal, album: { readonly owner: string }): boolean {
  return principal.role === 'admin' || principal.username === album.owner;
}
